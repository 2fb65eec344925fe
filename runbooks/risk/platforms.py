"""Subcommand tables of verb-style platform CLIs, for `runbooks.risk.verbs`: where the verb alone would
mislead (`etcdctl defrag`, `ceph osd set pause`, `velero restore get`) or says nothing (`virsh dominfo`)."""

from __future__ import annotations

from runbooks.risk import clis
from runbooks.risk.base import G, R, Rule, Y, flags, group

READ = "only reads (read-only)"
QUORUM = "changes cluster membership (can lose quorum)"
ETCDCTL: dict[str, Rule] = {
    **group(G, READ, "version, get, watch, endpoint health, endpoint status, endpoint hashkv, member list, alarm list,"
            "snapshot status, lease list, lease timetolive, user list, role list, auth status"),
    "defrag": (Y, "defragments the etcd database (the member pauses while it runs; nothing is lost)"),
    "alarm disarm": (Y, "clears etcd alarms (reversible)"),
    "snapshot save": (Y, "writes an etcd snapshot file"),
    **group(Y, "changes etcd state (reversible state change)", "put, member add, member update, member promote,"
            "move-leader, auth enable, auth disable, lock, elect, txn, make-mirror, lease grant, lease keep-alive,"
            "check perf, check datascale, user add, role add, user grant-role, role grant-permission"),
    **group(R, QUORUM, "member remove"),
    "snapshot restore": (R, "restores etcd from a snapshot (replaces the cluster's data)"),
    **group(R, "deletes keys or history irreversibly", "del, compact, compaction, lease revoke, user delete,"
            "role delete"),
}
CEPH: dict[str, Rule] = {
    **group(G, READ, "status, health, health detail, df, osd tree, osd df, osd dump, osd status, osd perf,"
            "osd pool ls, osd pool stats, osd pool get, osd pool get-quota, osd pool autoscale-status, osd find,"
            "osd metadata, osd blocked-by, osd utilization, osd ls, osd stat, mon stat, mon dump, quorum_status,"
            "versions, fs status, fs ls, fs dump, mds stat, pg stat, pg dump, pg ls, pg dump_stuck, pg query,"
            "crash ls, crash info, crash stat, config dump, config get, config show, mgr services, mgr module ls,"
            "balancer status, auth get, auth ls, auth list, log last, daemon ops, tell mon_status, orch ps, orch ls,"
            "orch host ls, orch status, time-sync-status, device ls, osd crush tree, osd crush dump, report,"
            "osd pool ls detail, progress, iostat, osd ok-to-stop, osd safe-to-destroy, mon ok-to-stop,"
            "mds ok-to-stop"),
    **group(Y, "changes Ceph state (reversible state change)", "osd out, osd in, osd down, osd set, osd unset,"
            "osd reweight, osd crush reweight, osd pool set, osd pool set-quota, osd pool create, osd pool rename,"
            "osd pool application enable, config set, pg repair, pg scrub, pg deep-scrub, mgr fail, fs fail,"
            "mgr module enable, mgr module disable, balancer on, balancer off, crash archive, crash archive-all,"
            "tell injectargs, tell compact, orch restart, orch apply, orch daemon restart, osd pool mksnap,"
            "mon add, osd primary-affinity, osd set-full-ratio, osd set-nearfull-ratio, osd pool set size"),
    **group(R, "halts client I/O across the cluster (outage)", "osd set pause, osd set full"),
    "osd lost": (R, "declares an OSD lost (its unreplicated data is given up)"),
    **group(R, "deletes pools, OSDs, keys or file systems (irreversible)", "osd pool delete, osd pool rm, osd purge,"
            "osd destroy, osd rm, osd crush remove, osd crush rm, auth del, auth rm, fs rm, mon remove, mon rm,"
            "pg force-create-pg, osd pool rmsnap, orch host rm, orch daemon rm, orch rm, osd purge-new,"
            "crash prune, fs volume rm, osd force-create-pg"),
}
RADOS: dict[str, Rule] = {
    **group(G, READ, "df, lspools, ls, stat, listomapkeys, listomapvals, getxattr, listxattr, list-inconsistent-obj,"
            "list-inconsistent-snapset, listwatchers"),
    "get": (Y, "writes an object to a local file"),
    "bench": (Y, "writes benchmark objects (load on the cluster)"),
    **group(R, "deletes objects or pools (irreversible)", "rm, purge, rmpool, cleanup, truncate, rmomapkey, rmxattr"),
}
RBD: dict[str, Rule] = {
    **group(G, READ, "ls, list, info, status, du, snap ls, snap list, showmapped, device list, trash ls, diff,"
            "mirror image status, mirror pool status, watchers"),
    **group(Y, "changes block images (reversible state change)", "create, resize, map, unmap, device map,"
            "device unmap, snap create, snap protect, snap unprotect, trash mv, trash move, flatten, feature enable,"
            "feature disable, import, export, clone, lock remove, mirror image promote, mirror image demote"),
    "snap rollback": (R, "rolls the image back to a snapshot (later writes are lost)"),
    **group(R, "deletes block images or snapshots (irreversible)", "rm, remove, snap rm, snap remove, snap purge,"
            "trash rm, trash remove, trash purge"),
}
RGW: dict[str, Rule] = {
    **group(G, READ, "bucket list, bucket stats, user info, user list, user stats, zone get, zonegroup get,"
            "period get, bucket limit check, gc list, sync status, bucket check, metadata list, realm list"),
    **group(Y, "changes object gateway state (reversible state change)", "user create, user modify, user suspend,"
            "user enable, bucket link, bucket unlink, quota set, quota enable, quota disable, gc process,"
            "period update, key create, subuser create, bucket reshard"),
    **group(R, "deletes buckets, users or objects (irreversible)", "bucket rm, user rm, object rm, key rm,"
            "subuser rm"),
}
AMTOOL: dict[str, Rule] = {
    **group(G, "reads alerts, silences or configuration (read-only)", "alert, alert query, silence, silence query,"
            "check-config, config, config show, config routes, config routes show, config routes test,"
            "template render, cluster show"),
    "alert add": (Y, "fires an alert (notifications go out)"),
    "silence add": (Y, "adds a silence (alerts stop notifying; reversible by expiring it)"),
    **group(Y, "changes silences (reversible)", "silence expire, silence import, silence update"),
}
PROMTOOL: dict[str, Rule] = {
    **group(G, "checks, queries or inspects (read-only)", "check, query, test rules, tsdb list, tsdb analyze,"
            "tsdb dump, tsdb dump-openmetrics, promql format, promql label-matchers"),
    **group(Y, "writes data, archives or load", "tsdb create-blocks-from, tsdb bench, push metrics, debug,"
            "promql label-matchers set, promql label-matchers delete"),
}
VIRTCTL: dict[str, Rule] = {
    **group(G, READ, "guestosinfo, fslist, userlist, version, expand, port-forward, create"),
    "stop": (Y, "stops the VM (reversible: start it again)"),
    "migrate": (Y, "live-migrates the VM to another node (reversible)"),
    **group(Y, "changes the VM's state (reversible state change)", "start, restart, pause, unpause, soft-reboot,"
            "migrate-cancel, image-upload, addvolume, removevolume, memory-dump, credentials, usbredir, adm"),
    **group(Y, "opens an interactive session on the VM (not inspected)", "console, vnc, ssh, scp"),
}
VELERO: dict[str, Rule] = {
    **group(G, READ, "backup get, backup describe, backup logs, restore get, restore describe, restore logs,"
            "schedule get, schedule describe, backup-location get, snapshot-location get, version, get, describe,"
            "plugin get, repo get, debug"),
    "backup create": (Y, "creates a backup (writes to object storage; the cluster is only read)"),
    "restore create": (Y, "restores resources from a backup (creates the missing objects)"),
    **group(Y, "changes backups or schedules (reversible state change)", "schedule create, schedule pause,"
            "schedule unpause, backup-location set, backup-location create, install, plugin add, plugin remove,"
            "backup download, snapshot-location create"),
    **group(R, "deletes backups, restores or schedules (irreversible)", "backup delete, restore delete,"
            "schedule delete, backup-location delete, uninstall"),
}
VIRSH: dict[str, Rule] = {
    **group(G, READ, "list, dominfo, dumpxml, domstate, domblklist, domiflist, domifstat, domblkstat, nodeinfo,"
            "version, capabilities, vcpuinfo, domstats, net-list, pool-list, vol-list, domblkinfo, domjobinfo,"
            "domcontrol, domfsinfo, domhostname, domifaddr, guestinfo, snapshot-list, dommemstat, uri, hostname"),
    "shutdown": (Y, "shuts the VM down gracefully (reversible: start it)"),
    **group(Y, "changes the VM (reversible state change)", "start, reboot, suspend, resume, setmem, setvcpus,"
            "edit, define, migrate, attach-disk, detach-disk, attach-interface, detach-interface,"
            "snapshot-create-as, snapshot-create, console, autostart, pool-destroy, net-destroy, managedsave"),
    "destroy": (R, "forcibly powers the VM off (like pulling the plug)"),
    "undefine": (R, "deletes the VM definition (with --remove-all-storage, its disks too)"),
    "snapshot-revert": (R, "reverts the VM to a snapshot (later changes are lost)"),
    **group(R, "deletes volumes, pools or snapshots (irreversible)", "vol-delete, vol-wipe, pool-delete,"
            "snapshot-delete"),
}
OVN_NBCTL: dict[str, Rule] = {
    **group(G, READ, "show, list, find, get, lr-list, ls-list, lsp-list, lrp-list, lr-route-list, lr-nat-list,"
            "lb-list, acl-list, lsp-get-addresses, lsp-get-up"),
    "sync": (Y, "waits for the database to catch up (reversible)"),
}
OVS_VSCTL: dict[str, Rule] = {
    **group(G, READ, "show, list, list-br, list-ports, list-ifaces, find, get, br-exists, port-to-br, iface-to-br"),
    "emer-reset": (R, "resets the whole Open vSwitch configuration (cuts traffic)"),
}
APPCTL: dict[str, Rule] = {
    "exit": (Y, "stops the daemon (it is restarted by its supervisor)"),
    **group(R, "removes the server from the Raft cluster (can lose quorum)", "cluster/leave, cluster/kick"),
    "cluster/compact": (Y, "compacts the database log (maintenance, nothing is lost)"),
    **group(G, READ, "ofproto/trace, list-commands, version, dpctl/dump-flows, dpif/dump-flows"),
}
RPM_OSTREE: dict[str, Rule] = {
    **group(G, READ, "status, db, db diff, kargs"),
    "rebase": (Y, "rebases the node's OS image (takes effect on reboot; `rpm-ostree rollback` undoes it)"),
    **group(Y, "changes the node's OS deployments (reversible with rollback)", "upgrade, rollback, deploy, install,"
            "uninstall, override, cleanup, reset, initramfs, refresh-md, cancel, usroverlay, apply-live"),
}
SIMPLE_STATUS: dict[str, dict[str, Rule]] = {
    "crio": {**group(G, READ, "status, config, version, check"), "wipe": (R, "wipes container storage")},
    "chronyc": {**group(G, READ, "tracking, sources, sourcestats, activity, ntpdata, serverstats, clients"),
                "makestep": (Y, "steps the system clock (time jumps)")},
    "timedatectl": {"": (G, "shows time settings (read-only)"),
                    **group(G, READ, "status, show, list-timezones, timesync-status, show-timesync")},
    "hostnamectl": {"": (G, "shows the hostname (read-only)"), "set-hostname": (Y, "sets the hostname")},
    "resolvectl": {"": (G, "shows DNS settings (read-only)"), "flush-caches": (Y, "flushes DNS caches (refilled)")},
    "nmcli": {"": (G, "shows network status (read-only)"),
              **group(G, READ, "general, general status, device, device status, device show, dev, dev status,"
                      "dev show, connection, connection show, con show, con, radio, networking, monitor, d, c, g"),
              **group(Y, "changes network connections (can cut the host off the network)", "con down, connection"
                      " down, device disconnect, dev disconnect, con up, connection up, con mod, con modify,"
                      "connection modify, con reload, connection reload, device reapply, dev reapply"),
              "networking off": (R, "disables all networking (cuts the host off)")},
    "mysqladmin": {**group(G, READ, "status, processlist, variables, extended-status, ping, version"),
                   **group(R, "shuts down the server or drops a database", "shutdown, drop"),
                   "password": (R, "changes a password (credentials)")},
    "ocm": {**group(G, READ, "list, get, describe, whoami, version, token, config get"), "post": (Y, "sends a POST")},
    "kubeadm": {**group(G, READ, "version, token list, certs check-expiration, config print, upgrade plan"),
                "upgrade apply": (R, "upgrades the control plane (cannot be downgraded)"),
                "reset": (R, "wipes the node's Kubernetes state")},
}
PLATFORM_MISC: dict[str, dict[str, Rule]] = {
    "vault": {**group(G, READ, "status, read, list, kv get, kv list, kv metadata get, token lookup, auth list,"
                      "secrets list, policy read, policy list, operator raft list-peers, operator members,"
                      "token capabilities, operator key-status, audit list"),
              "token revoke": (Y, "revokes one token (its holder logs in again)"),
              **group(R, "rotates the barrier key or creates a root token", "operator rotate,"
                      "operator generate-root"),
              "kv delete": (Y, "soft-deletes the latest secret version (recoverable with `kv undelete`)"),
              **group(R, "destroys secrets or cuts access (irreversible or wide blast radius)", "kv destroy,"
                      "kv metadata delete, delete, operator seal, operator raft remove-peer, secrets disable,"
                      "auth disable, policy delete")},
    "argocd": {**group(G, READ, "app list, app get, app diff, app history, app logs, app manifests, app resources,"
                       "app wait, cluster list, repo list, proj list, version, account get-user-info"),
               "app sync": (Y, "syncs the application (applies its manifests)"),
               **group(R, "deletes applications or resources", "app delete, app delete-resource")},
    "flux": {**group(G, READ, "get, check, logs, events, stats, tree, trace, diff, export, version"),
             "reconcile": (Y, "forces a reconciliation (applies the desired state)"),
             **group(R, "deletes resources or uninstalls Flux", "delete, uninstall")},
    "nodetool": {**group(G, READ, "status, info, tpstats, compactionstats, netstats, ring, describecluster,"
                         "gossipinfo, cfstats, tablestats, proxyhistograms, tablehistograms, version"),
                 **group(Y, "runs node maintenance (reversible)", "repair, cleanup, compact, flush, snapshot,"
                         "drain, upgradesstables, scrub, rebuild, stopdaemon"),
                 **group(R, "removes a node or data from the ring (irreversible)", "decommission, removenode,"
                         "assassinate, truncatehints, clearsnapshot")},
    "rabbitmqctl": {**group(G, READ, "status, cluster_status, environment, report, node_health_check, ping,"
                            "await_startup"),
                    **group(R, "wipes node state or messages (irreversible)", "reset, force_reset,"
                            "forget_cluster_node")},
    "consul": {**group(G, READ, "members, info, monitor, catalog services, catalog nodes, operator raft list-peers,"
                       "kv get, kv export"),
               "leave": (Y, "makes the agent leave the cluster gracefully"),
               **group(R, "deletes keys, peers or state", "kv delete, operator raft remove-peer, snapshot restore")},
    "nomad": {**group(G, READ, "status, job status, node status, alloc status, alloc logs, job inspect, job plan,"
                      "var get, var list"),
              "job stop": (Y, "stops the job (reversible: run it again)"),
              "node drain": (R, "drains the node (evicts every allocation)")},
    "ipmitool": {**group(G, READ, "sensor, sdr, sel list, sel elist, chassis status, mc info, lan print, fru,"
                         "power status, chassis power status"),
                 **group(R, "powers the host off or resets it (wide blast radius)", "power off, power reset,"
                         "power cycle, chassis power off, chassis power reset, chassis power cycle,"
                         "chassis power soft, power soft"),
                 "sel clear": (R, "clears the hardware event log (evidence is lost)"),
                 **group(Y, "changes a sensor threshold or a BMC setting (reversible)", "sensor thresh, lan set,"
                         "sol set, user set name, user enable, user disable, chassis identify"),
                 "user set password": (R, "sets a BMC user's password (credentials)"),
                 "user priv": (R, "changes a BMC user's privilege level (4 is ADMINISTRATOR)")},
    "cryptsetup": {**group(G, READ, "status, luksDump, isLuks"),
                   **group(R, "destroys encrypted data or its keys", "luksFormat, erase, luksErase, luksKillSlot,"
                           "luksRemoveKey")},
    "zfs": {"rollback": (R, "rolls back to a snapshot (later data is lost)"), "send": (G, "streams a snapshot"),
            "receive": (Y, "receives a snapshot stream"), "recv": (Y, "receives a snapshot stream")},
    "zpool": {**group(G, READ, "status, list, iostat, get, history"), "labelclear": (R, "wipes a device label")},
}
TOOLS: dict[str, dict[str, Rule]] = {
    "etcdctl": ETCDCTL, "ceph": CEPH, "rados": RADOS, "rbd": RBD, "radosgw-admin": RGW, "amtool": AMTOOL,
    "promtool": PROMTOOL, "virtctl": VIRTCTL, "velero": VELERO, "virsh": VIRSH, "ovn-nbctl": OVN_NBCTL,
    "ovs-vsctl": OVS_VSCTL, "ovs-ofctl": {"del-flows": (R, "deletes OpenFlow flows (cuts traffic)")},
    "ovn-appctl": APPCTL, "rpm-ostree": RPM_OSTREE, **SIMPLE_STATUS, **PLATFORM_MISC,
    **clis.TOOLS,
}
SKIP_TARGET = {"ceph": {"daemon", "tell"}}  # the word after these names a daemon, not a verb
VALUE_FLAGS: dict[str, frozenset[str]] = {
    "etcdctl": flags("-w --write-out --endpoints --cacert --cert --key --user --command-timeout --dial-timeout"),
    "ceph": flags("-c --conf -k --keyring -n --name --id -f --format -m --cluster"),
    "rados": flags("-p --pool -c --conf -N --namespace --id -t --concurrent-ios -b --object-size"),
    "rbd": flags("-p --pool --image --snap --id -c --conf --size -s"),
    "amtool": flags("--alertmanager.url -o --output -c --comment -a --author -d --duration --config.file"),
    "promtool": flags("--config.file -o --format --start --end --step --time"),
    "virtctl": flags("-n --namespace --grace-period --kubeconfig --context -i --identity-file -l --username"),
    "velero": flags("-n --namespace --from-backup --from-schedule --include-namespaces --selector -o --output"),
    "ovn-appctl": flags("-t --target -T --timeout"), "ovn-nbctl": flags("--db -t --timeout -f --format --columns"),
    "virsh": flags("-c --connect"), "ipmitool": flags("-I -H -U -P -L -p -f -k -y -t -b -T -B -R -N"), "vault": flags("-address -namespace -format -field -mount"),
    "argocd": flags("--server --grpc-web-root-path -o --output --auth-token"), **clis.VALUE_FLAGS,
}
READ_FLAGS: dict[str, tuple[str, ...]] = {  # flags that make a command with no subcommand read-only
    "ceph": ("-s", "--status", "-w", "--watch", "-v", "--version"), "rados": ("--version",),
    "virsh": ("--version", "-v"), "etcdctl": ("--version",), "vault": ("-version",), "crio": ("--version",), **clis.READ_FLAGS,
}
ESCALATE: dict[str, list[tuple[str, tuple[str, ...], Rule]]] = {  # tool -> (subcommand or *, flags, verdict)
    "ceph": [("*", ("--yes-i-really-mean-it", "--yes-i-really-really-mean-it"),
              (R, "confirms an operation Ceph itself flags as dangerous"))],
    "rbd": [("resize", ("--allow-shrink",), (R, "shrinks the image (data past the new size is lost)"))],
    "radosgw-admin": [("*", ("--purge-objects", "--purge-data", "--purge-keys"), (R, "purges objects or data")),
                      ("*", ("--fix",), (Y, "fixes index entries in place"))],
    "virtctl": [("stop", ("--force",), (R, "force-stops the VM (like pulling the plug)")),
                ("restart", ("--force",), (R, "force-restarts the VM (like pulling the plug)"))],
    "virsh": [("undefine", ("--remove-all-storage", "--wipe-storage"), (R, "also deletes the VM's disks"))],
    "rpm-ostree": [("kargs", ("--append", "--delete", "--replace", "--editor", "--append-if-missing",
                              "--delete-if-present"), (Y, "changes kernel arguments (takes effect on reboot)"))],
    "argocd": [("app sync", ("--prune",), (R, "prunes (deletes) resources missing from git"))],
    "vault": [("token revoke", ("-mode", "-prefix", "-self"), (R, "revokes every token under a path or its children"))],
    "nomad": [("job stop", ("-purge",), (R, "purges the job (its history is gone)"))], **clis.ESCALATE,
}
