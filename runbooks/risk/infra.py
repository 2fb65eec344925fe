"""Tools of the machine room for `runbooks.risk.clis`: HA clusters (pcs, crm, corosync, drbd), backup
servers (barman, wal-g, kopia), load balancers and proxies (tmsh, varnishadm, squid), BMCs (racadm),
hypervisors (qemu-img, Proxmox) and orchestrators (juju, kolla-ansible). Their status and listing
commands read; without a table each would be an unknown command, yellow whatever it does."""

from __future__ import annotations

from runbooks.risk.base import G, R, Rule, Y, flags, group

READ = "only reads (read-only)"

# The verbs decide for these: `barman list-backup`, `pdnsutil delete-zone`, `kopia snapshot list`.
BY_VERB = ("barman wal-g pdnsutil kopia juju pcs crm emqx flarectl repmgr cdktf pct pvecm drbdadm drbdsetup"
           " varnishadm").split()
READ_ONLY = "crm_mon crm_simulate ausearch audit2why aureport mysqlbinlog corosync-quorumtool".split()

TABLES: dict[str, dict[str, Rule]] = {
    "pcs": {**group(G, READ, "status, status --full, property config, property list, resource config, resource show,"
                    "constraint config, stonith config, cluster status, quorum status, config show, config"),
            "quorum unblock": (R, "unblocks quorum (the cluster may run without a majority: split brain)")},
    "crm": {**group(G, READ, "status, configure show, resource status, node show, cluster health")},
    "tmsh": {**group(G, READ, "show, list"), **group(Y, "changes the BIG-IP configuration (reversible state change)",
                                                 "modify, create, save, run, restart"),
             **group(R, "deletes BIG-IP objects (irreversible)", "delete")},
    "racadm": {**group(G, READ, "getsysinfo, getsel, getraclog, getconfig, get, storage get, getsensorinfo,"
                       "getversion, getniccfg, hwinventory, getled"),
               **group(Y, "changes the BMC or the server's settings (reversible state change)", "set, config,"
                       "racreset, serveraction graceshutdown, setled, jobqueue create"),
               **group(R, "powers the server off or resets it (wide blast radius)", "serveraction powerdown,"
                       "serveraction hardreset, serveraction powercycle")},
    "qemu-img": {**group(G, READ, "info, check, map, measure, compare"),
                 **group(Y, "creates, converts or resizes an image (reversible state change)", "create, convert,"
                         "resize, rebase, amend, commit, bitmap")},
    "qm": {**group(G, READ, "list, config, status, pending, showcmd, listsnapshot, cloudinit dump"),
           **group(R, "destroys a VM or its snapshot (irreversible)", "destroy, delsnapshot")},
    "kolla-ansible": {**group(G, "only checks the deployment (read-only)", "prechecks, check, genconfig"),
                      **group(Y, "deploys or reconfigures OpenStack services (reversible state change)", "deploy,"
                              "reconfigure, upgrade, pull, post-deploy, bootstrap-servers, mariadb_recovery"),
                      **group(R, "destroys the deployment or its data (irreversible)", "destroy, prune-images")},
    "kopia": {**group(G, READ, "snapshot list, snapshot ls, snapshot verify, repository status, policy list,"
                      "policy show, maintenance info, content stats, blob stats")},
    "cdktf": {**group(G, "renders or compares stacks (read-only)", "diff, synth, list, get, output"),
              "deploy": (Y, "deploys the stacks (reversible: deploy the previous version)"),
              "destroy": (R, "destroys the stacks' infrastructure (irreversible)")},
}
FLAGGED: dict[str, tuple[tuple[tuple[str, ...], Rule], ...]] = {
    "multipath": ((("-F", "-f"), (R, "flushes multipath maps (I/O to those devices stops)")),
                  (("-ll", "-l", "-t", "-T", "-c", "-d"), (G, "shows multipath devices (read-only)")),
                  ((), (Y, "changes multipath maps (reversible state change)"))),
    "corosync-cfgtool": ((("-s", "-n", "-a"), (G, "shows the ring status (read-only)")),
                         ((), (Y, "changes the running cluster engine (reversible state change)"))),
    "squid": ((("-k parse", "parse", "-v", "--version"), (G, "only parses the configuration (read-only)")),
              (("shutdown", "kill", "interrupt"), (R, "stops the proxy (every request through it fails)")),
              ((), (Y, "reconfigures or rotates the proxy (reversible state change)"))),
}
VALUE_FLAGS: dict[str, frozenset[str]] = {"racadm": flags("-r -u -p -i -c"), "kolla-ansible": flags("-i --inventory"
                                                                                                  " --configdir -e")}
DRY_RUN: dict[str, tuple[str, ...]] = {"pgbackrest": ("--dry-run",), "curator": ("--dry-run",)}
