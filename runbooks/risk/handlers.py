"""Commands whose risk depends on their arguments: files, processes, shells, networking, and the registry
`HANDLERS` that also gathers the handlers of kube, http, sql, cloud and verb-style tools."""

from __future__ import annotations

import re

from runbooks.risk import nested
from runbooks.risk.automation import HANDLERS as AUTOMATION_HANDLERS
from runbooks.risk.base import (
    SUBST, G, Handler, R, RiskAssessment, Y, assess, first_pos, flag_values, flags, matches, pick, pos, redirect, via,
    worst_of,
)
from runbooks.risk.cloud import HANDLERS as CLOUD_HANDLERS
from runbooks.risk.commands import INTERPRETERS, SHELLS, SYSTEM_DIRS
from runbooks.risk.http import HANDLERS as HTTP_HANDLERS
from runbooks.risk.kube import HANDLERS as KUBE_HANDLERS
from runbooks.risk.python import safe_python
from runbooks.risk.sql import HANDLERS as SQL_HANDLERS
from runbooks.risk.tools import SYSTEMCTL
from runbooks.risk.verbs import HANDLERS as VERB_HANDLERS

OPENSSL_READS = {"s_client", "x509", "verify", "version", "ciphers", "crl", "req", "rsa", "ec", "pkey", "asn1parse",
                 "dgst", "list", "rand", "crl2pkcs7", "pkcs7", "pkcs12", "sess_id", "ocsp", "storeutl", "errstr",
                 "prime", "base64", "sha256", "sha1", "md5", "sha512", "passwd", "speed", "s_time", "enc"}


def _kill(w: list[str], piped: bool) -> RiskAssessment:
    """kill/pkill/killall: SIGKILL gives no chance to shut down cleanly; other signals are reversible."""
    sigs = {w[i + 1] for i, a in enumerate(w[:-1]) if a in ("-s", "--signal")}
    sigs |= {a.split("=", 1)[1] for a in w if a.startswith("--signal=")}
    sigs |= {a[1:] for a in w[1:] if re.fullmatch(r"-\w+", a)}
    sigs = {s.upper().removeprefix("SIG") for s in sigs}
    targets = [a for a in w[1:] if not a.startswith("-") and a.upper().removeprefix("SIG") not in sigs]
    if sigs & {"9", "KILL"} and w[0] == "kill" and len(targets) == 1 and targets[0].isdigit() and int(targets[0]) > 1:
        return assess(w, Y, "sends SIGKILL to one process (a stuck process; its supervisor starts it again)")
    if sigs & {"9", "KILL"}:
        return assess(w, R, "sends SIGKILL (no clean shutdown; in-flight work is lost)")
    return pick(w, sigs & {"0", "L"}, (G, "only checks processes or lists signals (read-only)"),
                (Y, "signals processes to stop or reload (reversible by restarting)"))


def _find(w: list[str], piped: bool) -> RiskAssessment:
    """find only lists, unless it deletes or runs a command (`-exec CMD ;` is classified as CMD)."""
    if "-delete" in w:
        return assess(w, R, "deletes every matching file (`-delete`)")
    parts = [assess(w, G, "only lists files (read-only)")]
    for i, a in enumerate(w):
        if a in ("-exec", "-execdir", "-ok", "-okdir"):
            end = next((j for j in range(i + 1, len(w)) if w[j] in (";", "+")), len(w))
            if end > i + 1:
                parts.append(via(nested.command(w[i + 1 : end], False), f"`find {a}`"))
        elif a in ("-fprint", "-fprint0", "-fprintf", "-fls"):
            parts.append(assess(w, Y, f"writes a file (`{a}`)"))
    return worst_of(parts, parts[0])


def _tee(w: list[str], piped: bool) -> RiskAssessment:
    op = ">>" if matches(w[1:], ("-a", "--append")) else ">"
    parts = [r for f in pos(w[1:]) if (r := redirect(op, f, f"`tee {f}`"))]
    return worst_of(parts, assess(w, G, "only copies its input to stdout"))


def _perm(w: list[str], piped: bool) -> RiskAssessment:
    """chmod/chown/chgrp are reversible, unless applied recursively to a system tree such as `/`."""
    recursive = matches(w[1:], ("-R", "--recursive"))
    tree = any((t.rstrip("/") or "/") in SYSTEM_DIRS for t in pos(w[1:])[1:])
    return pick(w, recursive and tree, (R, "recursively changes a system tree (wide blast radius)"),
                (Y, "changes permissions or ownership (reversible state change)"))


