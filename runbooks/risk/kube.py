"""kubectl and oc: the subcommand decides (`get` reads, `patch` changes, `delete` destroys), flags can make
it worse (`--replicas=0`, finalizers, NoExecute taints), and `exec`, `rsh` and `debug` are classified by the
command they run inside the pod or node."""

from __future__ import annotations

import re

from runbooks.risk import nested
from runbooks.risk.base import (
    G, Handler, R, RiskAssessment, Rule, Y, assess, find_sub, flags, group, matches, positionals, via, worst_of,
)

READ = "reads cluster state (read-only)"
KUBECTL: dict[str, Rule] = {
    **group(G, READ, "get, describe, logs, log, top, explain, version, api-resources, api-versions, cluster-info,"
            "auth can-i, auth whoami, config view, config get-contexts, config get-clusters, config current-context,"
            "diff, wait, rollout status, rollout history, events, port-forward, proxy, kustomize, whoami, projects,"
            "status, adm top, adm node-logs, adm policy who-can, adm release info, adm wait-for-stable-cluster,"
            "policy who-can, policy scc-subject-review, policy scc-review, sa get-token, serviceaccounts get-token,"
            "get-token, completion, plugin list, image info, adm upgrade recommend, adm upgrade status, process,"
            "dev_tool audit, adm inspect, adm must-gather, alpha events, krew list, neat, tree, view-secret,"
            "get-all, ctx, ns, adm verify-image-signature, adm build-chain, help"),
    "adm upgrade": (G, "shows the cluster version and available updates (read-only)"),
    "create token": (G, "requests a short-lived token for an API query (nothing is stored)"),
    **group(Y, "changes cluster state (reversible state change)", "apply, patch, set, edit, label, annotate, scale,"
            "autoscale, taint, create, run, expose, cp, replace, rollout undo, rollout pause, attach, project,"
            "rollout resume, certificate approve, certificate deny, config use-context, config set-context,"
            "adm taint, adm certificate approve, adm certificate deny, adm policy, policy, adm new-project,"
            "new-project, new-app, new-build, start-build, cancel-build, import-image, tag, sa new-token,"
            "serviceaccounts new-token, secrets link, secrets unlink, adm groups, adm pod-network,"
            "adm upgrade channel, adm upgrade accept, rollout retry, rollout latest, rollout cancel, login, logout,"
            "registry login, adm copy-to-node, adm restart-kubelet, config set, config set-credentials,"
            "config delete-context, auth reconcile, extract, adm release extract, adm release mirror, image mirror,"
            "apply edit-last-applied, apply set-last-applied, adm node-image, observe"),
    "rollout restart": (Y, "restarts the workload's pods (reversible state change)"),
    **group(Y, "changes node schedulability (reversible)", "cordon, uncordon, adm cordon, adm uncordon"),
    **group(R, "deletes cluster resources (irreversible)", "delete, adm prune, adm ocp-certificates"),
    **group(R, "evicts every pod from the node (wide blast radius)", "drain, adm drain"),
    "adm reboot-machine-config-pool": (R, "reboots every node of a pool (wide blast radius)"),
}
ESCALATE: dict[str, list[tuple[tuple[str, ...], Rule]]] = {
    "scale": [(("--replicas=0", "--replicas 0"), (R, "scales the workload to zero replicas (outage)"))],
    "replace": [(("--force",), (R, "force-replaces resources (deletes and recreates them)"))],
    "apply": [(("--prune",), (R, "prunes (deletes) resources missing from the manifests")),
              (("--force",), (R, "force-replaces resources (deletes and recreates them)"))],
    "adm upgrade": [(("--to", "--to-latest", "--to-image", "--to-multi-arch", "--allow-explicit-upgrade"),
                     (R, "updates the cluster version (OpenShift cannot be downgraded)")),
                    (("--clear",), (Y, "cancels a requested update"))],
}
_POD_FLAGS = flags("-c -n --container --namespace --context --kubeconfig -f --filename --image --as --profile"
                   " --target --copy-to --node-name --to-namespace -l --selector --shell --timeout -p --pod")


def _rule(sub: str, w: list[str]) -> RiskAssessment:
    rule = KUBECTL.get(sub) or (Y, f"has subcommand `{sub or '(none)'}`, not known to be read-only")
    parts = [assess(w, *rule)] + [assess(w, *r) for names, r in ESCALATE.get(sub, []) if matches(w[1:], names)]
    if sub == "patch" and re.search(r"\bfinalizers\b", " ".join(w)):
        parts.append(assess(w, R, "removes finalizers (the resource is deleted without its cleanup)"))
    if sub == "patch" and re.search(r"\b(mcp|machineconfigpools?)\b", " ".join(w[:5])) and re.search(
            r"\"?paused\"?\s*:\s*false|/spec/paused\"?\s*,\s*\"value\"\s*:\s*false", " ".join(w)):
        parts.append(assess(w, R, "unpauses a MachineConfigPool (its nodes drain and reboot one by one)"))
    if any(a.rstrip("/").endswith("/finalize") for a in w):
        parts.append(assess(w, R, "force-finalizes the resource (deleted without its cleanup)"))
    if sub in ("taint", "adm taint") and any(re.search(r":NoExecute$", a) for a in w):
        parts.append(assess(w, R, "adds a NoExecute taint (evicts every pod that does not tolerate it)"))
    if sub in ("extract", "adm release extract") and matches(w[1:], ("--to=-", "--to -")):
        parts = [assess(w, G, "prints the extracted data (read-only)")]
    if sub == "project" and not positionals(w[2:]):
        parts = [assess(w, G, "shows the current project (read-only)")]
    if (healed := _self_healing(sub, w)) is not None:
        parts = [healed]
    return worst_of(parts, parts[0])


