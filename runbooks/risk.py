"""Deterministic risk classification of step commands, so the engine knows what may run unattended.

A command is split into simple commands (lists, pipelines, `$(...)`, wrappers such as sudo, ssh or
`kubectl exec`); each is looked up in the data tables below and the worst part decides. Anything not
known to be read-only is at least yellow: a gap in the tables costs an approval, never a silent red.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable
from itertools import pairwise

from pydantic import BaseModel

from runbooks.model import Risk

G, Y, R = Risk.green, Risk.yellow, Risk.red
Rule = tuple[Risk, str]  # a verdict and what the command does, e.g. (Y, "restarts a service (...)")
Handler = Callable[[list[str], bool], "RiskAssessment"]  # (words, piped into) -> assessment


class RiskAssessment(BaseModel):
    """A risk class plus a human-readable reason naming the part of the command that decided it."""

    risk: Risk
    reason: str


def _group(risk: Risk, what: str, names: str) -> dict[str, Rule]:
    """Table rows for comma-separated names sharing one verdict (a key may be two words: `rollout undo`)."""
    return {n.strip(): (risk, what) for n in names.split(",") if n.strip()}


def _flags(names: str) -> frozenset[str]:
    return frozenset(names.split())


# --- data tables -------------------------------------------------------------------------------------
FILES = "changes files (reversible state change)"
SIMPLE: dict[str, Rule] = {
    **_group(G, "only reads (read-only)", "ls, ll, cat, head, tail, less, more, grep, egrep, fgrep, zgrep, zcat,"
             "bzcat, xzcat, wc, sort, uniq, cut, tr, column, jq, yq, diff, cmp, comm, nl, tac, rev, strings, od,"
             "hexdump, xxd, md5sum, sha1sum, sha256sum, base64, stat, file, tree, realpath, readlink, basename,"
             "dirname"),
    **_group(G, "inspects the system (read-only)", "du, df, free, uptime, ps, pgrep, pidof, vmstat, iostat, mpstat,"
             "sar, pidstat, lsof, uname, whoami, id, groups, who, w, last, nproc, lscpu, lsblk, blkid, findmnt,"
             "getent, lsmod, lspci, lsusb, printenv, which, whereis, type, locale, tty, iptables-save"),
    **_group(G, "queries the network (read-only)", "ping, ping6, traceroute, tracepath, mtr, dig, nslookup, host,"
             "whois, ss, netstat"),
    **_group(G, "is a shell builtin without side effects", "echo, printf, true, false, :, test, [, [[, sleep, cd,"
             "pwd, export, set, unset, local, declare, readonly, shift, exit, return, wait, jobs, read, trap,"
             "alias, history, umask, ulimit, seq, expr"),
    **_group(Y, FILES, "mv, cp, mkdir, touch, ln, install, scp, zip, unzip, gzip, gunzip, patch, rmdir"),
    "logrotate": (Y, "rotates logs (reversible state change)"),
    **_group(Y, "changes system configuration (reversible state change)", "useradd, usermod, groupadd, adduser,"
             "ifup, ifdown, swapoff, umount, modprobe"),
    **_group(R, "deletes files irreversibly", "rm, shred, unlink, srm"),
    "truncate": (R, "truncates files (their data is lost)"),
    **_group(R, "destroys disk or filesystem data irreversibly", "dd, mkfs, mkswap, wipefs, gdisk, sgdisk, cfdisk,"
             "blkdiscard"),
    **_group(R, "powers off or reboots the host (wide blast radius)", "reboot, halt, poweroff"),
    **_group(R, "deletes users or changes credentials (irreversible)", "userdel, deluser, groupdel, delgroup,"
             "passwd, chpasswd"),
    **_group(R, "drops a database or role (irreversible)", "dropdb, dropuser"),
    **_group(R, "replaces the whole firewall rule set", "iptables-restore, ip6tables-restore"),
}
SYSTEMCTL: dict[str, Rule] = {
    **_group(G, "shows service state (read-only)", "status, is-active, is-enabled, is-failed, show, list-units,"
             "list-unit-files, list-timers, list-sockets, list-dependencies, cat, get-default, help"),
    "": (G, "lists units (read-only)"),
    **_group(Y, "restarts a service (reversible state change)", "restart, reload, try-restart, reload-or-restart,"
             "force-reload, condrestart"),
    "start": (Y, "starts a service (reversible state change)"),
    **_group(Y, "stops a service (reversible, but it stays down until started)", "stop, kill"),
    **_group(Y, "changes boot-time enablement (reversible state change)", "enable, disable, mask, unmask"),
    **_group(Y, "reloads or resets systemd state (reversible)", "daemon-reload, daemon-reexec, reset-failed, edit"),
    **_group(R, "powers off, reboots or isolates the host (wide blast radius)", "reboot, poweroff, halt, kexec,"
             "isolate, rescue, emergency, suspend, hibernate"),
}
KUBECTL: dict[str, Rule] = {
    **_group(G, "reads cluster state (read-only)", "get, describe, logs, top, explain, version, api-resources,"
             "api-versions, cluster-info, auth can-i, auth whoami, config view, config get-contexts, diff, wait,"
             "config current-context, rollout status, rollout history, events, port-forward, proxy, kustomize"),
    **_group(Y, "changes cluster state (reversible state change)", "apply, patch, set, edit, label, annotate, scale,"
             "autoscale, taint, create, run, expose, cp, debug, replace, rollout undo, rollout pause, attach, exec,"
             "rollout resume, certificate approve, certificate deny, config use-context, config set-context"),
    "rollout restart": (Y, "restarts the workload's pods (reversible state change)"),
    **_group(Y, "changes node schedulability (reversible)", "cordon, uncordon"),
    "delete": (R, "deletes cluster resources (irreversible)"),
    "drain": (R, "evicts every pod from the node (wide blast radius)"),
}
DOCKER: dict[str, Rule] = {
    **_group(G, "reads container state (read-only)", "ps, logs, inspect, stats, images, version, info, top, port,"
             "diff, history, events, container ls, container inspect, container logs, image ls, image inspect,"
             "volume ls, volume inspect, network ls, network inspect, system df, compose ps, compose logs"),
    **_group(Y, "changes container state (reversible state change)", "restart, start, stop, pause, unpause, run,"
             "create, pull, build, tag, cp, update, rename, exec, compose exec, compose up, compose restart,"
             "compose stop, compose start, compose pull, compose down, container restart, container start,"
             "container stop"),
    **_group(R, "removes containers, images or volumes (irreversible)", "rm, rmi, system prune, volume rm, image rm,"
             "volume prune, image prune, container rm, container prune, network rm, builder prune, compose rm"),
    "kill": (R, "sends SIGKILL to containers (no clean shutdown)"),
}
CRICTL: dict[str, Rule] = {
    **_group(G, "reads container state (read-only)", "ps, pods, logs, inspect, inspectp, inspecti, images, stats,"
             "info, version"),
    **_group(Y, "changes container state (reversible state change)", "stop, stopp, start, exec, pull, update"),
    **_group(R, "removes containers, pods or images (irreversible)", "rm, rmp, rmi"),
}
HELM: dict[str, Rule] = {
    **_group(G, "reads release state (read-only)", "list, ls, status, get, history, show, search, version, template,"
             "lint, env, verify, repo list, dependency list"),
    **_group(Y, "changes a release (reversible via rollback)", "upgrade, install, rollback, repo add, repo update,"
             "pull, test, dependency update, dependency build"),
    **_group(R, "uninstalls a release and deletes its resources", "uninstall, delete, del, un"),
}
GIT: dict[str, Rule] = {
    **_group(G, "reads repository state (read-only)", "status, log, diff, show, blame, grep, ls-files, ls-remote,"
             "rev-parse, describe, shortlog, reflog, remote, branch, tag, stash list, stash show, cat-file"),
    **_group(Y, "changes the working tree or refs (reversible state change)", "pull, fetch, checkout, switch, merge,"
             "rebase, commit, add, restore, stash, cherry-pick, revert, clone, init, push, am, apply, mv, rm,"
             "reset, clean, config, submodule, stash pop, stash apply"),
    **_group(R, "discards stashed work irreversibly", "stash drop, stash clear"),
}
PACKAGES: dict[str, Rule] = {
    **_group(G, "queries packages (read-only)", "list, show, search, policy, info, check-update, provides, freeze,"
             "repolist, madison, depends, rdepends, history, check"),
    **_group(Y, "installs, updates or uninstalls packages (reversible state change)", "install, upgrade, update,"
             "reinstall, downgrade, dist-upgrade, full-upgrade, makecache, clean, uninstall, download"),
    **_group(R, "removes packages (can cascade to dependants)", "remove, purge, autoremove, erase, del"),
}
TERRAFORM: dict[str, Rule] = {
    **_group(G, "reads infrastructure state (read-only)", "plan, show, output, validate, version, providers, graph,"
             "state list, state show, state pull, workspace list, workspace show"),
    **_group(Y, "changes infrastructure (reversible state change)", "apply, init, import, refresh, taint, untaint,"
             "state mv, workspace select, workspace new, fmt"),
    **_group(R, "destroys infrastructure or state (irreversible)", "destroy, state rm, workspace delete"),
}
UFW: dict[str, Rule] = {
    **_group(G, "shows firewall state (read-only)", "status, version, app list, show"),
    **_group(Y, "changes firewall rules (reversible state change)", "allow, deny, reject, limit, enable, reload,"
             "delete, insert, route, default, logging"),
    **_group(R, "disables or resets the firewall (wide blast radius)", "disable, reset"),
}
NFT: dict[str, Rule] = {
    "list": (G, "lists firewall rules (read-only)"),
    **_group(Y, "changes firewall rules (reversible state change)", "add, insert, replace, create"),
    **_group(R, "flushes or deletes firewall rules (can cut off traffic)", "flush, delete, destroy"),
}
SUBCOMMANDS: dict[str, dict[str, Rule]] = {
    "systemctl": SYSTEMCTL, "kubectl": KUBECTL, "docker": DOCKER, "crictl": CRICTL, "helm": HELM, "git": GIT,
    "apt-get": PACKAGES, "pip": PACKAGES, "terraform": TERRAFORM, "ufw": UFW, "nft": NFT,
}
ALIASES = {"oc": "kubectl", "podman": "docker", "nerdctl": "docker", "docker-compose": "docker", "apt": "apt-get",
           "yum": "apt-get", "dnf": "apt-get", "zypper": "apt-get", "apk": "apt-get", "tofu": "terraform",
           "gawk": "awk", "mawk": "awk", ".": "source", "telinit": "init", "ip6tables": "iptables", "sfdisk": "fdisk",
           "parted": "fdisk", "pkill": "kill", "killall": "kill", "skill": "kill", "chown": "chmod", "chgrp": "chmod",
           "mariadb": "mysql", "gcloud": "aws", "az": "aws", "gsutil": "aws"}
EXECUTORS = {"kubectl", "docker", "crictl"}  # `TOOL exec TARGET CMD` runs CMD: classify CMD
# Flags that take a value before a subcommand (so `kubectl -n logs delete` is not read as `logs`).
SUB_VALUE_FLAGS = _flags("-n --namespace --context --kubeconfig --kube-context -s --server -c -C -H --host"
                         " --git-dir --work-tree --log-level")
ESCALATE: dict[str, list[tuple[tuple[str, ...], Rule]]] = {  # "tool subcommand" -> flags that make it worse
    "kubectl scale": [(("--replicas=0", "--replicas 0"), (R, "scales the workload to zero replicas (outage)"))],
    "kubectl replace": [(("--force",), (R, "force-replaces resources (deletes and recreates them)"))],
    "git push": [(("--force", "-f", "--force-with-lease", "--mirror", "--delete", "-d"),
                  (R, "force-pushes or deletes remote refs (rewrites shared history)"))],
    "git reset": [(("--hard",), (R, "discards uncommitted changes irreversibly"))],
    "git clean": [(("-f", "--force"), (R, "deletes untracked files irreversibly"))],
    "git branch": [(("-D",), (R, "force-deletes a branch")), (("-d", "--delete", "-m", "-M"), (Y, "edits branches"))],
    "systemctl kill": [(("-s KILL", "-s 9", "-s SIGKILL", "--signal=KILL", "--signal=9", "--signal=SIGKILL"),
                        (R, "sends SIGKILL to the service (no clean shutdown)"))],
    "docker compose down": [(("-v", "--volumes"), (R, "also deletes the project's volumes"))],
    "terraform apply": [(("-destroy",), (R, "destroys managed infrastructure"))],
}
DRY_RUN: dict[str, tuple[str, ...]] = {  # `--dry-run=none` is not a dry run: _matches ignores it
    "kubectl": ("--dry-run",), "helm": ("--dry-run",), "rsync": ("-n", "--dry-run"), "git": ("--dry-run",),
    "apt-get": ("-s", "--simulate", "--dry-run", "--no-act"), "aws": ("--dry-run",), "pip": ("--dry-run",),
    "make": ("-n", "--dry-run"), "ansible-playbook": ("--check", "-C"), "logrotate": ("-d", "--debug"),
}
_NOTHING: Rule = (G, "runs nothing")
# name -> (flags taking a value, positionals before the wrapped command, verdict when nothing is wrapped)
WRAPPERS: dict[str, tuple[frozenset[str], int, Rule]] = {
    "sudo": (_flags("-u -g -C -D -h -p -r -t -U -T --user --group"), 0, (Y, "opens a root shell")),
    "doas": (_flags("-u -C"), 0, (Y, "opens a root shell")),
    "runuser": (_flags("-u -g -G"), 0, (Y, "opens a shell as another user")),
    "chroot": (_flags("--userspec --groups"), 1, (Y, "opens a shell in a chroot")),
    "env": (_flags("-u -C -S --unset --chdir"), 0, (G, "prints the environment (read-only)")),
    "nice": (_flags("-n --adjustment"), 0, (G, "prints the niceness (read-only)")),
    "ionice": (_flags("-c -n -p"), 0, (G, "shows the I/O priority (read-only)")),
    "timeout": (_flags("-s -k --signal --kill-after"), 1, _NOTHING),
    "time": (_flags("-f -o --format --output"), 0, _NOTHING),
    "stdbuf": (_flags("-i -o -e"), 0, _NOTHING),
    "flock": (_flags("-w -E --timeout"), 1, _NOTHING),
    "watch": (_flags("-n --interval"), 0, _NOTHING),
    **{name: (frozenset(), 0, _NOTHING) for name in ("nohup", "exec", "command", "busybox")},
    "xargs": (_flags("-n -I -L -P -d -E -s -a --max-args --replace --max-lines --max-procs --delimiter"
                     " --arg-file"), 0, (G, "only echoes its input (read-only)")),
}
SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "fish", "ash", "su"}
INTERPRETERS = {"python", "python3", "perl", "ruby", "node", "php"}
SYSTEM_DIRS = {"/", "/*", "/etc", "/usr", "/var", "/bin", "/sbin", "/lib", "/lib64", "/boot", "/home", "/root",
               "/opt", "/srv", "/sys", "/proc", "/dev"}
NULL_SINKS = {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/zero"}
OPENSSL_READS = {"s_client", "x509", "verify", "version", "ciphers", "crl", "req", "rsa", "ec", "pkey", "asn1parse",
                 "dgst", "list", "rand"}
SQL: dict[str, Rule] = {
    **_group(G, "only reads data (read-only SQL)", "SELECT, SHOW, EXPLAIN, DESCRIBE, DESC, VALUES, TABLE, USE,"
             "BEGIN, START, COMMIT, ROLLBACK, END, SAVEPOINT, RELEASE, FETCH"),
    **_group(Y, "writes data or schema (reversible state change)", "INSERT, UPDATE, DELETE, ALTER, CREATE, GRANT,"
             "REVOKE, COPY, VACUUM, ANALYZE, REINDEX, CLUSTER, REFRESH, COMMENT, LOCK, CALL, DO, MERGE, REPLACE,"
             "KILL, OPTIMIZE, REPAIR, FLUSH, SET, RESET, LOAD, RENAME, NOTIFY"),
    **_group(R, "destroys data or schema irreversibly", "DROP, TRUNCATE, PURGE"),
}
SQL_META = re.compile(r"[\\.](d\w*\+?|l\+?|x|z|conninfo|timing|q|\?|tables|schema|indexes|databases|dump|show|help)"
                      r"(\s|$)")  # read-only psql backslash and sqlite dot commands
SQL_SIDE_EFFECTS = re.compile(r"\b(pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_drop_replication_slot"
                              r"|setval|nextval|set_config|lo_unlink)\s*\(|\bINTO\b", re.IGNORECASE)
REDIS: dict[str, Rule] = {
    **_group(G, "reads keys or server state (read-only)", "GET, MGET, KEYS, SCAN, INFO, PING, TTL, PTTL, TYPE,"
             "EXISTS, HGET, HGETALL, HKEYS, HLEN, HMGET, LRANGE, LLEN, LINDEX, SMEMBERS, SCARD, SISMEMBER, ZRANGE,"
             "ZCARD, ZSCORE, DBSIZE, STRLEN, MEMORY USAGE, SLOWLOG GET, CLIENT LIST, CONFIG GET, ROLE, TIME, XLEN,"
             "XRANGE, XINFO, LATENCY LATEST"),
    **_group(R, "wipes or shuts down the server (irreversible)", "FLUSHALL, FLUSHDB, SHUTDOWN, DEBUG"),
}
CLOUD: dict[str, Rule] = {  # verbs of aws/gcloud/az/gsutil operations, matched whole or before the first `-`
    **_group(G, "reads cloud resources (read-only)", "describe, list, get, show, ls, cat, du, stat, read, tail,"
             "wait, lookup, search, view, version, info, check"),
    **_group(Y, "changes cloud resources (reversible state change)", "create, update, put, set, modify, start, stop,"
             "restart, reboot, reset, resize, scale, add, remove, attach, detach, enable, disable, deploy, apply,"
             "patch, run, invoke, import, tag, untag, cp, mv, sync, rsync, mb, associate, disassociate, authorize,"
             "revoke, register, publish, send, rotate, upgrade, login, ssh, scp, copy, move, restore, rollback,"
             "promote, failover, replace, suspend, resume, cancel, approve, activate, configure"),
    **_group(R, "deletes cloud resources (irreversible)", "delete, terminate, destroy, purge, deregister, rm, rb,"
             "release"),
}


# --- small helpers -----------------------------------------------------------------------------------
def _a(words: list[str], risk: Risk, what: str) -> RiskAssessment:
    """An assessment whose reason quotes the (shortened) command, then says what it does."""
    text = " ".join(words)
    return RiskAssessment(risk=risk, reason=f"`{text if len(text) <= 60 else text[:57] + '...'}` {what}")


def _pick(words: list[str], cond: object, yes: Rule, no: Rule) -> RiskAssessment:
    return _a(words, *(yes if cond else no))


def _worst(parts: list[RiskAssessment]) -> RiskAssessment | None:
    """The first part with the worst risk: the one whose reason explains the verdict."""
    top = Risk.worst([p.risk for p in parts])
    return next((p for p in parts if p.risk == top), None)


def _via(inner: RiskAssessment, how: str) -> RiskAssessment:
    return RiskAssessment(risk=inner.risk, reason=f"{inner.reason} (via {how})")


def _matches(args: list[str], names: tuple[str, ...]) -> bool:
    """Any arg before `--` is a name, `name=value`, a `flag value` pair, or a short-flag cluster (`-fdx`)
    holding a one-letter name."""
    args = args[: args.index("--")] if "--" in args else args
    pairs = {f"{a} {b}" for a, b in pairwise(args)}
    valued = {a.split("=", 1)[0] for a in args if "=" in a and a.split("=", 1)[1] not in ("none", "false")}
    letters = {n[1] for n in names if len(n) == 2 and n[0] == "-" and n[1] != "-"}
    return bool(set(names) & (set(args) | pairs | valued)) or any(
        a.startswith("-") and not a.startswith("--") and letters & set(a[1:]) for a in args)


def _pos(args: list[str]) -> list[str]:
    return [a for a in args if not a.startswith("-")]


def _first_pos(args: list[str], value_flags: frozenset[str] = frozenset()) -> int:
    """Index of the first positional argument, skipping flags and the values of `value_flags`."""
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "-":
        if args[i] == "--":
            return i + 1
        i += 2 if args[i] in value_flags else 1
    return i


def _find_sub(args: list[str], table: dict[str, Rule]) -> str:
    """The subcommand: the first positional, or the first two when `table` knows the pair (`rollout undo`)."""
    pos = _pos(args[_first_pos(args, SUB_VALUE_FLAGS) :])[:2]
    pair = " ".join(pos)
    return pair if len(pos) == 2 and pair in table else pos[0] if pos else ""


def _redirect(op: str, target: str, label: str = "") -> RiskAssessment | None:
    """Output redirection writes a file; overwriting /etc, /boot or a device is destructive."""
    if "<" in op or target.isdigit() or target == "-" or target in NULL_SINKS or target.startswith("/dev/fd/"):
        return None
    where = label or f"`{op} {target}`"
    if target.startswith("/dev/") or ">>" not in op and target.startswith(("/etc/", "/boot/")):
        return RiskAssessment(risk=R, reason=f"{where} overwrites a device or system file")
    what = "changes a kernel setting" if target.startswith(("/proc/", "/sys/")) else f"writes the file `{target}`"
    return RiskAssessment(risk=Y, reason=f"{where} {what}")


# --- handlers: commands whose risk depends on their arguments ----------------------------------------
def _kill(w: list[str], piped: bool) -> RiskAssessment:
    """kill/pkill/killall: SIGKILL gives no chance to shut down cleanly; other signals are reversible."""
    sigs = {w[i + 1] for i, a in enumerate(w[:-1]) if a in ("-s", "--signal")}
    sigs |= {a.split("=", 1)[1] for a in w if a.startswith("--signal=")}
    sigs |= {a[1:] for a in w[1:] if re.fullmatch(r"-\w+", a)}
    sigs = {s.upper().removeprefix("SIG") for s in sigs}
    if sigs & {"9", "KILL"}:
        return _a(w, R, "sends SIGKILL (no clean shutdown; in-flight work is lost)")
    return _pick(w, sigs & {"0", "L"}, (G, "only checks processes or lists signals (read-only)"),
                 (Y, "signals processes to stop or reload (reversible by restarting)"))


def _curl(w: list[str], piped: bool) -> RiskAssessment:
    """GET is read-only; a body or -X POST/PUT/PATCH changes remote state; DELETE is red; -o writes a file."""
    long = {"--request": "X", "--data": "d", "--data-raw": "d", "--data-binary": "d", "--data-urlencode": "d",
            "--json": "d", "--form": "F", "--upload-file": "T", "--output": "o", "--remote-name": "O",
            "--get": "G", "--head": "I"}
    seen: dict[str, str] = {}  # short flag letter -> its value
    args, i = w[1:], 0
    while i < len(args):
        a, i = args[i], i + 1
        if a.startswith("--"):
            name, eq, val = a.partition("=")
            if long.get(name) in ("X", "d", "F", "T", "o") and not eq and i < len(args):
                val, i = args[i], i + 1
            seen.setdefault(long.get(name, ""), val)
        elif a.startswith("-"):
            for j, ch in enumerate(a[1:], 2):
                if ch in "HuAebcwmxrYyzKEXdFToCQ":  # short flags that take a value: the rest, or the next arg
                    val, i = (a[j:], i) if a[j:] else (args[i] if i < len(args) else "", i + 1)
                    seen.setdefault(ch, val)
                    break
                seen.setdefault(ch, "")
    method = seen.get("X", "").upper() or ("POST" if {"d", "F", "T"} & seen.keys() and "G" not in seen else "GET")
    parts = [_a(w, R, "sends an HTTP DELETE (destructive)") if method == "DELETE" else _pick(
        w, method in ("GET", "HEAD", "OPTIONS"), (G, "makes a read-only HTTP request"),
        (Y, f"sends an HTTP {method} (changes remote state)"))]
    if seen.get("o", "-") not in ("-", "/dev/null") or "O" in seen:
        parts.append(_a(w, Y, "writes the response to a file"))
    return _worst(parts) or parts[0]


def _wget(w: list[str], piped: bool) -> RiskAssessment:
    """--spider and -O - only read; anything else downloads to a file."""
    args = w[1:]
    method = next((a.split("=", 1)[1].upper() for a in args if a.startswith("--method=")), "")
    method = method or ("POST" if any(a.startswith(("--post-", "--body-")) for a in args) else "")
    if method not in ("", "GET", "HEAD"):
        return _a(w, R if method == "DELETE" else Y, f"sends an HTTP {method} (changes remote state)")
    if "--spider" in args:
        return _a(w, G, "only checks the URL (read-only)")
    out = None
    for i, a in enumerate(args):
        if a.startswith("--output-document") or re.fullmatch(r"-[a-zA-Z]*O.*", a):
            value = a.partition("=")[2] if a.startswith("--") else a[a.index("O") + 1 :]
            out = value or (args[i + 1] if i + 1 < len(args) else "")
    return _pick(w, out in ("-", "/dev/null"), (G, "prints the download (read-only)"), (Y, "downloads to a file"))


def _find(w: list[str], piped: bool) -> RiskAssessment:
    """find only lists, unless it deletes or runs a command (`-exec CMD ;` is classified as CMD)."""
    if "-delete" in w:
        return _a(w, R, "deletes every matching file (`-delete`)")
    parts = [_a(w, G, "only lists files (read-only)")]
    for i, a in enumerate(w):
        if a in ("-exec", "-execdir", "-ok", "-okdir"):
            end = next((j for j in range(i + 1, len(w)) if w[j] in (";", "+")), len(w))
            if end > i + 1:
                parts.append(_via(_command(w[i + 1 : end], False), f"`find {a}`"))
        elif a in ("-fprint", "-fprint0", "-fprintf", "-fls"):
            parts.append(_a(w, Y, f"writes a file (`{a}`)"))
    return _worst(parts) or parts[0]


def _tee(w: list[str], piped: bool) -> RiskAssessment:
    op = ">>" if _matches(w[1:], ("-a", "--append")) else ">"
    parts = [r for f in _pos(w[1:]) if (r := _redirect(op, f, f"`tee {f}`"))]
    return _worst(parts) or _a(w, G, "only copies its input to stdout")


def _perm(w: list[str], piped: bool) -> RiskAssessment:
    """chmod/chown/chgrp are reversible, unless applied recursively to a system tree such as `/`."""
    recursive = _matches(w[1:], ("-R", "--recursive"))
    tree = any((t.rstrip("/") or "/") in SYSTEM_DIRS for t in _pos(w[1:])[1:])
    return _pick(w, recursive and tree, (R, "recursively changes a system tree (wide blast radius)"),
                 (Y, "changes permissions or ownership (reversible state change)"))


def _sql(sql: str) -> RiskAssessment:
    """Reads are green, writes yellow; DROP, TRUNCATE and DELETE or UPDATE without WHERE are red."""
    parts = []
    for stmt in re.split(r";", re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.DOTALL)):
        s = stmt.strip()
        if s[:1] in ("\\", "."):  # psql or sqlite client command
            parts.append(_pick([s], SQL_META.match(s), (G, "describes the database (read-only)"),
                               (Y, "is a client command not known to be read-only")))
            continue
        explain = re.match(r"EXPLAIN\s+((\([^)]*\)|ANALY[SZ]E|VERBOSE)\s+)*", s, re.IGNORECASE)
        if explain and re.search(r"ANALY[SZ]E", explain.group(0), re.IGNORECASE):
            s = s[explain.end() :]  # EXPLAIN ANALYZE executes the statement
        first = m.group(1).upper() if (m := re.match(r"[\s(]*(\w+)", s)) else ""
        if not first:
            continue
        if first in ("DELETE", "UPDATE") and not re.search(r"\bWHERE\b", s, re.IGNORECASE):
            parts.append(_a([s], R, f"{first} without WHERE affects every row (irreversible)"))
        elif first in ("SELECT", "WITH") and (SQL_SIDE_EFFECTS.search(s) or first == "WITH" and re.search(
                r"\b(INSERT|UPDATE|DELETE|MERGE)\b", s, re.IGNORECASE)):
            parts.append(_a([s], Y, "writes data or has side effects (reversible state change)"))
        else:
            parts.append(_a([s], *SQL.get(first, (Y, "is not known to be read-only SQL"))))
    return _worst(parts) or RiskAssessment(risk=G, reason="empty SQL")


def _sql_cli(w: list[str], piped: bool) -> RiskAssessment:
    """psql -c / mysql -e / sqlite3 DB 'SQL': classify the SQL; SQL from files or stdin is not inspected."""
    name, args = w[0], w[1:]
    flags = ("-c", "--command") if name == "psql" else ("-e", "--execute")
    sql = _pos(args)[1:] if name == "sqlite3" else []
    for i, a in enumerate(args):
        flag, eq, value = a.partition("=")
        if flag in flags or name != "psql" and re.fullmatch(r"-[BNsrtvX]+e", a):  # mysql -Ne "..."
            sql.append(value if eq else args[i + 1] if i + 1 < len(args) else "")
    if sql:
        return _via(_worst([_sql(s) for s in sql]) or _sql(""), f"`{name}`")
    return _pick(w, _matches(args, ("-l", "--list")), (G, "lists databases (read-only)"),
                 (Y, "runs SQL from a file, stdin or a session (not inspected)"))


def _redis(w: list[str], piped: bool) -> RiskAssessment:
    args = w[1:]
    value_flags = _flags("-h -p -s -a -u -n -r -i -d -D --user --pass --pattern --cacert --cert --key --sni --count")
    cmd = [c.upper() for c in args[_first_pos(args, value_flags) :]]
    if not cmd:
        return _pick(w, _matches(args, ("--scan", "--bigkeys", "--memkeys", "--hotkeys", "--stat", "--latency")),
                     (G, "samples the server (read-only)"), (Y, "opens an interactive session (not inspected)"))
    rule = REDIS.get(" ".join(cmd[:2])) or REDIS.get(cmd[0]) or (Y, "changes data (not known to be read-only)")
    return _a(w, *rule)


def _cloud(w: list[str], piped: bool) -> RiskAssessment:
    """aws/gcloud/az/gsutil: the first known verb after the service or group (describe-*, list, delete) decides."""
    pos = _pos(w[1:])
    for word in pos[1:] if len(pos) > 1 and w[0] != "gsutil" else pos:
        rule = CLOUD.get(word) or CLOUD.get(word.split("-")[0])
        if rule and word in ("sync", "rsync") and _matches(w[1:], ("--delete", "-d")):
            rule = (R, "deletes destination objects missing from the source")
        if rule:
            return _a(w, *rule)
    return _a(w, Y, "runs an operation not known to be read-only")


def _interp(w: list[str], piped: bool) -> RiskAssessment:
    """`bash -c '...'` is classified as a script; code piped into a shell or interpreter is red."""
    name, args = w[0], w[1:]
    for i, a in enumerate(args):
        if name in SHELLS and re.fullmatch(r"-[a-zA-Z]*c[a-zA-Z]*", a) and i + 1 < len(args):
            if args[i + 1].strip() == SUBST:
                return _a(w, R, "runs generated or downloaded code")
            return _via(_shell(args[i + 1]), f"`{name} -c`")
        if name not in SHELLS and a in ("-c", "-e", "-E", "-r"):
            return _a(w, Y, f"runs inline {name} code (not inspected)")
    if "json.tool" in args:
        return _a(w, G, "only pretty-prints JSON (read-only)")
    script = next((a for a in args if not a.startswith("-")), None) if name != "su" else None
    if script == SUBST:
        return _a(w, R, "runs generated or downloaded code")
    if script:
        return _a(w, Y, f"runs the script `{script}` (not inspected)")
    return _pick(w, piped, (R, "runs code piped into it (unknown, possibly downloaded code)"),
                 (Y, "starts an interactive session (not inspected)"))


def _ssh(w: list[str], piped: bool) -> RiskAssessment:
    args = w[1:]
    i = _first_pos(args, _flags("-b -c -D -E -e -F -I -i -J -L -l -m -O -o -p -Q -R -S -W -w -B"))
    if i + 1 >= len(args):
        return _a(w, Y, "opens an interactive remote session")
    return _via(_shell(" ".join(args[i + 1 :])), f"`ssh {args[i]}`")


def _ip(w: list[str], piped: bool) -> RiskAssessment:
    words = set(_pos(w[1:]))
    if "flush" in words:
        return _a(w, R, "flushes addresses or routes (can cut the host off the network)")
    return _pick(w, words & {"add", "del", "delete", "set", "change", "replace", "append", "up", "down", "exec"},
                 (Y, "changes network configuration (reversible state change)"), (G, "shows network state (read-only)"))


def _iptables(w: list[str], piped: bool) -> RiskAssessment:
    long = {"--flush": "F", "--delete-chain": "X", "--delete": "D", "--policy": "P", "--list": "L", "--list-rules": "S"}
    ops = {long.get(a, "") for a in w[1:]} | {c for a in w[1:] if re.fullmatch(r"-[a-zA-Z]+", a) for c in a[1:]}
    if ops & set("FXDP"):
        return _a(w, R, "flushes or deletes firewall rules or changes policy (can cut off traffic)")
    return _pick(w, ops & set("LS") and not ops & set("AIRNZE"), (G, "lists firewall rules (read-only)"),
                 (Y, "changes firewall rules (reversible state change)"))


HANDLERS: dict[str, Handler] = {
    "find": _find, "tee": _tee, "curl": _curl, "wget": _wget, "ip": _ip, "ssh": _ssh, "redis-cli": _redis,
    "iptables": _iptables, "kill": _kill, "chmod": _perm, "aws": _cloud, "psql": _sql_cli, "mysql": _sql_cli,
    "sqlite3": _sql_cli, **{name: _interp for name in SHELLS | INTERPRETERS},
    "hostname": lambda w, p: _pick(w, _pos(w[1:]), (Y, "sets the hostname"), (G, "prints the hostname (read-only)")),
    "ifconfig": lambda w, p: _pick(w, len(_pos(w[1:])) > 1, (Y, "reconfigures an interface"),
                                   (G, "shows interfaces (read-only)")),
    "mount": lambda w, p: _pick(w, set(w[1:]) - {"-l"}, (Y, "mounts a filesystem (reversible)"),
                                (G, "lists mounts (read-only)")),
    "sysctl": lambda w, p: _pick(w, _matches(w[1:], ("-w", "--write", "-p", "--load", "--system")) or any(
        "=" in a for a in _pos(w[1:])), (Y, "changes kernel parameters (reversible)"), (G, "reads kernel parameters")),
    "init": lambda w, p: _pick(w, w[1:2] in (["0"], ["6"]), (R, "halts or reboots the host"), (Y, "changes runlevel")),
    "date": lambda w, p: _pick(w, "-s" in w or any(a.startswith("--set") for a in w), (Y, "sets the system clock"),
                               (G, "prints the date (read-only)")),
    "tar": lambda w, p: _pick(w, "--list" in w or len(w) > 1 and "t" in w[1] and not set("xcru") & set(w[1]),
                              (G, "lists an archive (read-only)"), (Y, "creates or extracts an archive")),
    "openssl": lambda w, p: _pick(w, w[1:2] and w[1] in OPENSSL_READS and not _matches(w[2:], ("-out", "-new")),
                                  (G, "inspects certificates or keys (read-only)"), (Y, "writes keys or certificates")),
    "sed": lambda w, p: _pick(w, any(re.fullmatch(r"-[a-zA-Z]*i.*|--in-place(=.*)?", a) for a in w[1:]),
                              (Y, "edits files in place (`-i`)"), (G, "only transforms text (read-only)")),
    "awk": lambda w, p: _pick(w, any(re.search(r"system\s*\(|[|>]\s*\"|\binplace\b", a) for a in w[1:]),
                              (Y, "runs commands or writes files from awk"), (G, "only transforms text (read-only)")),
    "source": lambda w, p: _a(w, R if SUBST in w else Y, "runs a script in the current shell (not inspected)"),
    "eval": lambda w, p: _via(_shell(" ".join(w[1:])), "`eval`"),
    "service": lambda w, p: _a(w, *SYSTEMCTL.get("status" if "--status-all" in w else (_pos(w[1:])[1:2] or [""])[0],
                                                 (Y, "runs a service action not known to be read-only"))),
}
# name -> (flags, verdict) pairs tried in order; the pair without flags is the default.
FLAGGED: dict[str, tuple[tuple[tuple[str, ...], Rule], ...]] = {
    "journalctl": ((("--vacuum-size", "--vacuum-time", "--vacuum-files"), (R, "deletes archived logs (irreversible)")),
                   (("--rotate", "--flush", "--sync"), (Y, "rotates or moves journal files")),
                   ((), (G, "reads logs (read-only)"))),
    "dmesg": ((("-c", "-C", "--clear", "--read-clear", "-n", "-D", "-E"), (Y, "clears or reconfigures the kernel log")),
              ((), (G, "reads the kernel log (read-only)"))),
    "top": ((("-b", "--batch"), (G, "prints a process snapshot (read-only)")),
            ((), (Y, "is interactive (can kill or renice processes)"))),
    "crontab": ((("-r",), (R, "removes the whole crontab")), (("-l",), (G, "lists the crontab (read-only)")),
                ((), (Y, "edits or replaces the crontab (reversible)"))),
    "swapon": ((("--show", "-s"), (G, "shows swap (read-only)")), ((), (Y, "enables swap (reversible)"))),
    "shutdown": ((("-c",), (Y, "cancels a pending shutdown")), ((), (R, "shuts down the host (wide blast radius)"))),
    "fdisk": ((("-l", "--list", "print"), (G, "lists partitions (read-only)")),
              ((), (R, "rewrites partition tables (destroys data)"))),
    "rsync": ((("--delete", "--delete-after", "--delete-before", "--delete-during", "--delete-excluded",
                "--remove-source-files"), (R, "deletes files at the destination or source")), ((), (Y, FILES))),
}
KNOWN = {*SIMPLE, *SUBCOMMANDS, *HANDLERS, *FLAGGED, *WRAPPERS, *ALIASES}


# --- parsing: scan, tokenize, split into simple commands ---------------------------------------------
_OPS = ";&|<>()\n"
_MASK = {c: chr(0xE000 + i) for i, c in enumerate(_OPS)}  # quoted operator characters become plain text
_UNMASK = str.maketrans({v: k for k, v in _MASK.items()})
SUBST = "$(...)"  # what a lifted-out substitution leaves behind in its command
_SUBST_TOKEN = "$" + _MASK["("] + "..." + _MASK[")"]
_OP = re.compile(r"&>>|<<<|&&|\|\||>>|>&|<&|&>|>\||\|&|<<|<>|;;|[;&|<>()\n]")
SEPARATORS = {";", "&", "&&", "||", "|", "|&", "\n", "(", ")", ";;"}
KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "esac", "function"}
HEADERS = {"for", "case", "select"}
ASSIGN = re.compile(r"[A-Za-z_]\w*(\[[^\]]*\])?\+?=")
HEREDOC = re.compile(r"<<-?[ \t]*(['\"]?)([\w.-]+)\1")
TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
FORK_BOMB = re.compile(r"(?<![^\s;&|(])([^\s;&|(){}]{1,64})\s*\(\s*\)\s*\{[^}]*?\1\s*\|\s*\1\s*&")


def _close(text: str, i: int) -> int:
    """Index of the parenthesis closing the one at `i` (the end of the text if unbalanced)."""
    depth, quote = 0, ""
    for j in range(i, len(text)):
        c = text[j]
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in "()":
            depth += 1 if c == "(" else -1
            if depth == 0:
                return j
    return len(text)


def _scan(text: str) -> tuple[str, list[str]]:
    """Drop comments and heredoc bodies, lift out `$(...)`, backtick and `<(...)` substitutions, and mask
    quoted or escaped operators so that shlex keeps them inside words."""
    out, subs, heredocs, quote, i = [" "], [], [], "", 0
    while i < len(text):
        c, nxt = text[i], text[i + 1 : i + 2]
        if quote == "'":
            quote = "" if c == "'" else quote
            out.append(_MASK.get(c, c))
        elif c == "\\" and nxt == "\n":  # line continuation
            out.append(" ")
            i += 1
        elif c == "\\" and nxt:
            out.append((("\\" if quote else "") + _MASK[nxt]) if nxt in _MASK else c + nxt)
            i += 1
        elif text.startswith(SUBST, i):  # a placeholder left by an outer scan stays one
            out.append(_SUBST_TOKEN)
            i += len(SUBST) - 1
        elif c == "`" or c == "$" and nxt == "(" or c in "<>" and nxt == "(" and not quote:
            j = (text.find("`", i + 1) % (len(text) + 1)) if c == "`" else _close(text, i + 1)
            if not text.startswith("$((", i):  # arithmetic expansion runs nothing
                subs.append(text[i + (1 if c == "`" else 2) : j])
            out.append(_SUBST_TOKEN)
            i = j
        elif c == '"':
            quote = "" if quote else '"'
            out.append(c)
        elif quote:
            out.append(_MASK.get(c, c))
        elif c == "'":
            quote = "'"
            out.append(c)
        elif c == "#" and out[-1][-1] in " \t\n;&|()":
            i = (text.find("\n", i) % (len(text) + 1)) - 1
        elif c == "<" and (m := HEREDOC.match(text, i)) and text[i - 1 : i] != "<" and not text.startswith("<<<", i):
            heredocs.append(m.group(2))
            out.append(f"<< {m.group(2)} ")
            i = m.end() - 1
        elif c == "\n" and heredocs:
            for delim in heredocs:
                end = re.compile(rf"^[ \t]*{re.escape(delim)}[ \t]*$", re.MULTILINE).search(text, i + 1)
                i = end.end() if end else len(text)
            heredocs.clear()
            out.append("\n")
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out), subs


def _tokens(body: str) -> list[str]:
    lex = shlex.shlex(body, posix=True, punctuation_chars=_OPS)
    lex.whitespace, lex.whitespace_split, lex.commenters = " \t\r", True, ""
    try:
        return list(lex)
    except ValueError:  # unbalanced quotes: a plain split that still separates operators
        ops = re.escape(_OPS)
        return [t.strip("'\"") for t in re.findall(rf"[{ops}]+|[^\s{ops}]+", body)]


def _script(text: str) -> list[RiskAssessment]:
    """Classify every simple command of a shell snippet, including the ones inside substitutions."""
    if bomb := FORK_BOMB.search(text):
        return [RiskAssessment(risk=R, reason=f"`{bomb.group(0)}` is a fork bomb (exhausts the host)")]
    body, subs = _scan(text)
    found = [a for sub in subs for a in _script(sub)]
    words: list[str] = []
    redirs: list[tuple[str, str]] = []
    piped, pending = False, ""
    for tok in [*_tokens(body), ";"]:
        if tok and not tok.strip(_OPS):  # only unquoted operator characters survive tokenizing unmasked
            for op in _OP.findall(tok):
                if op in SEPARATORS:
                    if words or redirs:
                        found.append(_simple(words, redirs, piped))
                    words, redirs, pending, piped = [], [], "", op in ("|", "|&")
                else:
                    if words and words[-1].isdigit():
                        words.pop()  # the `2` of `2>` names a file descriptor, not an argument
                    pending = op
        elif pending:
            redirs.append((pending, tok.translate(_UNMASK)))
            pending = ""
        else:
            words.append(tok.translate(_UNMASK))
    return found


def _shell(text: str) -> RiskAssessment:
    return _worst(_script(text)) or RiskAssessment(risk=G, reason=f"`{text.strip()[:60]}` runs nothing")


def _simple(words: list[str], redirs: list[tuple[str, str]], piped: bool) -> RiskAssessment:
    parts = [r for op, target in redirs if (r := _redirect(op, target))]
    i = 0
    while i < len(words) and (words[i] in KEYWORDS or ASSIGN.match(words[i])):
        i += 2 if words[i] == "function" else 1
    if words[i:] and words[i] in HEADERS:
        parts.append(_a(words[i:], G, "is a loop or case header (runs nothing itself)"))
    elif words[i:]:
        parts.append(_command(words[i:], piped))
    return _worst(parts) or _a(words or [op for op, _ in redirs], G, "only sets variables or shell syntax")


def _canon(name: str) -> str:
    """`/usr/bin/python3.11` -> `python3`, `mkfs.ext4` -> `mkfs`, `pip3` -> `pip`."""
    name = os.path.basename(name)
    return next((c for c in (name, name.split(".")[0], name.rstrip("0123456789.")) if c in KNOWN), name)


def _command(w: list[str], piped: bool) -> RiskAssessment:
    """One simple command: wrappers, `exec` into containers, dry runs, handlers, tables, else unknown."""
    written, name = w[0], _canon(w[0])
    key, args, w = ALIASES.get(name, name), w[1:], [name, *w[1:]]
    if name in WRAPPERS:
        flags, skip, empty = WRAPPERS[name]
        if name == "command" and _matches(args, ("-v", "-V")):
            return _a(w, G, "looks up a command (read-only)")
        i = _first_pos(args, flags) + skip
        while i < len(args) and ASSIGN.match(args[i]):
            i += 1
        if i >= len(args):
            return _a(w, *empty)
        inner = _shell(" ".join(args[i:])) if name == "watch" else _command(args[i:], piped)
        return _via(inner, f"`{name}`")
    if key in EXECUTORS and _find_sub(args, SUBCOMMANDS[key]) in ("exec", "compose exec"):
        rest = args[args.index("exec") + 1 :]
        target_flags = _flags("-c -n -u -e -w --container --namespace --user --env --workdir --env-file --context")
        inner = rest[rest.index("--") + 1 :] if "--" in rest else rest[_first_pos(rest, target_flags) + 1 :]
        return _via(_command(inner, False), f"`{name} exec`") if inner else _a(w, Y, "opens a shell in a container")
    if _matches(args, DRY_RUN.get(key, ())):
        return _a(w, G, "is a dry run (changes nothing)")
    if key in HANDLERS:
        return HANDLERS[key](w, piped)
    if key in FLAGGED:
        return _a(w, *next(rule for flags, rule in FLAGGED[key] if not flags or _matches(args, flags)))
    if key in SUBCOMMANDS:
        sub = _find_sub(args, SUBCOMMANDS[key])
        rule = SUBCOMMANDS[key].get(sub) or (Y, f"has subcommand `{sub or '(none)'}`, not known to be read-only")
        extra = [_a(w, *r) for names, r in ESCALATE.get(f"{key} {sub}", []) if _matches(args, names)]
        return _worst([_a(w, *rule), *extra]) or _a(w, *rule)
    if key in SIMPLE:
        return _a(w, *SIMPLE[key])
    if name == SUBST:
        return _a(w, Y, "runs a command computed at run time: not known to be read-only")
    return RiskAssessment(risk=Y, reason=f"unknown command `{written}`: not known to be read-only")


def classify(command: str, language: str = "shell") -> RiskAssessment:
    """Classify a step command as green (read-only), yellow (reversible change) or red (destructive)."""
    if not command or not command.strip():
        return RiskAssessment(risk=G, reason="empty command")
    lang = language.strip().lower()
    if lang in ("sql", "psql", "postgresql", "postgres", "mysql"):
        return _sql(command)
    if lang not in ("shell", "sh", "bash", "zsh", "console", ""):
        return RiskAssessment(risk=Y, reason=f"{language} code is not analysed: not known to be read-only")
    # `{{ labels.pod | default('x') }}` becomes one argument word, whatever it contains
    text = TEMPLATE.sub(lambda m: "{{" + "".join(_MASK.get(c, c) for c in m.group(1) if not c.isspace()) + "}}",
                        command)
    try:
        return _shell(text)
    except Exception as exc:  # noqa: BLE001 - never break loading a runbook, never let a crash hide a red part
        return RiskAssessment(risk=R, reason=f"could not analyse `{command.strip()[:60]}` ({type(exc).__name__}): "
                                             "treated as destructive")