def _compress(w: list[str], piped: bool) -> RiskAssessment:
    """gzip -d/-c, xz -dc...: to stdout (or from a pipe) only transforms a stream; on files it replaces them."""
    to_stdout = matches(w[1:], ("-c", "--stdout", "--to-stdout", "-l", "--list", "-t", "--test"))
    return pick(w, to_stdout or not pos(w[1:]), (G, "only (de)compresses a stream (read-only)"),
                (Y, "replaces files with their (de)compressed form"))


def _dd(w: list[str], piped: bool) -> RiskAssessment:
    """dd writes where `of=` says: a device is destroyed, a file is written, no `of=` only reads to stdout."""
    out = next((a.split("=", 1)[1] for a in w[1:] if a.startswith("of=")), None)
    if out is None:
        return assess(w, G, "only copies its input to stdout (read-only)")
    return redirect(">", out, f"`dd of={out}`") or assess(w, G, "discards its output (read-only)")


def _interp(w: list[str], piped: bool) -> RiskAssessment:
    """`bash -c '...'` is classified as a script; code piped into a shell or interpreter is red."""
    name, args = w[0], w[1:]
    for i, a in enumerate(args):
        if name in SHELLS and re.fullmatch(r"-[a-zA-Z]*c[a-zA-Z]*", a) and i + 1 < len(args):
            if args[i + 1].strip() == SUBST:
                return assess(w, R, "runs generated or downloaded code")
            return via(nested.run_shell(args[i + 1]), f"`{name} -c`")
        if name not in SHELLS and a in ("-c", "-e", "-E", "-r"):
            if name.startswith("python") and a == "-c" and i + 1 < len(args) and safe_python(args[i + 1]):
                return assess(w, G, "runs inline Python that only reads input and prints (checked)")
            return assess(w, Y, f"runs inline {name} code (not inspected)")
    if "json.tool" in args or "yaml.tool" in args:
        return assess(w, G, "only pretty-prints JSON (read-only)")
    script = next((a for a in args if not a.startswith("-")), None) if name != "su" else None
    if script == SUBST:
        return assess(w, R, "runs generated or downloaded code")
    if script:
        return assess(w, Y, f"runs the script `{script}` (not inspected)")
    return pick(w, piped, (R, "runs code piped into it (unknown, possibly downloaded code)"),
                (Y, "starts an interactive session (not inspected)"))


def _ssh(w: list[str], piped: bool) -> RiskAssessment:
    args = w[1:]
    i = first_pos(args, flags("-b -c -D -E -e -F -I -i -J -L -l -m -O -o -p -Q -R -S -W -w -B"))
    if i + 1 >= len(args):
        return assess(w, Y, "opens an interactive remote session")
    return via(nested.run_shell(" ".join(args[i + 1 :])), f"`ssh {args[i]}`")


def _ip(w: list[str], piped: bool) -> RiskAssessment:
    words = set(pos(w[1:]))
    if "flush" in words:
        return assess(w, R, "flushes addresses or routes (can cut the host off the network)")
    return pick(w, words & {"add", "del", "delete", "set", "change", "replace", "append", "up", "down", "exec"},
                (Y, "changes network configuration (reversible state change)"), (G, "shows network state (read-only)"))


def _iptables(w: list[str], piped: bool) -> RiskAssessment:
    long = {"--flush": "F", "--delete-chain": "X", "--delete": "D", "--policy": "P", "--list": "L", "--list-rules": "S"}
    ops = {long.get(a, "") for a in w[1:]} | {c for a in w[1:] if re.fullmatch(r"-[a-zA-Z]+", a) for c in a[1:]}
    if ops & {"D"} and not ops & set("FXP") and re.fullmatch(r"\d+", w[-1]):
        return assess(w, Y, "deletes one firewall rule by its number (reversible: insert it again)")
    if ops & set("FXDP"):
        return assess(w, R, "flushes or deletes firewall rules or changes policy (can cut off traffic)")
    return pick(w, ops & set("LSC") and not ops & set("AIRNZE"), (G, "lists or checks firewall rules (read-only)"),
                (Y, "changes firewall rules (reversible state change)"))


def _openssl(w: list[str], piped: bool) -> RiskAssessment:
    writes = matches(w[2:], ("-out", "-new", "-keyout", "-genkey", "-x509toreq", "-signkey"))
    return pick(w, w[1:2] and w[1] in OPENSSL_READS and not writes,
                (G, "inspects certificates or keys (read-only)"), (Y, "writes keys or certificates"))


