"""More verb-style CLIs for `runbooks.risk.verbs`: other clouds, object stores, identity, messaging, CI and
the Kubernetes ecosystem. Most need no table at all: registered here, their subcommands are judged by
the verbs they use (`doctl compute droplet list` reads, `hcloud server delete` destroys), where an unknown
command would be yellow whatever it does. A table lists only what the verbs would misjudge."""

from __future__ import annotations

from runbooks.risk import infra
from runbooks.risk.base import G, R, Rule, Y, flags, group

READ = "only reads (read-only)"
SHOWS_SECRET = "shows secret material on the screen"

# The verbs decide for these (an empty table): their commands are `TOOL [NOUN...] VERB [ARGS]`.
BY_VERB = ("doctl hcloud oci ibmcloud linode-cli scw exo openstack vultr-cli nats glab kcadm.sh logcli stern"
           " linkerd cilium hubble kubeseal tkn eksctl kops heroku flyctl fly packer vagrant lxc incus multipass"
           " pvesh qm influx mimirtool cortextool grafana-cli ipa rabbitmqadmin trivy grype syft cosign skopeo kubectx"
           " kubens tctl temporal kn fission okteto tsh boundary pulsar-admin pd crossplane cockroach cloudflared"
           " couchbase-cli").split() + infra.BY_VERB
# Read-only whatever their arguments: linters, scanners, viewers and diagnostics.
READ_ONLY = ("ncdu iperf3 iperf varnishstat varnishlog varnishtop varnishhist pt-query-digest pt-summary"
             " pt-mysql-summary kafka-log-dirs age-keygen certutil xfs_info nvme-list ansible-lint yamllint shellcheck"
             " hadolint kubeconform kubeval conftest tflint tfsec checkov terrascan infracost lastb last debsums lynis"
             " osqueryi traefik-healthcheck nstat getfacl testssl.sh testssl dshbak kube-score popeye pluto kubent"
             " jstack jstat jps pg_lsclusters").split() + infra.READ_ONLY

