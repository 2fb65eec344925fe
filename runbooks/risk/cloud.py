"""Cloud CLIs (aws, gcloud, az, gsutil): the first known verb after the service decides
(`describe-instances` reads, `stop-instances` changes, `terminate-instances` destroys). A command
run on instances (`aws ssm send-command`, `gcloud compute ssh --command`, `az vm run-command`) is
judged by what it runs, on every targeted instance at once when the target is a tag."""

from __future__ import annotations

import json
import re

from runbooks.risk import nested
from runbooks.risk.base import G, Handler, R, RiskAssessment, Rule, Y, assess, flag_values, group, matches, pos, via

CLOUD: dict[str, Rule] = {  # verbs of aws/gcloud/az/gsutil operations, matched whole or before the first `-`
    **group(G, "reads cloud resources (read-only)", "describe, list, get, show, ls, cat, du, stat, read, tail,"
            "wait, lookup, search, view, version, info, check, filter, query, test, simulate, estimate, validate,"
            "preview, print, whoami, what-if"),
    **group(Y, "takes instances out of a load balancer (reversible: register them again)", "deregister-targets,"
            "deregister-instances-from-load-balancer"),
    **group(Y, "changes cloud resources (reversible state change)", "create, update, put, set, modify, start, stop,"
            "restart, reboot, reset, resize, scale, add, remove, attach, detach, enable, disable, deploy, apply,"
            "patch, run, invoke, import, tag, untag, cp, mv, sync, rsync, mb, associate, disassociate, authorize,"
            "revoke, register, publish, send, rotate, upgrade, login, ssh, scp, copy, move, restore, rollback,"
            "promote, failover, replace, suspend, resume, cancel, approve, activate, configure, deallocate,"
            "execute, change, assign, unassign, increase, decrease, reimport, edit"),
    **group(R, "deletes cloud resources (irreversible)", "delete, terminate, destroy, purge, deregister, rm, rb,"
            "release, schedule-key-deletion, wipe"),
    **group(Y, "writes credentials to the local kubeconfig", "get-credentials, update-kubeconfig"),
}


def _remote_script(w: list[str]) -> str | None:
    """The shell a cloud CLI runs on instances, or None when it runs none."""
    if "send-command" in w:
        for value in flag_values(w, ("--parameters",)):
            found = re.search(r"commands\W*(\[.*?\])", value, re.DOTALL)
            try:
                lines = json.loads(found.group(1)) if found else []
            except ValueError:
                lines = re.findall(r"[\"']([^\"']+)[\"']", found.group(1))
            plain = re.search(r"commands=[\"']?([^\"'\[][^\"']*)", value) if not found else None
            if lines or plain:
                return "\n".join(str(line) for line in lines) if lines else plain.group(1)
    scripts = flag_values(w, ("--command",) if "ssh" in w else ("--scripts",) if "run-command" in w else ())
    return "\n".join(scripts) or None


def _cloud(w: list[str], piped: bool) -> RiskAssessment:
    """aws/gcloud/az/gsutil: the first known verb after the service or group (describe-*, list, delete) decides."""
    if (script := _remote_script(w)) is not None:
        inner, how = nested.run_shell(script), f"`{w[0]}` on instances"
        if matches(w[1:], ("--targets",)) and inner.risk == Y and re.search(r"stops|shuts|reboots", inner.reason):
            return RiskAssessment(risk=R, reason=f"{inner.reason}, on every instance with the tag at once (via {how})")
        return via(inner, how)
    words = pos(w[1:])
    for word in words[1:] if len(words) > 1 and w[0] != "gsutil" else words:
        rule = CLOUD.get(word) or CLOUD.get(word.split("-")[0])
        if rule and word == "purge" and {"cdn", "afd", "front-door"} & set(words):
            rule = (Y, "purges cached content (refilled from the origin)")
        if rule and word in ("sync", "rsync") and matches(w[1:], ("--delete", "-d")):
            rule = (R, "deletes destination objects missing from the source")
        if rule:
            return assess(w, *rule)
    return assess(w, Y, "runs an operation not known to be read-only")


HANDLERS: dict[str, Handler] = {"aws": _cloud}
