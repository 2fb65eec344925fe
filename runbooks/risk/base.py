"""The verdict type and the small helpers every part of the classifier shares.

A `Rule` is a verdict plus what the command does (`(Y, "restarts a service")`); `assess` turns it into
a `RiskAssessment` whose reason quotes the part of the command that decided it.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

from pydantic import BaseModel

from runbooks.model import Risk

G, Y, R = Risk.green, Risk.yellow, Risk.red
Rule = tuple[Risk, str]  # a verdict and what the command does, e.g. (Y, "restarts a service (...)")

SUBST = "$(...)"  # what a lifted-out substitution (`$(...)`, backticks) leaves behind in its command


class RiskAssessment(BaseModel):
    """A risk class plus a human-readable reason naming the part of the command that decided it."""

    risk: Risk
    reason: str


Handler = Callable[[list[str], bool], RiskAssessment]  # (words, piped into) -> assessment
# Flags that take a value before a subcommand (so `kubectl -n logs delete` is not read as `logs`).
SUB_VALUE_FLAGS = frozenset("-n --namespace --context --kubeconfig --kube-context -s --server -c -C -H --host"
                            " --git-dir --work-tree --log-level --endpoints --alertmanager.url".split())
NULL_SINKS = {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/zero"}


def group(risk: Risk, what: str, names: str) -> dict[str, Rule]:
    """Table rows for comma-separated names sharing one verdict (a key may be two words: `rollout undo`)."""
    return {n.strip(): (risk, what) for n in names.split(",") if n.strip()}


def flags(names: str) -> frozenset[str]:
    return frozenset(names.split())


def assess(words: list[str], risk: Risk, what: str) -> RiskAssessment:
    """An assessment whose reason quotes the (shortened) command, then says what it does."""
    text = " ".join(words)
    return RiskAssessment(risk=risk, reason=f"`{text if len(text) <= 60 else text[:57] + '...'}` {what}")


def pick(words: list[str], cond: object, yes: Rule, no: Rule) -> RiskAssessment:
    return assess(words, *(yes if cond else no))


def worst(parts: list[RiskAssessment]) -> RiskAssessment | None:
    """The first part with the worst risk: the one whose reason explains the verdict."""
    top = Risk.worst([p.risk for p in parts])
    return next((p for p in parts if p.risk == top), None)


def worst_of(parts: list[RiskAssessment], default: RiskAssessment) -> RiskAssessment:
    return worst(parts) or default


def via(inner: RiskAssessment, how: str) -> RiskAssessment:
    return RiskAssessment(risk=inner.risk, reason=f"{inner.reason} (via {how})")


def at_least(a: RiskAssessment, risk: Risk, what: str, words: list[str]) -> RiskAssessment:
    """`a`, unless it is less risky than `risk`: then the floor, saying why."""
    return a if a.risk.rank >= risk.rank else assess(words, risk, what)


def matches(args: list[str], names: tuple[str, ...]) -> bool:
    """Any arg before `--` is a name, `name=value`, a `flag value` pair, or a short-flag cluster (`-fdx`)
    holding a one-letter name."""
    args = args[: args.index("--")] if "--" in args else args
    pairs = {f"{a} {b}" for a, b in pairwise(args)}
    valued = {a.split("=", 1)[0] for a in args if "=" in a and a.split("=", 1)[1] not in ("none", "false")}
    letters = {n[1] for n in names if len(n) == 2 and n[0] == "-" and n[1] != "-"}
    return bool(set(names) & (set(args) | pairs | valued)) or any(
        a.startswith("-") and not a.startswith("--") and letters & set(a[1:]) for a in args)


def flag_values(args: list[str], names: tuple[str, ...]) -> list[str]:
    """The values given to any of `names`, as `--flag value` or `--flag=value`, in order."""
    out = []
    for i, a in enumerate(args):
        flag, eq, value = a.partition("=")
        if a in names and i + 1 < len(args):
            out.append(args[i + 1])
        elif eq and flag in names:
            out.append(value)
    return out


def pos(args: list[str]) -> list[str]:
    return [a for a in args if not a.startswith("-")]


def first_pos(args: list[str], value_flags: frozenset[str] = frozenset()) -> int:
    """Index of the first positional argument, skipping flags and the values of `value_flags`."""
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "-":
        if args[i] == "--":
            return i + 1
        i += 2 if args[i] in value_flags else 1
    return i


def positionals(args: list[str], value_flags: frozenset[str] = SUB_VALUE_FLAGS) -> list[str]:
    """Positional arguments before `--`, skipping flags and the values of `value_flags` wherever they are."""
    out, i = [], 0
    while i < len(args) and args[i] != "--":
        a = args[i]
        if a.startswith("-") and a != "-":
            i += 2 if a in value_flags else 1
            continue
        out.append(a)
        i += 1
    return out


def find_sub(args: list[str], table: dict[str, Rule], depth: int = 3) -> str:
    """The subcommand: the longest run of leading positionals (up to `depth`) that `table` knows
    (`rollout undo`, `osd pool delete`), else the first positional (after any that look like a path
    or a URL: a global option's value, `restic -r s3:bucket snapshots`)."""
    words = positionals(args)
    while len(words) > 1 and ("/" in words[0] or ":" in words[0]) and words[0] not in table:
        words = words[1:]  # a global option's value (`restic -r /mnt/backup key list`), not a subcommand
    # a file argument between subcommand words (`docker compose -f /opt/app/compose.yml ps`) is not one of them
    words = [words[0], *(x for x in words[1:] if "/" not in x and not x.endswith((".yml", ".yaml", ".json")))][:depth] \
        if words else []
    for n in range(len(words), 1, -1):
        if " ".join(words[:n]) in table:
            return " ".join(words[:n])
    return words[0] if words else ""


def redirect(op: str, target: str, label: str = "") -> RiskAssessment | None:
    """Output redirection writes a file; overwriting /etc, /boot or a device is destructive."""
    if "<" in op or target.isdigit() or target == "-" or target in NULL_SINKS or target.startswith("/dev/fd/"):
        return None
    where = label or f"`{op} {target}`"
    if target.startswith("/dev/") or ">>" not in op and target.startswith(("/etc/", "/boot/")):
        return RiskAssessment(risk=R, reason=f"{where} overwrites a device or system file")
    if target.rstrip("/").endswith(("/proc/sysrq-trigger", "/proc/sysrq")):
        return RiskAssessment(risk=R, reason=f"{where} triggers a kernel SysRq action (crash, reboot or power-off)")
    what = "changes a kernel setting" if target.startswith(("/proc/", "/sys/")) else f"writes the file `{target}`"
    return RiskAssessment(risk=Y, reason=f"{where} {what}")