TABLES: dict[str, dict[str, Rule]] = {
    "heroku": {**group(G, READ, "ps, apps, apps:info, logs, releases, addons, domains, pg:info, pg:diagnose, ps:type,"
                       "status, access, features, regions, spaces, drains"),
               **group(Y, SHOWS_SECRET, "config, config:get, pg:credentials, pg:credentials:url, auth:token"),
               **group(Y, "restarts, scales or rolls back the app (reversible)", "ps:restart, restart, ps:scale,"
                       "releases:rollback, rollback, maintenance:on, maintenance:off, config:set, config:unset,"
                       "ps:stop, ps:kill"),
               **group(R, "destroys the app or its data (irreversible)", "apps:destroy, destroy, pg:reset,"
                       "addons:destroy, pg:backups:delete")},
    "unbound-control": {**group(G, READ, "stats, stats_noreset, status, list_stubs, list_forwards, list_local_zones,"
                                "dump_infra, lookup"),
                        **group(Y, "flushes caches or reloads the resolver (refilled)", "flush, flush_zone,"
                                "flush_bogus, flush_infra, flush_requestlist, reload, flush_type")},
    "celery": {**group(G, READ, "inspect, status, report, events, result, list bindings"),
               "purge": (R, "deletes every waiting task from the queues"),
               **group(Y, "controls workers (reversible)", "control, call, migrate, worker, beat")},
    "aide": {}, "rkhunter": {},
    "cdk": {**group(G, "renders or compares stacks (read-only)", "synth, diff, ls, list, doctor, metadata, context,"
                    "acknowledge, notices, docs"),
            **group(Y, "deploys stacks (reversible state change)", "deploy, bootstrap, import, watch, rollback"),
            "destroy": (R, "destroys stacks and their resources (irreversible)")},
    "trivy": {**group(G, "scans for vulnerabilities (read-only)", "image, fs, filesystem, repo, repository, k8s, config,"
                      "sbom, rootfs, vm, version, plugin list, i")},
    "crane": {**group(G, READ, "digest, ls, manifest, config, catalog, blob, export, validate, version, auth get"),
              **group(Y, "copies or changes images (reversible state change)", "copy, cp, push, tag, mutate, append,"
                      "rebase, flatten, pull"),
              "delete": (R, "deletes an image from the registry")},
    "kustomize": {"build": (G, "renders manifests (read-only)"), "version": (G, READ),
                  **group(Y, "edits the kustomization file", "edit, create, edit set image, edit add")},
    "logcli": {**group(G, "queries logs (read-only)", "query, instant-query, series, labels, stats, volume,"
                       "volume_range, detected-fields")},
    "ibmcloud": {**group(G, READ, "ks clusters, ks workers, ks cluster ls, ks worker ls, ks cluster get, ks worker get,"
                         "ks versions, target, account show, resource service-instances, is instances, is vpcs")},
    "birdc": {**group(G, READ, "show"), **group(Y, "changes routing (can move traffic)", "configure, enable, disable,"
                      "restart, reload"), "down": (R, "shuts the routing daemon down (routes are withdrawn)")},
    "wg": {**group(G, READ, "show"), "showconf": (Y, "shows the interface's private key"),
           **group(Y, "changes the tunnel (reversible state change)", "set, setconf, addconf, syncconf, genkey")},
    "tailscale": {**group(G, READ, "status, ip, ping, netcheck, version, whois, dns status"),
                  **group(Y, "changes the node's tailnet state (reversible)", "up, set, login, logout, switch, cert"),
                  "down": (Y, "disconnects the node from the tailnet (reversible)")},
    "fail2ban-client": {**group(G, READ, "status, ping, version, get, banned"),
                        **group(Y, "bans or unbans addresses (reversible)", "set, reload, unban, restart"),
                        "stop": (R, "stops fail2ban (brute-force protection is off)")},
    "zkCli.sh": {**group(G, READ, "ls, ls2, get, stat, getAcl, version, whoami, config"),
                 **group(Y, "changes znodes (reversible state change)", "set, create, setAcl, setquota, addauth"),
                 **group(R, "deletes znodes (irreversible)", "delete, deleteall, rmr, delquota")},
    "borg": {**group(G, "reads the backup repository (read-only)", "list, info, check, diff, version, extract --dry-run"),
             **group(Y, "takes or restores a backup (reversible state change)", "create, init, extract, mount, umount,"
                     "rename, recreate, key export, break-lock, with-lock, import-tar, export-tar"),
             **group(R, "deletes archives from the backup repository (irreversible)", "prune, delete, compact")},
    "knife": {**group(G, READ, "status, search, node show, node list, role show, role list, environment show,"
                      "environment list, cookbook list, client list, data bag list, ssl check"),
              "ssh": (Y, "runs a command on the nodes the query finds (not inspected)"),
              **group(R, "deletes Chef objects (irreversible)", "node delete, client delete, role delete,"
                      "cookbook delete, data bag delete, environment delete")},
    "puppet": {**group(G, READ, "config print, facts, lookup, parser validate, resource, module list, help, --version"),
               "agent": (Y, "applies the catalog (changes the host; --noop only reports)")},
    "puppetserver": {**group(G, READ, "ca list"), "ca sign": (Y, "signs an agent's certificate")},
    "salt-run": {**group(G, READ, "jobs.list_jobs, jobs.lookup_jid, jobs.active, manage.status, manage.up, manage.down,"
                         "manage.versions")},
    "loginctl": {**group(G, READ, "list-sessions, list-users, list-seats, session-status, user-status, show-session,"
                         "show-user, seat-status"),
                 **group(Y, "ends sessions or signals their processes", "terminate-session, terminate-user,"
                         "kill-session, kill-user, lock-session, lock-sessions, enable-linger, disable-linger")},
    "ipset": {**group(G, READ, "list, save, test, -L, -S"), **group(Y, "changes an IP set (reversible)", "add, del,"
                      "create, -A, -D, -N, swap, rename, restore"),
              **group(R, "flushes or destroys IP sets (the rules using them open or close at once)", "flush, destroy,"
                      "-F, -X")},
    "gluster": {**group(G, READ, "volume status, volume info, volume list, peer status, pool list, volume heal info,"
                        "volume get, volume quota list, snapshot list, snapshot info, --version"),
                **group(R, "deletes volumes, bricks or snapshots (irreversible)", "volume delete, volume remove-brick,"
                        "snapshot delete, peer detach")},
    "nvme": {**group(G, READ, "list, smart-log, id-ctrl, id-ns, error-log, fw-log, list-subsys, get-feature"),
             **group(R, "wipes or formats a disk (irreversible)", "format, sanitize, delete-ns")},
    "apachectl": {**group(G, "checks its configuration (read-only)", "configtest, -t, -S, -M, -v, -V, status,"
                          "fullstatus, -D"),
                  **group(Y, "starts, restarts or stops the web server", "restart, graceful, start, stop,"
                          "graceful-stop, -k")},
    **{tool: {"server rebuild": (R, "rebuilds the server from an image (its disk is wiped)")}
       for tool in ("hcloud", "openstack", "scw")},
    "patronictl": {**group(G, READ, "list, topology, history, show-config, version, dsn, query"),
                   **group(Y, "changes the cluster (failover, restart, reload: reversible)", "switchover, failover,"
                           "restart, reload, pause, resume, edit-config, reinit, flush"),
                   "remove": (R, "removes the whole cluster's state from the DCS")},
    "rndc": {**group(G, READ, "status, zonestatus, showzone, serve-stale status, secroots, tsig-list, signing -list"),
             **group(Y, "reloads or flushes the name server (reversible)", "reload, reconfig, flush, flushname,"
                     "flushtree, freeze, thaw, sync, retransfer, refresh, notify, addzone, modzone, dumpdb, stats"),
             "delzone": (R, "deletes a zone from the name server")},
    "azcopy": {**group(G, READ, "list, ls, jobs list, jobs show, env, --version, login status"),
               **group(R, "deletes blobs or files (irreversible)", "remove, rm")},
    "salt-key": {},
    "ctr": {**group(G, READ, "images ls, images list, i ls, containers ls, c ls, tasks ls, t ls, namespaces ls, ns ls,"
                    "snapshots ls, content ls, version, info, plugins ls, leases ls"),
            **group(Y, "removes images (pulled again when needed)", "images rm, images remove, images delete, i rm,"
                    "image rm"),
            **group(R, "removes containers, snapshots or content (irreversible)", "containers rm, containers delete,"
                    "c rm, snapshots rm, content rm, namespaces rm"),
            **group(Y, "changes containers or images (reversible state change)", "images pull, i pull, images tag,"
                    "images import, tasks kill, t kill, tasks start, run, images export")},
    "cmctl": {**group(G, READ, "status, status certificate, inspect, inspect secret, check, check api, version,"
                      "experimental, x"),
              **group(Y, "renews or approves a certificate (reversible state change)", "renew, approve, deny,"
                      "create, create certificaterequest, convert, upgrade")},
    "mc": {**group(G, READ, "ls, cat, head, stat, du, tree, find, diff, ping, ready, admin info, admin user list,"
                   "admin policy list, admin policy info, alias list, version, anonymous get, anonymous list,"
                   "admin trace, admin top, admin prometheus, support diag, ilm rule ls, retention info"),
           **group(Y, "copies or changes objects or settings (reversible state change)", "cp, mv, mirror, mb, pipe,"
                   "tag set, alias set, admin user add, admin policy attach, ilm rule add, version enable"),
           **group(R, "deletes objects or buckets (irreversible)", "rm, rb, admin bucket remote rm, ilm rule rm"),
           **group(R, "makes a bucket public (anyone can read or write)", "anonymous set public, anonymous set download,"
                   "anonymous set upload, policy set public, policy set download")},
    "s3cmd": {**group(G, READ, "ls, la, du, info, get, ws-info, multipart, accesslog, --version"),
              **group(Y, "copies or changes objects (reversible state change)", "put, cp, mv, modify, mb, sync, setacl,"
                      "setpolicy, restore, signurl, expire, setlifecycle"),
              **group(R, "deletes objects or buckets (irreversible)", "del, rm, rb, delpolicy, dellifecycle")},
    "istioctl": {**group(G, READ, "analyze, proxy-status, ps, proxy-config, pc, version, x describe, x precheck,"
                         "precheck, experimental describe, experimental precheck, verify-install, bug-report,"
                         "manifest generate, kube-inject, dashboard, admin log, x authz check, authz check,"
                         "x ztunnel-config, ztunnel-config, waypoint list, waypoint status"),
                 **group(Y, "changes the mesh (reversible state change)", "install, upgrade, manifest apply,"
                         "waypoint apply, x waypoint apply, tag set"),
                 **group(R, "uninstalls the mesh (every sidecar loses its control plane)", "uninstall,"
                         "x uninstall, experimental uninstall, waypoint delete")},
    "ansible-inventory": {"": (G, "shows the inventory (read-only)")},
    "caddy": {**group(G, READ, "validate, fmt, adapt, version, list-modules, build-info, hash-password"),
              **group(Y, SHOWS_SECRET, "environ")},
    "dnscontrol": {**group(G, "shows what would change (a plan: read-only)", "preview, check, print-ir, version,"
                           "get-zones, get-certs"),
                   **group(Y, "pushes DNS changes to the providers (reversible: push the old config)", "push")},
    "op": {**group(G, READ, "item list, vault list, user list, group list, account list, whoami, document list,"
                   "item template list, --version"),
           **group(Y, SHOWS_SECRET, "item get, read, inject, run, document get, item share"),
           **group(R, "deletes secrets or vaults (irreversible)", "item delete, vault delete, document delete,"
                   "user delete")},
    "fastly": {**group(G, READ, "service list, service describe, service-version list, service search, whoami,"
                       "stats historical, stats realtime, log-tail, version, backend list, domain list, vcl list"),
               **group(Y, "purges cached content (refilled from the origin)", "purge"),
               **group(Y, "changes the service's configuration (reversible: activate the previous version)",
                       "service-version, service, backend, domain, vcl, logging"),
               **group(R, "deletes a service or its configuration (irreversible)", "service delete, backend delete,"
                       "domain delete")},
    "ansible-vault": {**group(Y, SHOWS_SECRET, "view, decrypt"),
                      **group(Y, "encrypts or edits a vault file (reversible state change)", "encrypt, encrypt_string,"
                              "edit, rekey, create")},
    "ansible-galaxy": {**group(G, READ, "list, info, search, collection list, role list, role info"),
                       **group(Y, "installs roles or collections (reversible state change)", "install, collection"
                               " install, role install, init, collection init, role init"),
                       **group(R, "removes roles or collections", "remove, role remove, delete, role delete")},
}