def _vtysh(w: list[str], piped: bool) -> RiskAssessment:
    """vtysh -c '...' (FRRouting): `show` reads; clearing every session or removing a neighbour cuts traffic
    (security.py says so); configuration changes routing. No -c opens the shell."""
    cmds = flag_values(w[1:], ("-c", "--command"))
    if not cmds:
        return assess(w, Y, "opens the routing shell (not inspected)")
    reads = all(re.match(r"\s*(?:do\s+)?(?:show|sh|ping|traceroute)\b", c) for c in cmds)
    return pick(w, reads, (G, "shows routing state (read-only)"), (Y, "changes routing (can move traffic)"))


def _orchestrator(w: list[str], piped: bool) -> RiskAssessment:
    """orchestrator-client -c COMMAND: topology and discovery read; `forget` drops an instance; others move replicas."""
    cmd = next(iter(flag_values(w[1:], ("-c",))), "")
    if re.fullmatch(r"topology\w*|clusters\w*|which-\S+|instance|all-instances|replication-analysis|api|help|"
                    r"search|find|discover|submit-pool-instances|tags", cmd):
        return assess(w, G, f"asks orchestrator `{cmd}` (read-only)")
    return assess(w, R if cmd in ("forget", "forget-cluster", "reset-replica") or cmd.startswith("force-") else Y,
                  f"runs orchestrator `{cmd or '(nothing)'}` (moves or changes replication)")


HANDLERS: dict[str, Handler] = {
    "vtysh": _vtysh, "orchestrator-client": _orchestrator,
    "find": _find, "tee": _tee, "ip": _ip, "ssh": _ssh, "iptables": _iptables, "kill": _kill, "chmod": _perm,
    "openssl": _openssl, "dd": _dd, **{name: _interp for name in SHELLS | INTERPRETERS},
    **{name: _compress for name in ("gzip", "gunzip", "bzip2", "bunzip2", "xz", "unxz", "zstd")},
    "hostname": lambda w, p: pick(w, pos(w[1:]), (Y, "sets the hostname"), (G, "prints the hostname (read-only)")),
    "ifconfig": lambda w, p: pick(w, len(pos(w[1:])) > 1, (Y, "reconfigures an interface"),
                                  (G, "shows interfaces (read-only)")),
    "mount": lambda w, p: pick(w, set(w[1:]) - {"-l"}, (Y, "mounts a filesystem (reversible)"),
                               (G, "lists mounts (read-only)")),
    "sysctl": lambda w, p: pick(w, matches(w[1:], ("-w", "--write", "-p", "--load", "--system")) or any(
        "=" in a for a in pos(w[1:])), (Y, "changes kernel parameters (reversible)"), (G, "reads kernel parameters")),
    "init": lambda w, p: pick(w, w[1:2] in (["0"], ["6"]), (R, "halts or reboots the host"), (Y, "changes runlevel")),
    "date": lambda w, p: pick(w, "-s" in w or any(a.startswith("--set") for a in w), (Y, "sets the system clock"),
                              (G, "prints the date (read-only)")),
    "tar": lambda w, p: pick(w, "--list" in w or len(w) > 1 and "t" in w[1] and not set("xcru") & set(w[1]),
                             (G, "lists an archive (read-only)"), (Y, "creates or extracts an archive")),
    "sed": lambda w, p: pick(w, any(re.fullmatch(r"-[a-zA-Z]*i.*|--in-place(=.*)?", a) for a in w[1:]),
                             (Y, "edits files in place (`-i`)"), (G, "only transforms text (read-only)")),
    "awk": lambda w, p: pick(w, any(re.search(r"system\s*\(|[|>]\s*\"|\binplace\b|\|\s*getline", a) for a in w[1:]),
                             (Y, "runs commands or writes files from awk"), (G, "only transforms text (read-only)")),
    "source": lambda w, p: assess(w, R if SUBST in w else Y, "runs a script in the current shell (not inspected)"),
    "eval": lambda w, p: assess(w, R, "runs code generated at run time (not inspected)") if SUBST in " ".join(
        w[1:]) else via(nested.run_shell(" ".join(w[1:])), "`eval`"),
    "service": lambda w, p: assess(w, *SYSTEMCTL.get("status" if "--status-all" in w else (pos(w[1:])[1:2] or [""])[0],
                                                     (Y, "runs a service action not known to be read-only"))),
    **CLOUD_HANDLERS, **HTTP_HANDLERS, **KUBE_HANDLERS, **SQL_HANDLERS, **VERB_HANDLERS, **AUTOMATION_HANDLERS,
}
