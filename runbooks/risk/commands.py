"""Tables of single-verdict commands, commands whose flags decide, wrappers and aliases.

Anything not listed anywhere is an unknown command: yellow, never green.
"""

from __future__ import annotations

from runbooks.risk import clis
from runbooks.risk.base import G, R, Rule, Y, flags, group

FILES = "changes files (reversible state change)"
SIMPLE: dict[str, Rule] = {
    **group(G, "only reads (read-only)", "ls, ll, cat, head, tail, less, more, grep, egrep, fgrep, zgrep, zcat,"
            "bzcat, xzcat, wc, sort, uniq, cut, tr, column, jq, diff, cmp, comm, nl, tac, rev, strings, od,"
            "hexdump, xxd, md5sum, sha1sum, sha256sum, sha512sum, base64, base32, stat, file, tree, realpath,"
            "readlink, basename, dirname, fold, fmt, paste, join, numfmt, gojq, rg, zless, zstdcat, cksum, iconv"),
    **group(G, "inspects the system (read-only)", "du, df, free, uptime, ps, pgrep, pidof, vmstat, iostat, mpstat,"
            "sar, pidstat, lsof, uname, whoami, id, groups, who, w, last, nproc, lscpu, lsblk, blkid, findmnt,"
            "getent, lsmod, lspci, lsusb, printenv, which, whereis, type, locale, tty, iptables-save, lsns, lslocks,"
            "lsmem, lshw, dmidecode, pstree, arch, getconf, ipcs, numastat, sensors, lvs, vgs, pvs, lvdisplay,"
            "vgdisplay, pvdisplay, showmount, ausearch, aureport, systemd-analyze, systemd-cgls, getenforce,"
            "sestatus, pmap, namei, sync, aa-status, apparmor_status, apt-cache"),
    **group(G, "checks a configuration or manifest (read-only)", "named-checkzone, named-checkconf, kubeconform,"
            "kubeval, hadolint, shellcheck, yamllint"),
    **group(G, "queries the network (read-only)", "ping, ping6, traceroute, tracepath, mtr, dig, nslookup, host,"
            "whois, ss, netstat, arping, fping, drill, kdig, delv, grpcurl"),
    **group(G, "is a shell builtin without side effects", "echo, printf, true, false, :, test, [, [[, sleep, cd,"
            "pwd, export, set, unset, local, declare, readonly, shift, exit, return, wait, jobs, read, trap,"
            "alias, history, umask, ulimit, seq, expr, break, continue, typeset, let, getopts, hash, mapfile,"
            "readarray, pushd, popd, dirs, clear, yes"),
    **group(Y, FILES, "mv, cp, mkdir, touch, ln, install, scp, zip, unzip, gzip, gunzip, patch, rmdir, bzip2,"
            "bunzip2, xz, unxz, zstd, split, mktemp, setfacl, chattr, sftp"),
    "logrotate": (Y, "rotates logs (reversible state change)"),
    **group(Y, "changes system configuration (reversible state change)", "useradd, usermod, groupadd, adduser,"
            "ifup, ifdown, swapoff, umount, modprobe, insmod, rmmod, setenforce, update-ca-trust,"
            "update-ca-certificates, ldconfig, restorecon, setsebool, ntpdate, exportfs, vgchange, lvcreate, lvextend,"
            "xfs_growfs, resize2fs, growpart, udevadm, renice, taskset, chcon, semanage"),
    **group(R, "deletes files irreversibly", "rm, shred, unlink, srm"),
    "truncate": (R, "truncates files (their data is lost)"),
    **group(R, "destroys disk or filesystem data irreversibly", "mkfs, mkswap, wipefs, gdisk, sgdisk, cfdisk,"
            "blkdiscard, lvremove, vgremove, pvremove, lvreduce, mke2fs"),
    **group(R, "powers off or reboots the host (wide blast radius)", "reboot, halt, poweroff, kexec"),
    **group(R, "deletes users or changes credentials (irreversible)", "userdel, deluser, groupdel, delgroup,"
            "passwd, chpasswd"),
    **group(R, "drops a database or role (irreversible)", "dropdb, dropuser"),
    **group(R, "replaces the whole firewall rule set", "iptables-restore, ip6tables-restore"),
    **clis.SIMPLE,
}
# name -> (flags, verdict) pairs tried in order; the pair without flags is the default.
FLAGGED: dict[str, tuple[tuple[tuple[str, ...], Rule], ...]] = {
    "journalctl": ((("--vacuum-size", "--vacuum-time", "--vacuum-files"),
                    (Y, "vacuums the oldest archived logs (routine; a vacuum under a day is red, security.py)")),
                   (("--rotate", "--flush", "--sync", "--relinquish-var", "--setup-keys"),
                    (Y, "rotates or moves journal files")),
                   ((), (G, "reads logs (read-only)"))),
    "dmesg": ((("-c", "-C", "--clear", "--read-clear", "-n", "-D", "-E"), (Y, "clears or reconfigures the kernel log")),
              ((), (G, "reads the kernel log (read-only)"))),
    "top": ((("-b", "--batch"), (G, "prints a process snapshot (read-only)")),
            ((), (Y, "is interactive (can kill or renice processes)"))),
    "htop": ((), (Y, "is interactive (can kill or renice processes)")),
    "crontab": ((("-r",), (R, "removes the whole crontab")), (("-l",), (G, "lists the crontab (read-only)")),
                ((), (Y, "edits or replaces the crontab (reversible)"))),
    "yq": ((("-i", "--inplace"), (Y, "edits files in place (`-i`)")), ((), (G, "only transforms text (read-only)"))),
    "nc": ((("-z",), (G, "checks that a port answers (read-only)")), ((), (Y, "opens a raw connection (not inspected)"))),
    "nginx": ((("-t", "-T", "-v", "-V"), (G, "tests its configuration or prints its version (read-only)")),
              ((), (Y, "starts or signals the web server"))),
    "visudo": ((("-c", "--check"), (G, "checks the sudoers syntax (read-only)")), ((), (Y, "edits sudoers"))),
    "kafka-acls": ((("--list",), (G, "lists ACLs (read-only)")), ((), (Y, "adds or removes ACLs"))),
    "dpkg": ((("-l", "--list", "-L", "--listfiles", "-s", "--status", "-S", "--search", "-p", "--print-avail",
               "--get-selections", "-C", "--audit", "--print-architecture", "--compare-versions"),
              (G, "lists or queries packages (read-only)")),
             ((), (Y, "installs, configures or removes packages (reversible state change)"))),
    "rpm": ((("-q", "-qa", "-qi", "-ql", "-qf", "-qc", "--query", "-V", "--verify", "--checksig", "-K"),
             (G, "queries or verifies packages (read-only)")),
            ((), (Y, "installs, upgrades or erases packages (reversible state change)"))),
    "sshd": ((("-T", "-t"), (G, "tests and prints its configuration (read-only)")), ((), (Y, "starts an SSH daemon"))),
    "swapon": ((("--show", "-s"), (G, "shows swap (read-only)")), ((), (Y, "enables swap (reversible)"))),
    "passwd": ((("-S", "--status"), (G, "shows the password's status (read-only)")),
               (("-e", "--expire"), (Y, "expires a password (the user sets a new one at next login)")),
               ((), (R, "changes a password (credentials)"))),
    "shutdown": ((("-c",), (Y, "cancels a pending shutdown")), ((), (R, "shuts down the host (wide blast radius)"))),
    "fdisk": ((("-l", "--list", "print"), (G, "lists partitions (read-only)")),
              ((), (R, "rewrites partition tables (destroys data)"))),
    "rclone": ((("sync", "purge", "delete", "deletefile", "rmdir", "rmdirs", "dedupe", "cleanup"),
                (R, "deletes files at the destination (`sync` makes it match the source)")),
               (("ls", "lsd", "lsl", "lsf", "lsjson", "size", "check", "cat", "about", "listremotes", "version",
                 "tree", "md5sum", "sha1sum", "hashsum", "ncdu"), (G, "lists or checks files (read-only)")),
               ((), (Y, FILES))),
    "rsync": ((("--delete", "--delete-after", "--delete-before", "--delete-during", "--delete-excluded",
                "--remove-source-files"), (R, "deletes files at the destination or source")), ((), (Y, FILES))),
    "tcpdump": ((("-w",), (Y, "captures packets to a file")), ((), (G, "captures packets to the terminal (read-only)"))),
    "ethtool": ((("-s", "-K", "-G", "-L", "-A", "-C", "-E", "-r", "-f", "-W", "--change", "--features", "--offload",
                  "--set-ring", "--set-channels", "--reset", "--flash"), (Y, "reconfigures a network interface")),
                ((), (G, "shows interface settings (read-only)"))),
    "smartctl": ((("-t", "--test", "-s", "--smart", "-o", "-S", "-X"), (Y, "starts a self-test or changes settings")),
                 ((), (G, "reads disk health (read-only)"))),
    "mdadm": ((("--zero-superblock",), (R, "wipes RAID metadata from a disk")),
              (("--detail", "-D", "--examine", "-E", "--query", "-Q"), (G, "shows RAID state (read-only)")),
              ((), (Y, "changes a RAID array"))),
    "conntrack": ((("-F", "--flush"), (R, "flushes every connection-tracking entry (drops live flows)")),
                  (("-D", "--delete"), (Y, "deletes the matching connection-tracking entries (those flows reconnect)")),
                  (("-L", "--dump", "-S", "--stats", "-C", "--count", "-G", "--get", "-E", "--event"),
                   (G, "shows connection tracking (read-only)")), ((), (Y, "changes connection-tracking entries"))),
    "auditctl": ((("-l", "-s"), (G, "shows audit rules or status (read-only)")),
                 (("-D",), (R, "deletes every audit rule")), ((), (Y, "changes audit rules"))),
    **{fs: ((("-n", "--no-modify", "--dry-run"), (G, "only checks the filesystem (read-only)")),
            ((), (R, "repairs a filesystem in place (can lose data)"))) for fs in ("fsck", "e2fsck", "xfs_repair")},
    "firewall-cmd": ((("--panic-on", "--complete-reload"), (R, "drops all traffic or every connection")),
                     (("--list-all", "--list-all-zones", "--state", "--get-active-zones", "--get-default-zone",
                       "--list-ports", "--list-services", "--list-rich-rules", "--get-zones"),
                      (G, "shows firewall settings (read-only)")), ((), (Y, "changes firewall rules (reversible)"))),
    "rpm": ((("-e", "--erase"), (R, "removes packages (can cascade to dependants)")),
            (("-q", "--query", "-V", "--verify", "--version", "-K", "--checksig"), (G, "queries packages (read-only)")),
            ((), (Y, "installs or changes packages"))),
    "kafka-topics": ((("--delete",), (R, "deletes a topic and its data")),
                     (("--create", "--alter"), (Y, "creates or changes a topic")),
                     ((), (G, "lists or describes topics (read-only)"))),
    "kafka-consumer-groups": ((("--delete", "--delete-offsets"), (R, "deletes consumer groups or offsets")),
                              (("--execute", "--from-file"), (Y, "resets consumer offsets (--execute applies it)")),
                              (("--reset-offsets",), (G, "only shows an offset reset (a plan: --execute applies it)")),
                              ((), (G, "describes consumer groups (read-only)"))),
    **clis.FLAGGED,
}
_NOTHING: Rule = (G, "runs nothing")
# name -> (flags taking a value, positionals before the wrapped command, verdict when nothing is wrapped)
WRAPPERS: dict[str, tuple[frozenset[str], int, Rule]] = {
    "sudo": (flags("-u -g -C -D -h -p -r -t -U -T --user --group"), 0, (Y, "opens a root shell")),
    "doas": (flags("-u -C"), 0, (Y, "opens a root shell")),
    "runuser": (flags("-u -g -G"), 0, (Y, "opens a shell as another user")),
    "chroot": (flags("--userspec --groups"), 1, (Y, "opens a shell in a chroot")),
    "envdir": (frozenset(), 1, (Y, "runs nothing: a command is missing")),
    "nsenter": (flags("-t --target -S -G --setuid --setgid -w --wd -r --root"), 0, (Y, "opens a shell in a namespace")),
    "env": (flags("-u -C -S --unset --chdir"), 0, (G, "prints the environment (read-only)")),
    "nice": (flags("-n --adjustment"), 0, (G, "prints the niceness (read-only)")),
    "ionice": (flags("-c -n -p"), 0, (G, "shows the I/O priority (read-only)")),
    "timeout": (flags("-s -k --signal --kill-after"), 1, _NOTHING),
    "time": (flags("-f -o --format --output"), 0, _NOTHING),
    "stdbuf": (flags("-i -o -e"), 0, _NOTHING),
    "flock": (flags("-w -E --timeout"), 1, _NOTHING),
    "watch": (flags("-n --interval"), 0, _NOTHING),
    "setsid": (frozenset(), 0, _NOTHING),
    **{name: (frozenset(), 0, _NOTHING) for name in ("nohup", "exec", "command", "busybox", "builtin")},
    "xargs": (flags("-n -I -L -P -d -E -s -a --max-args --replace --max-lines --max-procs --delimiter"
                    " --arg-file"), 0, (G, "only echoes its input (read-only)")),
}
SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "fish", "ash", "su"}
INTERPRETERS = {"python", "python3", "perl", "ruby", "node", "php"}
SYSTEM_DIRS = {"/", "/*", "/etc", "/usr", "/var", "/bin", "/sbin", "/lib", "/lib64", "/boot", "/home", "/root",
               "/opt", "/srv", "/sys", "/proc", "/dev", "/host", "/host/etc", "/host/var"}
ALIASES = {"oc": "kubectl", "podman": "docker", "nerdctl": "docker", "docker-compose": "docker", "apt": "apt-get",
           "yum": "apt-get", "dnf": "apt-get", "zypper": "apt-get", "apk": "apt-get", "pip3": "pip", "tofu": "terraform", "ncat": "nc",
           "gawk": "awk", "mawk": "awk", ".": "source", "telinit": "init", "ip6tables": "iptables", "sfdisk": "fdisk",
           "parted": "fdisk", "pkill": "kill", "killall": "kill", "skill": "kill", "chown": "chmod", "chgrp": "chmod",
           "mariadb": "mysql", "gcloud": "aws", "az": "aws", "gsutil": "aws", "microk8s.kubectl": "kubectl",
           "k3s": "kubectl", "kubecolor": "kubectl", "ovn-sbctl": "ovn-nbctl", "ovs-appctl": "ovn-appctl",
           "ovn-ctl": "ovn-appctl", "etcdctl3": "etcdctl", "redis": "redis-cli",
           "kafka-topics.sh": "kafka-topics", "kafka-consumer-groups.sh": "kafka-consumer-groups",
           **clis.ALIASES}