TOOLS: dict[str, dict[str, Rule]] = {**{tool: {} for tool in BY_VERB}, **TABLES, **infra.TABLES}
SIMPLE_READS: dict[str, Rule] = {tool: (G, "only reads or checks (read-only)") for tool in READ_ONLY}
VALUE_FLAGS: dict[str, frozenset[str]] = {**infra.VALUE_FLAGS,
    "knife": flags("-x --ssh-user -i -P --ssh-password -a --attribute -C --concurrency -c --config"),
    "doctl": flags("--format -o --output -t --access-token --context --region"),
    "hcloud": flags("-o --output --context --location --type --image --name --selector -l"),
    "oci": flags("--compartment-id -c --profile --region --query --output --bucket-name -bn --prefix"
                 " --lifecycle-state --user-id --group-id --instance-id"),
    "openstack": flags("-f --format -c --column --os-cloud --os-project-name --os-region-name"),
    "glab": flags("-R --repo -o --output"),
    "kcadm.sh": flags("-r --realm -q --query --fields -s --set --server --user --password --client --config"),
    "logcli": flags("--since --from --to --limit -o --output --addr --org-id -q --step"),
    "nats": flags("-s --server --creds --context --user --password"),
    "mc": flags("--config-dir -C --older-than --newer-than"),
    "ldapsearch": flags("-H -b -D -w -y -s -f"),
}
READ_FLAGS: dict[str, tuple[str, ...]] = {  # flags that make a command with no subcommand read-only
    "apachectl": ("-S", "-t", "-M", "-v", "-V", "-D"), "mc": ("--version",),
    "salt-key": ("-L", "--list-all", "-l", "--list", "-f", "-F", "--finger", "--finger-all"),
    "aide": ("--check", "-C", "--compare", "--version"), "rkhunter": ("--check", "-c", "--list", "--versioncheck"),
}
ESCALATE: dict[str, list[tuple[str, tuple[str, ...], Rule]]] = {
    "fastly": [("purge", ("--all",), (R, "purges everything cached (every request goes to the origin at once)"))],
    "istioctl": [(sub, ("--level", "--reset"), (Y, "changes the proxy's log level"))
                 for sub in ("proxy-config log", "pc log")],
    "azcopy": [("*", ("--delete-destination=true", "--delete-destination"),
                (R, "deletes destination files missing from the source"))],
    "mc": [("mirror", ("--remove", "--overwrite"), (R, "deletes or overwrites objects at the destination"))],
    "s3cmd": [("sync", ("--delete-removed", "--delete-after"), (R, "deletes destination objects missing from the source")),
              ("setacl", ("--acl-public", "-P"), (R, "makes objects public (anyone can read them)")),
              ("put", ("--acl-public", "-P"), (R, "makes objects public (anyone can read them)"))],
}
# name -> (flags, verdict) pairs tried in order, as commands.FLAGGED
FLAGGED: dict[str, tuple[tuple[tuple[str, ...], Rule], ...]] = {**infra.FLAGGED,
    "apparmor_parser": ((("-R", "--remove"), (R, "removes an AppArmor profile (the program runs unconfined)")),
                        (("-Q", "--skip-kernel-load", "-p", "--preprocess", "-N", "--names", "-V", "--version"),
                         (G, "only parses profiles (read-only)")), ((), (Y, "loads or replaces an AppArmor profile"))),
    "sops": ((("filestatus", "--version"), (G, "shows which files are encrypted (read-only)")),
             (("-d", "--decrypt", "decrypt", "exec-env", "exec-file"), (Y, SHOWS_SECRET)),
             ((), (Y, "encrypts, edits or rotates secrets (reversible state change)"))),
    "ssh-keygen": ((("-l", "-lf", "-F", "-y", "-B"), (G, "shows key fingerprints (read-only)")),
                   (("-R",), (Y, "removes a host from known_hosts")), ((), (Y, "creates or changes keys"))),
    "chage": ((("-l", "--list"), (G, "shows password ageing (read-only)")), ((), (Y, "changes password ageing"))),
    "kafka-configs": ((("--alter",), (Y, "changes configuration (reversible state change)")),
                      (("--describe",), (G, "describes configuration (read-only)")),
                      ((), (Y, "is not known to be read-only"))),
    "ipvsadm": ((("-C", "--clear"), (R, "clears every virtual service (all balanced traffic stops)")),
                (("-L", "-l", "--list", "-S", "--save"), (G, "lists virtual services (read-only)")),
                ((), (Y, "changes virtual services (reversible state change)"))),
    "haproxy": ((("-c", "-vv", "-v"), (G, "checks its configuration (read-only)")),
                ((), (Y, "starts or reloads the load balancer"))),
    "kcat": ((("-P",), (Y, "produces messages to a topic")), ((), (G, "reads metadata or messages (read-only)"))),
    "kafkacat": ((("-P",), (Y, "produces messages to a topic")), ((), (G, "reads metadata or messages (read-only)"))),
    "pt-heartbeat": ((("--check", "--monitor"), (G, "checks replication delay (read-only)")),
                     ((), (Y, "writes heartbeat rows"))),
    "pt-online-schema-change": ((("--execute",), (Y, "changes a table's schema online (reversible)")),
                                ((), (G, "only checks the change (a dry run)"))),
    "pt-kill": ((("--kill", "--kill-query"), (Y, "kills matching queries or connections")),
                ((), (G, "only prints the queries it would kill"))),
    "needrestart": ((("-ra", "-r a"), (Y, "restarts the services that need it")),
                    ((), (G, "lists what needs a restart (read-only)"))),
    "kafka-console-consumer": ((("--max-messages",), (G, "reads a few messages (read-only)")),
                               (("--from-beginning",), (Y, "reads the whole topic (a full scan of the log)")),
                               ((), (G, "reads new messages (read-only)"))),
    "chef-client": ((("--why-run", "-W"), (G, "only reports what would change (a dry run)")),
                    ((), (Y, "applies the run list (changes the host)"))),
    "update-crypto-policies": ((("--show", "--check", "--is-applied"), (G, "shows the crypto policy (read-only)")),
                               ((), (Y, "changes the system crypto policy"))),
    "keytool": ((("-list", "-printcert", "-printcertreq", "-printcrl"), (G, "lists or prints certificates (read-only)")),
                (("-delete",), (R, "deletes a key or certificate from the store (irreversible)")),
                ((), (Y, "changes a key store (reversible state change)"))),
    "gpg": ((("--delete-secret-keys", "--delete-keys", "--delete-secret-and-public-keys", "--delete-key"),
             (R, "deletes keys from the keyring (irreversible)")),
            (("--export-secret-keys", "--export-secret-subkeys", "-d", "--decrypt"), (Y, SHOWS_SECRET)),
            (("-k", "-K", "--list-keys", "--list-secret-keys", "--list-public-keys", "--list-sigs", "--check-sigs",
              "--fingerprint", "--verify", "--version", "--list-packets", "--show-keys", "--export"),
             (G, "lists or verifies keys and signatures (read-only)")),
            ((), (Y, "imports, signs or changes keys (reversible state change)"))),
}
SIMPLE: dict[str, Rule] = {
    **SIMPLE_READS,
    **group(G, "queries the directory or the local tickets (read-only)", "ldapsearch, ldapwhoami, ldapcompare,"
            "klist"),
    **group(Y, "changes directory entries (reversible state change)", "ldapmodify, ldapadd, ldapmodrdn"),
    "ldapdelete": (R, "deletes directory entries (irreversible)"),
    "ldappasswd": (Y, "resets one user's password (they are given a new one)"),
    **group(Y, "obtains or drops a Kerberos ticket (local credential cache)", "kinit, kdestroy"),
}
DRY_RUN: dict[str, tuple[str, ...]] = {**infra.DRY_RUN,
    "mc": ("--dry-run",), "nft": ("-c", "--check"), "borg": ("--dry-run", "-n"), "puppet": ("--noop",),
    "s3cmd": ("--dry-run", "-n"), "rclone": ("--dry-run", "-n"), "zfs": ("-n",), "zpool": ("-n",), "bq": ("--dry_run",),
    "eksctl": ("--dry-run",),
    **{lvm: ("--test", "-t") for lvm in ("lvremove", "vgremove", "pvremove", "lvreduce", "lvresize", "lvextend",
                                         "lvcreate", "vgreduce")},
}
ALIASES = {"buildah": "docker", "kafka-console-consumer.sh": "kafka-console-consumer", "clustershell": "clush",
           "kafka-configs.sh": "kafka-configs", "mongo": "mongosh", "clickhouse": "clickhouse-client",
           "kubectl-cert_manager": "cmctl", "mcli": "mc", "linode": "linode-cli"}
