"""Tools whose subcommand decides (`systemctl restart`, `docker rm`, `git push`), flags that make a
subcommand worse, and the flags that turn a command into a dry run."""

from __future__ import annotations

from runbooks.risk import clis
from runbooks.risk.base import G, R, Rule, Y, flags, group

SYSTEMCTL: dict[str, Rule] = {
    **group(G, "shows service state (read-only)", "status, is-active, is-enabled, is-failed, show, list-units,"
            "list-unit-files, list-timers, list-sockets, list-dependencies, list-jobs, list-machines, cat,"
            "get-default, help, is-system-running, show-environment"),
    "": (G, "lists units (read-only)"),
    **group(Y, "restarts a service (reversible state change)", "restart, reload, try-restart, reload-or-restart,"
            "force-reload, condrestart, try-reload-or-restart"),
    "start": (Y, "starts a service (reversible state change)"),
    **group(Y, "stops a service (reversible, but it stays down until started)", "stop, kill"),
    **group(Y, "changes boot-time enablement (reversible state change)", "enable, disable, mask, unmask, preset,"
            "set-default, set-property, revert"),
    **group(Y, "reloads or resets systemd state (reversible)", "daemon-reload, daemon-reexec, reset-failed, edit"),
    **group(R, "powers off, reboots or isolates the host (wide blast radius)", "reboot, poweroff, halt, kexec,"
            "isolate, rescue, emergency, suspend, hibernate, soft-reboot"),
}
DOCKER: dict[str, Rule] = {
    **group(G, "reads container state (read-only)", "ps, logs, inspect, stats, images, version, info, top, port,"
            "diff, history, events, container ls, container inspect, container logs, image ls, image inspect,"
            "volume ls, volume inspect, network ls, network inspect, system df, system info, compose ps,"
            "compose logs, compose config, container list, image list, pod ps, pod inspect, search, healthcheck run,"
            "manifest inspect"),
    **group(Y, "changes container state (reversible state change)", "restart, start, stop, pause, unpause, run,"
            "create, pull, build, tag, cp, update, rename, exec, compose exec, compose up, compose restart,"
            "compose stop, compose start, compose pull, compose down, container restart, container start,"
            "container stop, login, logout, push, commit, save, load, import, export, network connect,"
            "network disconnect, network create, volume create, pod restart, pod stop, pod start"),
    "image prune": (Y, "removes dangling images (rebuilt or pulled again when needed)"),
    **group(R, "removes containers, images or volumes (irreversible)", "rm, rmi, system prune, volume rm, image rm,"
            "volume prune, container rm, container prune, network rm, compose rm,"
            "pod rm, network prune, system reset, pod prune"),
    "kill": (R, "sends SIGKILL to containers (no clean shutdown)"),
    **group(G, "reads swarm state (read-only)", "service ls, service ps, service inspect, service logs, node ls,"
            "node ps, node inspect, stack ls, stack ps, stack services, swarm ca, secret ls, config ls"),
    **group(Y, "changes swarm services (reversible state change)", "service scale, service update, service rollback,"
            "service create, stack deploy, node update, swarm join, swarm init, swarm leave, swarm update"),
    **group(R, "removes swarm services, stacks or nodes (irreversible)", "service rm, stack rm, node rm, secret rm,"
            "config rm, swarm leave --force"),
    "builder prune": (Y, "removes build cache (rebuilt when needed)"),
}
CRICTL: dict[str, Rule] = {
    **group(G, "reads container state (read-only)", "ps, pods, logs, inspect, inspectp, inspecti, images, img,"
            "stats, statsp, info, version, imagefsinfo, config"),
    **group(Y, "changes container state (reversible state change)", "stop, stopp, start, exec, pull, update,"
            "runp, create, run"),
    "rmp": (Y, "removes a pod sandbox (the kubelet recreates the pods it still wants)"),
    "rmi": (Y, "removes images (pulled again from the registry when needed)"),
    "rm": (R, "removes containers (their writable layer is lost)"),
}
HELM: dict[str, Rule] = {
    **group(G, "reads release state (read-only)", "list, ls, status, get, history, show, search, version, template,"
            "lint, env, verify, repo list, dependency list, diff"),
    **group(Y, "changes a release (reversible via rollback)", "upgrade, install, rollback, repo add, repo update,"
            "pull, test, dependency update, dependency build, repo remove, plugin install"),
    **group(R, "uninstalls a release and deletes its resources", "uninstall, delete, del, un"),
}
GIT: dict[str, Rule] = {
    **group(G, "reads repository state (read-only)", "status, log, diff, show, blame, grep, ls-files, ls-remote,"
            "rev-parse, describe, shortlog, reflog, remote, branch, tag, stash list, stash show, cat-file, ls-tree,"
            "rev-list, whatchanged, for-each-ref, show-ref, fetch,"
            "name-rev, merge-base, count-objects, fsck, verify-commit, verify-tag, help, version, cherry"),
    **group(Y, "changes the working tree or refs (reversible state change)", "pull, checkout, switch, merge,"
            "rebase, commit, add, restore, stash, cherry-pick, revert, clone, init, push, am, apply, mv, rm,"
            "reset, clean, config, submodule, stash pop, stash apply, stash push, worktree, notes, bisect, gc"),
    **group(R, "discards stashed work irreversibly", "stash drop, stash clear"),
}
PACKAGES: dict[str, Rule] = {
    **group(G, "queries packages (read-only)", "list, show, search, policy, info, check-update, provides, freeze,"
            "repolist, madison, depends, rdepends, history, check, whatprovides, repoquery, changelog,"
            "updateinfo, deplist, inspect, audit, outdated, ls, why, view, config get, config list, config ls,"
            "config debug"),
    **group(Y, "installs, updates or uninstalls packages (reversible state change)", "install, upgrade, update,"
            "reinstall, downgrade, dist-upgrade, full-upgrade, makecache, clean, uninstall, download, add,"
            "localinstall, groupinstall, distro-sync, fix, history undo, history redo, history rollback, audit fix"),
    **group(R, "removes packages (can cascade to dependants)", "remove, purge, autoremove, erase, del"),
}
TERRAFORM: dict[str, Rule] = {
    **group(G, "reads infrastructure state (read-only)", "plan, show, output, validate, version, providers, graph,"
            "state list, state show, state pull, workspace list, workspace show, console"),
    **group(Y, "changes infrastructure (reversible state change)", "apply, init, import, refresh, taint, untaint,"
            "state mv, workspace select, workspace new, fmt, state push, force-unlock"),
    **group(R, "destroys infrastructure or state (irreversible)", "destroy, state rm, workspace delete"),
}
UFW: dict[str, Rule] = {
    **group(G, "shows firewall state (read-only)", "status, version, app list, show"),
    **group(Y, "changes firewall rules (reversible state change)", "allow, deny, reject, limit, enable, reload,"
            "delete, insert, route, default, logging"),
    **group(R, "disables or resets the firewall (wide blast radius)", "disable, reset"),
}
NFT: dict[str, Rule] = {
    "list": (G, "lists firewall rules (read-only)"),
    **group(Y, "changes firewall rules (reversible state change)", "add, insert, replace, create"),
    **group(R, "flushes or deletes firewall rules (can cut off traffic)", "flush, delete, destroy"),
}
CERTBOT: dict[str, Rule] = {
    **group(G, "lists certificates (read-only)", "certificates, plugins, show_account"),
    **group(Y, "obtains or renews certificates (reversible state change)", "renew, certonly, run, install, enhance,"
            "update_symlinks, register, update_account, reconfigure"),
    **group(R, "revokes or deletes certificates (irreversible)", "revoke, delete, unregister"),
}
BACKUPS: dict[str, Rule] = {  # pgbackrest and wal-g
    **group(G, "reads backup state (read-only)", "info, check, version, help, backup-list, wal-show, wal-verify,"
            "st ls, st cat"),
    **group(Y, "takes or copies a backup (reversible state change)", "backup, backup-push, wal-push, archive-push,"
            "stanza-create, stanza-upgrade, start, stop, backup-fetch, wal-fetch, archive-get"),
    **group(R, "restores over data or deletes backups (irreversible)", "restore, expire, delete, stanza-delete,"
            "backup-mark, wal-receive"),
}
RESTIC: dict[str, Rule] = {
    **group(G, "reads the backup repository (read-only)", "snapshots, ls, stats, check, diff, find, cat, version,"
            "list, key list"),
    **group(Y, "takes, copies or restores a backup (reversible state change)", "backup, init, copy, tag, mount,"
            "restore, rebuild-index, unlock, key add"),
    **group(R, "deletes snapshots from the backup repository (irreversible)", "forget, prune, key remove"),
}
GH: dict[str, Rule] = {
    **group(G, "reads GitHub (read-only)", "pr view, pr list, pr status, pr diff, pr checks, issue view, issue list,"
            "issue status, run list, run view, run watch, repo view, release list, release view, workflow list,"
            "workflow view, search, status, auth status, browse, cache list, secret list, variable list, label list,"
            "api"),
    **group(Y, "changes GitHub state (reversible state change)", "pr create, pr merge, pr close, pr reopen,"
            "pr comment, pr review, pr edit, pr checkout, issue create, issue close, issue comment, issue edit,"
            "run rerun, run cancel, workflow run, workflow enable, workflow disable, release create, repo clone,"
            "repo fork, repo create, repo edit, label create, secret set, variable set"),
    **group(R, "deletes from GitHub (irreversible)", "repo delete, release delete, secret delete, run delete,"
            "cache delete, label delete, issue delete"),
}
PULUMI: dict[str, Rule] = {
    **group(G, "reads infrastructure state (read-only)", "preview, stack ls, stack output, stack history, whoami,"
            "about, version, config get, logs, stack export, plugin ls, config, stack"),
    **group(Y, "changes infrastructure (reversible state change)", "up, update, refresh, import, stack init,"
            "stack select, config set, login, plugin install"),
    **group(R, "destroys infrastructure or its state (irreversible)", "destroy, stack rm, state delete, cancel"),
}
STEP: dict[str, Rule] = {
    **group(G, "inspects certificates (read-only)", "certificate inspect, certificate verify, certificate lint,"
            "ca health, ca roots, ca federation, crypto jwt inspect, version"),
    **group(R, "revokes a certificate (irreversible)", "ca revoke"),
}
RABBITMQ_DIAGNOSTICS: dict[str, Rule] = {
    **group(G, "checks the broker (read-only)", "status, ping, check_running, check_alarms, check_local_alarms,"
            "check_port_connectivity, check_virtual_hosts, check_port_listener, check_protocol_listener,"
            "cluster_status, listeners, alarms, memory_breakdown, server_version, runtime_thread_stats,"
            "check_if_node_is_quorum_critical, check_if_node_is_mirror_sync_critical, check_certificate_expiration"),
}
TC: dict[str, Rule] = {
    **group(G, "shows traffic control (read-only)", "qdisc show, class show, filter show, qdisc ls, class ls,"
            "filter ls, monitor, show, ls, list"),
    **group(Y, "changes traffic control (reversible state change)", "qdisc add, qdisc change, qdisc replace,"
            "qdisc del, qdisc delete, class add, class change, class del, filter add, filter del, filter replace"),
}
SUBCOMMANDS: dict[str, dict[str, Rule]] = {
    "systemctl": SYSTEMCTL, "docker": DOCKER, "crictl": CRICTL, "helm": HELM, "git": GIT,
    "apt-get": PACKAGES, "pip": PACKAGES, "terraform": TERRAFORM, "ufw": UFW, "nft": NFT,
    "brew": PACKAGES, "snap": PACKAGES, "npm": PACKAGES, "gem": PACKAGES,
    "certbot": CERTBOT, "pgbackrest": BACKUPS, "wal-g": BACKUPS, "restic": RESTIC, "gh": GH, "pulumi": PULUMI,
    "step": STEP, "rabbitmq-diagnostics": RABBITMQ_DIAGNOSTICS, "tc": TC,
    "terragrunt": {**TERRAFORM, **{f"run-all {sub}": rule for sub, rule in TERRAFORM.items()}},
}
EXECUTORS = {"docker", "crictl"}  # `TOOL exec TARGET CMD` runs CMD: classify CMD (kubectl has its own handler)
EXEC_VALUE_FLAGS = flags("-c -n -u -e -w --container --namespace --user --env --workdir --env-file --context")
ESCALATE: dict[str, list[tuple[tuple[str, ...], Rule]]] = {  # "tool subcommand" -> flags that make it worse
    "git push": [(("--force", "-f", "--force-with-lease", "--mirror", "--delete", "-d"),
                  (R, "force-pushes or deletes remote refs (rewrites shared history)"))],
    "git reset": [(("--hard",), (R, "discards uncommitted changes irreversibly"))],
    "git clean": [(("-f", "--force"), (R, "deletes untracked files irreversibly"))],
    "git checkout": [(("-f", "--force", "."), (R, "discards uncommitted changes irreversibly"))],
    "git branch": [(("-D",), (R, "force-deletes a branch")), (("-d", "--delete", "-m", "-M"), (Y, "edits branches"))],
    "git tag": [(("-d", "--delete", "-a", "-s", "-f"), (Y, "creates or deletes tags"))],
    "git remote": [(("add", "remove", "rm", "set-url", "rename", "prune"), (Y, "changes remotes"))],
    "systemctl kill": [(("-s KILL", "-s 9", "-s SIGKILL", "--signal=KILL", "--signal=9", "--signal=SIGKILL"),
                        (R, "sends SIGKILL to the service (no clean shutdown)"))],
    "docker compose down": [(("-v", "--volumes"), (R, "also deletes the project's volumes"))],
    "docker run": [(("--privileged", "--pid=host", "--net=host", "--network=host"),
                    (Y, "runs a privileged container (reversible, but it can reach the host)"))],
    "terraform apply": [(("-destroy",), (R, "destroys managed infrastructure"))],
    "helm upgrade": [(("--force",), (R, "force-replaces resources (deletes and recreates them)"))],
    "docker image prune": [(("-a", "--all"), (R, "removes every unused image, not only dangling ones"))],
    "docker swarm leave": [(("--force", "-f"), (R, "forces a manager out of the swarm (can lose the raft quorum)"))],
    "crictl rmi": [(("-a", "--all"), (R, "removes every image on the node"))],
    "crictl rmp": [(("-a", "--all"), (R, "removes every pod sandbox on the node"))],
    "gh api": [(("-X DELETE", "--method DELETE", "--method=DELETE", "-XDELETE"), (R, "sends an HTTP DELETE to GitHub")),
               (("-X POST", "-X PUT", "-X PATCH", "--method POST", "--method PUT", "--method PATCH", "--method=POST",
                 "--method=PUT", "--method=PATCH", "-f", "-F", "--field", "--raw-field", "--input"),
                (Y, "sends a request that changes GitHub state"))],
}
DRY_RUN: dict[str, tuple[str, ...]] = {  # `--dry-run=none` is not a dry run: `matches` ignores it
    "kubectl": ("--dry-run",), "helm": ("--dry-run",), "rsync": ("-n", "--dry-run"), "git": ("--dry-run",),
    "apt-get": ("-s", "--simulate", "--dry-run", "--no-act"), "aws": ("--dry-run", "--dryrun"), "pip": ("--dry-run",),
    "make": ("-n", "--dry-run", "--just-print"), "ansible-playbook": ("--check", "-C"), "logrotate": ("-d", "--debug"),
    "terraform": ("-dry-run", "-check"), "restic": ("--dry-run", "-n"), "certbot": ("--dry-run",),
    "pulumi": ("--preview-only",), **clis.DRY_RUN,
}