WIDE = ("--all", "-A", "--all-namespaces", "-l", "--selector", "--field-selector", "-f", "--filename", "-k", "-R")
FORCED = ("--force", "--grace-period=0", "--grace-period 0", "--now", "--disable-eviction", "--cascade=orphan")


def _self_healing(sub: str, w: list[str]) -> RiskAssessment | None:
    """One named pod deleted, or one node drained: the cluster heals itself (a controller recreates
    the pod, the node's pods are rescheduled and `uncordon` undoes the drain). Yellow, unless the
    command widens (all, a selector, files) or forces (no grace, eviction or cascade bypassed)."""
    if sub not in ("delete", "drain", "adm drain") or matches(w[1:], WIDE) or matches(w[1:], FORCED):
        return None
    after = positionals(w[1:])[len(sub.split()):]
    if sub == "delete":
        names = after[1:] if after and after[0] in ("pod", "pods", "po") else \
            [a.split("/", 1)[1] for a in after if a.startswith(("pod/", "pods/", "po/"))] if len(after) == 1 else []
        if len(names) == 1 and not names[0].startswith(("$", "`")) and "$(" not in names[0]:
            return assess(w, Y, "deletes one pod: its controller (Deployment, StatefulSet, DaemonSet) recreates it")
        return None
    if len(after) == 1:
        return assess(w, Y, "drains one node: its pods are rescheduled elsewhere (`uncordon` undoes it)")
    return None


def _inside(w: list[str], sub: str) -> RiskAssessment:
    """`exec POD -- CMD`, `rsh POD CMD`, `debug node/X -- CMD`: the inner command decides; none opens a shell."""
    start = w.index(sub, 1) + 1
    inner: list[str] = []
    if "--" in w[start:]:
        inner = w[w.index("--", start) + 1 :]
    elif sub != "debug":  # `exec POD CMD...` (the old form) and `rsh POD CMD...`: CMD starts at the 2nd positional
        seen, i = 0, start
        while i < len(w) and not inner:
            if w[i].startswith("-") and w[i] != "-":
                i += 2 if w[i] in _POD_FLAGS else 1
                continue
            seen, i = seen + 1, i + 1
            inner = w[i - 1 :] if seen == 2 else []
    if not inner:
        what = "opens a debug shell (a privileged pod, not inspected)" if sub == "debug" else \
            "opens an interactive shell in a pod (not inspected)"
        return assess(w, Y, what)
    return via(nested.command(inner, False), f"`{w[0]} {sub}`")


def _kubectl(w: list[str], piped: bool) -> RiskAssessment:
    args = w[1:]
    sub = find_sub(args, KUBECTL)
    if sub in ("exec", "rsh", "debug"):
        return _inside(w, sub)
    if sub in ("run",) and "--rm" in args and "--" in args:  # a throwaway pod: the command it runs decides
        inner = args[args.index("--") + 1 :]
        return via(nested.command(inner, False), f"`{w[0]} run --rm`") if inner else assess(w, Y, "runs a pod")
    return _rule(sub, w)


def _replicas(w: list[str]) -> str | None:
    """The `--replicas` value of a `kubectl|oc scale` command, else None."""
    if not w or w[0] not in ("kubectl", "oc") or "scale" not in w:
        return None
    for i, a in enumerate(w):
        if a.startswith("--replicas="):
            return a.split("=", 1)[1]
        if a == "--replicas" and i + 1 < len(w):
            return w[i + 1]
    return None


def _target(w: list[str]) -> list[str]:
    return [a for i, a in enumerate(w) if not a.startswith("--replicas") and not (i and w[i - 1] == "--replicas")]


def compensate(steps: list[tuple[list[str], RiskAssessment]]) -> list[RiskAssessment]:
    """`scale X --replicas=0` followed by `scale X --replicas=N`: a restart with a short outage, not red."""
    out = [a for _, a in steps]
    for i, (w, a) in enumerate(steps):
        if a.risk == R and _replicas(w) == "0" and any(
                _replicas(v) not in (None, "0") and _target(v) == _target(w) for v, _ in steps[i + 1 :]):
            out[i] = assess(w, Y, "scales the workload to zero and back up (a restart with a short outage)")
    return out


HANDLERS: dict[str, Handler] = {"kubectl": _kubectl}
