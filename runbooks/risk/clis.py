"""More verb-style CLIs for `runbooks.risk.verbs`: other clouds, object stores, identity, messaging, CI and
the Kubernetes ecosystem. Most need no table at all: registered here, their subcommands are judged by
the verbs they use (`doctl compute droplet list` reads, `hcloud server delete` destroys), where an unknown
command would be yellow whatever it does. A table lists only what the verbs would misjudge."""

from __future__ import annotations

from runbooks.risk.base import G, R, Rule, Y, flags, group

READ = "only reads (read-only)"
SHOWS_SECRET = "shows secret material on the screen"

# The verbs decide for these (an empty table): their commands are `TOOL [NOUN...] VERB [ARGS]`.
BY_VERB = ("doctl hcloud oci ibmcloud linode-cli scw exo openstack nats glab kcadm.sh logcli stern linkerd cilium"
           " hubble kubeseal tkn eksctl kops heroku flyctl fly packer vagrant lxc incus multipass pvesh qm influx"
           " mimirtool cortextool grafana-cli ipa rabbitmqadmin trivy grype syft cosign skopeo kubectx kubens"
           " tctl temporal kn fission okteto tsh boundary").split()

TABLES: dict[str, dict[str, Rule]] = {
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
    "ansible-vault": {**group(Y, SHOWS_SECRET, "view, decrypt"),
                      **group(Y, "encrypts or edits a vault file (reversible state change)", "encrypt, encrypt_string,"
                              "edit, rekey, create")},
    "ansible-galaxy": {**group(G, READ, "list, info, search, collection list, role list, role info"),
                       **group(Y, "installs roles or collections (reversible state change)", "install, collection"
                               " install, role install, init, collection init, role init"),
                       **group(R, "removes roles or collections", "remove, role remove, delete, role delete")},
}

TOOLS: dict[str, dict[str, Rule]] = {**{tool: {} for tool in BY_VERB}, **TABLES}
VALUE_FLAGS: dict[str, frozenset[str]] = {
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
READ_FLAGS: dict[str, tuple[str, ...]] = {"mc": ("--version",)}
ESCALATE: dict[str, list[tuple[str, tuple[str, ...], Rule]]] = {
    "mc": [("mirror", ("--remove", "--overwrite"), (R, "deletes or overwrites objects at the destination"))],
    "s3cmd": [("sync", ("--delete-removed", "--delete-after"), (R, "deletes destination objects missing from the source")),
              ("setacl", ("--acl-public", "-P"), (R, "makes objects public (anyone can read them)")),
              ("put", ("--acl-public", "-P"), (R, "makes objects public (anyone can read them)"))],
}
# name -> (flags, verdict) pairs tried in order, as commands.FLAGGED
FLAGGED: dict[str, tuple[tuple[tuple[str, ...], Rule], ...]] = {
    "sops": ((("filestatus", "--version"), (G, "shows which files are encrypted (read-only)")),
             (("-d", "--decrypt", "decrypt", "exec-env", "exec-file"), (Y, SHOWS_SECRET)),
             ((), (Y, "encrypts, edits or rotates secrets (reversible state change)"))),
    "kafka-configs": ((("--alter",), (Y, "changes configuration (reversible state change)")),
                      (("--describe",), (G, "describes configuration (read-only)")),
                      ((), (Y, "is not known to be read-only"))),
    "gpg": ((("--delete-secret-keys", "--delete-keys", "--delete-secret-and-public-keys", "--delete-key"),
             (R, "deletes keys from the keyring (irreversible)")),
            (("--export-secret-keys", "--export-secret-subkeys", "-d", "--decrypt"), (Y, SHOWS_SECRET)),
            (("-k", "-K", "--list-keys", "--list-secret-keys", "--list-public-keys", "--list-sigs", "--check-sigs",
              "--fingerprint", "--verify", "--version", "--list-packets", "--show-keys", "--export"),
             (G, "lists or verifies keys and signatures (read-only)")),
            ((), (Y, "imports, signs or changes keys (reversible state change)"))),
}
SIMPLE: dict[str, Rule] = {
    **group(G, "queries the directory or the local tickets (read-only)", "ldapsearch, ldapwhoami, ldapcompare,"
            "klist"),
    **group(Y, "changes directory entries (reversible state change)", "ldapmodify, ldapadd, ldapmodrdn"),
    "ldapdelete": (R, "deletes directory entries (irreversible)"),
    "ldappasswd": (R, "changes a password (credentials)"),
    **group(Y, "obtains or drops a Kerberos ticket (local credential cache)", "kinit, kdestroy"),
}
DRY_RUN: dict[str, tuple[str, ...]] = {
    "mc": ("--dry-run",), "s3cmd": ("--dry-run", "-n"), "rclone": ("--dry-run", "-n"), "zfs": ("-n",),
    "zpool": ("-n",), "bq": ("--dry_run",), "eksctl": ("--dry-run",),
    **{lvm: ("--test", "-t") for lvm in ("lvremove", "vgremove", "pvremove", "lvreduce", "lvresize", "lvextend",
                                         "lvcreate", "vgreduce")},
}
ALIASES = {"buildah": "docker", "kafka-configs.sh": "kafka-configs", "mongo": "mongosh", "clickhouse": "clickhouse-client",
           "kubectl-cert_manager": "cmctl", "mcli": "mc", "linode": "linode-cli"}
