"""Verb-style CLIs (etcdctl, ceph, rados, rbd, amtool, promtool, virtctl, velero, virsh, ovn-nbctl, vault...).

Each tool has a table of its known subcommands (`runbooks.risk.platforms`), matched on the longest run of
leading positional words. A subcommand the table does not know is judged by its first recognised verb:
`list`, `status`, `dump_historic_ops` read; `set`, `add`, `restart` change; `delete`, `rm`, `purge` destroy.
A compound verb takes its worst part (`ls-del` destroys). With no recognised verb the command is yellow.
"""

from __future__ import annotations

import json
import re

from runbooks.risk.base import (
    G, Handler, R, RiskAssessment, Rule, Y, assess, flags, matches, pick, positionals, worst_of,
)
from runbooks.risk.commands import ALIASES
from runbooks.risk.platforms import ESCALATE, READ_FLAGS, SKIP_TARGET, TOOLS, VALUE_FLAGS

READ_VERBS = set("get list ls show describe status health info dump stat stats df du tree query check inspect logs"
                 " log version versions top watch find lookup search cat view history diff validate lint explain"
                 " help report detail print count verify render analyze ping whoami metrics perf summary tail"
                 " events trace export exists members ops usage display monitor test-config can-i".split())
CHANGE_VERBS = set("set unset create add update put enable disable start stop restart reload pause unpause resume"
                   " suspend apply patch edit import restore rollback migrate scale upgrade install mount unmount"
                   " umount map unmap resize reweight repair scrub move rename tag login logout push pull sync expire"
                   " disarm defrag out in down up fail reset reboot shutdown promote exec run copy cp mv save load"
                   " upload trigger approve deny link attach detach grant revoke rotate modify mod reconcile clear"
                   " flush kill cancel replace deploy join leave-maintenance evict drain snapshot sign bootstrap"
                   " refresh rebuild recover post send write activate deactivate clone lock unlock renew invalidate"
                   .split())
DESTROY_VERBS = set("delete del rm remove destroy purge drop prune terminate wipe erase undefine uninstall truncate"
                    " compact lost zap rmpool rmsnap kick nuke assassinate decommission removenode rmi unregister"
                    " leave format revoke-all".split())
VERBS = READ_VERBS | CHANGE_VERBS | DESTROY_VERBS
_VERB = re.compile(r"[a-z][a-z0-9_./-]*")


def verb_rule(word: str) -> Rule | None:
    """The verdict for one subcommand word: the whole word if it is a verb, else the worst verb among its
    parts (`get-quota`, `dump_historic_ops`, `cluster/status`, `ls-del`)."""
    if not _VERB.fullmatch(word):
        return None
    found = []
    for part in [word, *re.split(r"[-_/.]", word)] if word not in VERBS else [word]:
        if part in DESTROY_VERBS:
            found.append((R, f"deletes or destroys (`{word}`: irreversible)"))
        elif part in CHANGE_VERBS:
            found.append((Y, f"changes state (`{word}`: reversible state change)"))
        elif part in READ_VERBS:
            found.append((G, f"only reads (`{word}` is read-only)"))
    return max(found, key=lambda r: r[0].rank) if found else None


def _subcommand(tool: str, words: list[str]) -> tuple[str, Rule | None]:
    table = TOOLS[tool]
    if tool in SKIP_TARGET and words[:1] and words[0] in SKIP_TARGET[tool]:
        words = [words[0], *words[2:]]  # `ceph daemon osd.3 ops`, `ceph tell mon.a mon_status`: skip the target
    for n in range(min(len(words), 4), 0, -1):
        key = " ".join(words[:n])
        if key in table:
            return key, table[key]
    # a whole verb decides before one found inside a word: `service-version activate` is `activate`, not `version`
    for word in sorted(words, key=lambda x: x not in VERBS):
        if rule := verb_rule(word):
            return word, rule
    return ("", table.get("")) if not words else (words[0], None)


def _verb_cli(w: list[str], piped: bool) -> RiskAssessment:
    tool, args = (w[0] if w[0] in TOOLS else ALIASES.get(w[0], w[0])), w[1:]
    words = positionals(args, VALUE_FLAGS.get(tool, frozenset()) | flags("-n --namespace -c --context"))
    if not words and tool in READ_FLAGS and matches(args, READ_FLAGS[tool]):
        return assess(w, G, "only shows state (read-only)")
    sub, rule = _subcommand(tool, words)
    if rule is None:
        rule = (Y, f"has subcommand `{sub or '(none)'}`, not known to be read-only")
    parts = [assess(w, *rule)]
    parts += [assess(w, *r) for key, names, r in ESCALATE.get(tool, [])  # by the table's key or the words said
              if (key in ("*", sub) or words[:len(key.split())] == key.split()) and matches(args, names)]
    later = [x for x in words[1:] if x in DESTROY_VERBS and x not in sub.split()]
    if later:
        parts.append(assess(w, R, f"names `{later[0]}` (deletes or destroys: irreversible)"))
    return worst_of(parts, parts[0])


def _agent_command(w: list[str], piped: bool) -> RiskAssessment:
    """`virsh qemu-agent-command DOMAIN '{"execute": "guest-get-fsinfo"}'`: guest-get-* and guest-info only read."""
    try:
        doc = json.loads(positionals(w[1:])[-1])
        name = doc.get("execute", "") if isinstance(doc, dict) else ""
    except (ValueError, IndexError):
        name = ""
    return pick(w, re.fullmatch(r"guest-(get-[\w-]+|info|ping|fsfreeze-status)", name or ""),
                (G, "asks the guest agent for information (read-only)"),
                (Y, "runs a guest agent command not known to be read-only"))


def _virsh(w: list[str], piped: bool) -> RiskAssessment:
    return _agent_command(w, piped) if "qemu-agent-command" in w[1:3] else _verb_cli(w, piped)


HANDLERS: dict[str, Handler] = {**{tool: _verb_cli for tool in TOOLS}, "virsh": _virsh}
