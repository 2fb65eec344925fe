"""The shell risk classifier against a labelled table of real-world runbook commands.

The worst mistake is calling a destructive command green (it would run unattended); calling a read-only
command yellow only costs an approval. The table is the specification: add a row when a rule changes.
"""

from __future__ import annotations

import re

import pytest

from runbooks.model import Risk
from runbooks.risk import RiskAssessment, classify

G, Y, R = Risk.green, Risk.yellow, Risk.red

LABELLED: list[tuple[str, Risk]] = [
    # --- read-only inspection ---------------------------------------------------------------------
    ("ls -la /var/log", G),
    ("cat /etc/passwd", G),
    ("head -n 50 /var/log/syslog", G),
    ("tail -f /var/log/nginx/error.log", G),
    ("grep -i error /var/log/app.log | wc -l", G),
    ("zgrep ERROR /var/log/app.log.1.gz", G),
    ("sort access.log | uniq -c | sort -rn | head", G),
    ("awk '{print $1}' access.log | cut -d' ' -f1", G),
    ("sed -n '1,20p' /etc/nginx/nginx.conf", G),
    ("find /var/log -name '*.gz' -mtime +7", G),
    ("find . -name '*.log' -exec grep -l ERROR {} \\;", G),
    ("du -sh /var/lib/docker", G),
    ("df -h", G),
    ("free -m", G),
    ("uptime", G),
    ("ps aux --sort=-%mem | head", G),
    ("top -b -n 1", G),
    ("pgrep -fl nginx", G),
    ("vmstat 1 5", G),
    ("iostat -x 1 3", G),
    ("lsof -i :8080", G),
    ("ss -tlnp", G),
    ("netstat -an | grep LISTEN", G),
    ("ip addr show", G),
    ("ip route", G),
    ("ifconfig", G),
    ("ping -c 3 10.0.0.1", G),
    ("dig +short example.com", G),
    ("curl -s http://x/health", G),
    ("curl -sSfL -o /dev/null -w '%{http_code}' https://x/health", G),
    ("curl -I https://example.com", G),
    ("curl -s http://localhost:9200/_cluster/health | python3 -m json.tool", G),
    ("wget --spider https://example.com", G),
    ("wget -qO- http://localhost:9100/metrics", G),
    ("journalctl -u nginx --since '1 hour ago' --no-pager", G),
    ("systemctl status nginx", G),
    ("sudo systemctl status nginx", G),
    ("systemctl is-active nginx", G),
    ("systemctl list-units --failed", G),
    ("systemctl --user status foo", G),
    ("git -C /repo log -n 5", G),
    ("service nginx status", G),
    ("dmesg -T | tail -50", G),
    ("uname -a", G),
    ("hostname", G),
    ("whoami", G),
    ("date -u", G),
    ("env | sort", G),
    ("echo hello", G),
    ("echo hello > /dev/null", G),
    ("printf '%s\\n' ok", G),
    ("stat /var/run/app.pid", G),
    ("test -f /var/run/app.pid", G),
    ("[ -d /data ] && echo yes", G),
    ("sleep 5", G),
    ("mount", G),
    ("openssl s_client -connect example.com:443 </dev/null", G),
    ("openssl x509 -in cert.pem -noout -dates", G),
    ("kubectl get pods -n prod", G),
    ("kubectl -n prod describe pod {{ labels.pod }}", G),
    ("kubectl logs {{ labels.pod }} --tail=100", G),
    ("kubectl top nodes", G),
    ("kubectl auth can-i delete pods", G),
    ("kubectl config view", G),
    ("kubectl rollout status deploy/web", G),
    ("kubectl get pods -o name | xargs -n1 kubectl describe", G),
    ("kubectl exec -it web -- cat /etc/hosts", G),
    ("docker ps -a", G),
    ("docker logs --tail 100 web", G),
    ("docker inspect web", G),
    ("crictl ps", G),
    ("helm list -A", G),
    ("helm status web", G),
    ("git status", G),
    ("git log --oneline -5", G),
    ("psql -c \"SELECT 1\"", G),
    ("psql -h db -U app -c 'SELECT count(*) FROM users'", Y),  # issue 14: a full scan is a blocking read
    ("psql -h db -U app -c 'SELECT count(*) FROM users WHERE created_at > now() - interval ''1 day'''", G),
    ("psql -c '\\dt'", G),
    ("mysql -e \"SHOW PROCESSLIST\"", G),
    ("aws ec2 describe-instances --region us-east-1", G),
    ("aws s3 ls s3://bucket", G),
    ("gcloud compute instances list", G),
    ("az vm list -o table", G),
    ("redis-cli -h cache INFO memory", G),
    ("iptables -L -n", G),
    ("iptables -nvL", G),
    ("ufw status", G),
    ("crontab -l", G),
    ("sysctl net.ipv4.ip_forward", G),
    ("kill -0 1234", G),
    ("ssh web1 uptime", G),
    ("bash -c 'df -h'", G),
    ("watch -n 5 kubectl get pods", G),
    ("timeout 10 curl -s http://x/health", G),
    ("nice -n 10 du -sh /data", G),
    ("env FOO=1 ls", G),
    ("FOO=bar printenv FOO", G),
    ("cat /var/log/app.log 2>&1 | grep ERROR", G),
    ("for h in web1 web2; do ping -c1 $h; done", G),
    ("if systemctl is-active nginx; then echo up; fi", G),
    ("ls # ; rm -rf /", G),
    ("echo '$(rm -rf /)'", G),
    ("echo \"a; rm -rf /\"", G),
    ("grep -E 'timeout|refused' app.log", G),
    ("cat <<'EOF'\nrm -rf /\nEOF", G),
    ("kubectl get pods \\\n  -n prod", G),
    # --- dry runs -----------------------------------------------------------------------------------
    ("kubectl delete pod {{ labels.pod }} --dry-run=client", G),
    ("kubectl apply -f deploy.yaml --dry-run=server", G),
    ("helm upgrade web ./chart --dry-run", G),
    ("rsync -avn --delete /src/ /dst/", G),
    ("kubectl delete pod web-1 --dry-run=none", Y),  # not a dry run: a real delete (of one pod)
    # --- reversible state changes -------------------------------------------------------------------
    ("systemctl restart nginx", Y),
    ("sudo systemctl reload nginx", Y),
    ("systemctl stop nginx", Y),
    ("systemctl enable --now nginx", Y),
    ("service nginx restart", Y),
    ("kill 1234", Y),
    ("kill -HUP 1234", Y),
    ("pkill -f worker", Y),
    ("killall nginx", Y),
    ("kubectl rollout restart deploy/web -n prod", Y),
    ("kubectl rollout undo deploy/web", Y),
    ("kubectl scale deploy/web --replicas=3", Y),
    ("kubectl cordon node1", Y),
    ("kubectl uncordon node1", Y),
    ("kubectl label pod web-1 tier=debug --overwrite", Y),
    ("kubectl annotate deploy web note=x", Y),
    ("kubectl apply -f deploy.yaml", Y),
    ("kubectl patch deploy web -p '{\"spec\":{\"replicas\":2}}'", Y),
    ("kubectl set image deploy/web web=img:2", Y),
    ("kubectl edit deploy web", Y),
    ("docker restart web", Y),
    ("docker stop web", Y),
    ("helm upgrade web ./chart", Y),
    ("helm rollback web 3", Y),
    ("mv /var/log/app.log /var/log/app.log.1", Y),
    ("cp nginx.conf nginx.conf.bak", Y),
    ("mkdir -p /data/backup", Y),
    ("touch /var/run/flag", Y),
    ("chmod 644 /etc/app.conf", Y),
    ("chown -R app:app /data/app", Y),
    ("ln -s /opt/app/v2 /opt/app/current", Y),
    ("sed -i 's/foo/bar/' /etc/app.conf", Y),
    ("echo 1 | tee /tmp/flag", Y),
    ("logrotate -f /etc/logrotate.d/nginx", Y),
    ("apt-get install -y htop", Y),
    ("yum install -y htop", Y),
    ("pip install requests", Y),
    ("sysctl -w vm.swappiness=10", Y),
    ("ip link set eth0 down", R),  # the primary interface: the host is cut off
    ("ip link set eth1 down", Y),
    ("ifdown eth0", Y),
    ("swapoff -a", Y),
    ("umount /mnt/data", Y),
    ("mount /dev/sdb1 /mnt/data", Y),
    ("crontab -e", Y),
    ("git pull", Y),
    ("git checkout main", Y),
    ("curl -X POST http://x/api/restart", Y),
    ("curl -d '{\"a\":1}' http://x/api", Y),
    ("curl -o /tmp/file https://x/file", Y),
    ("wget https://x/file.tar.gz", Y),
    ("frobnicate --verbose", Y),
    ("cat /etc/passwd > /tmp/x", Y),
    ("echo ok >> /var/log/notes", Y),
    ("echo deadline > /sys/block/sda/queue/scheduler", Y),
    ("cat <<EOF > /tmp/app.conf\nkey=value\nEOF", Y),
    ("journalctl --rotate", Y),
    ("dmesg -c", Y),
    ("hostname web1", Y),
    ("psql -c \"UPDATE users SET active = false WHERE id = 1\"", Y),
    ("psql -c \"DELETE FROM sessions WHERE expires < now()\"", Y),
    ("psql -c \"INSERT INTO audit VALUES (1)\"", Y),
    ("psql -c \"ALTER TABLE users ADD COLUMN x int\"", Y),
    ("psql -c \"SELECT pg_terminate_backend(1234)\"", Y),
    ("psql -f migrate.sql", Y),
    ("aws ec2 stop-instances --instance-ids i-123", Y),
    ("gcloud compute instances stop vm1", Y),
    ("redis-cli SET k v", Y),
    ("bash deploy.sh", Y),
    ("ssh web1", Y),
    ("python3 -c 'import os; os.remove(\"/tmp/x\")'", Y),
    ("kubectl exec web -- touch /tmp/x", Y),
    ("docker exec web nginx -s reload", Y),
    ("iptables -A INPUT -s 1.2.3.4 -j DROP", Y),
    ("ufw allow from 10.0.0.0/8 to any port 22", Y),
    ("ufw allow 22", R),
    ("restic -r /srv/restic forget --prune --keep-last 1", R),
    ("restic -r /srv/restic forget --prune --keep-last 1 --dry-run", G),
    ("sudo -l -U deploy", G),  # sudo's own -l lists rights...
    ("sudo find /var/log -type f -delete", R),  # ...a -l or -delete of the command it runs is the command's
    ("sudo passwd -l olduser", R),
    ("gh pr list --state open", G),
    ("gh repo delete acme/shop --yes", R),
    ("pulumi preview --stack prod", G),
    ("pulumi up --yes --stack prod", R),
    ("terragrunt run-all plan", G),
    ("step ca revoke 3184912841", R),
    ("tc qdisc show dev eth0", G),
    ("tc qdisc del dev eth0 root", Y),
    ("nginx -t", G),  # issue 14: a port opened to every source is a security-sensitive change
    ("$(which python) script.py", Y),
    ("kubectl frobnicate get pods", Y),
    ("kubectl --request-timeout 5s get pods", Y),
    ("nohup ./app &", Y),
    ("{{ params.command }}", Y),
    # --- destructive, irreversible or wide blast radius ---------------------------------------------
    ("rm -rf /data", R),
    ("rm /tmp/file", R),
    ("sudo rm -rf /var/lib/app", R),
    ("shred -u secret.txt", R),
    ("dd if=/dev/zero of=/dev/sda bs=1M", R),
    ("mkfs.ext4 /dev/sdb1", R),
    ("fdisk /dev/sdb", R),
    ("wipefs -a /dev/sdb", R),
    ("shutdown -h now", R),
    ("reboot", R),
    ("init 6", R),
    ("systemctl reboot", R),
    ("kill -9 1234", Y),  # one stuck process by its PID (independent labellers agree); its supervisor restarts it
    ("kill -KILL 1234", Y),
    ("kill -s SIGKILL 1234", Y),
    ("kill -9 -1", R),  # every process the user may signal
    ("kill -9 1", R),
    ("kill -9 $(pgrep -f checkout-worker)", R),
    ("pkill -9 java", R),
    ("pkill -9 worker", R),
    ("killall -9 nginx", R),
    ("kubectl delete pod web-1", Y),  # issue 14: one pod, its controller recreates it
    ("kubectl delete pod web-1 --force --grace-period=0", R),
    ("kubectl delete pod web-1 web-2", R),
    ("kubectl delete ns prod", R),
    ("kubectl -n logs delete pod web-1", Y),
    ("kubectl drain node1 --ignore-daemonsets", Y),  # issue 14: one node, `uncordon` undoes it
    ("kubectl drain -l pool=batch --ignore-daemonsets", R),
    ("kubectl replace --force -f x.yaml", R),
    ("kubectl scale deploy/web --replicas=0", R),
    ("kubectl scale deploy/web --replicas 0", R),
    ("helm uninstall web", R),
    ("helm delete web", R),
    ("docker rm -f web", R),
    ("docker rmi img", R),
    ("docker system prune -af", R),
    ("docker volume rm data", R),
    ("docker kill web", R),
    ("iptables -F", R),
    ("iptables -X", R),
    ("iptables -D INPUT 1", Y),  # one rule by number: put back with -I (independent labellers agree)
    ("ufw disable", R),
    ("ufw reset", R),
    ("userdel bob", R),
    ("passwd root", R),
    ("chmod -R 777 /", R),
    ("chown -R nobody /", R),
    ("find /var/log -name '*.log' -delete", R),
    ("find /tmp -type f -exec rm {} \\;", R),
    ("truncate -s 0 /var/log/app.log", R),
    ("echo nameserver 1.1.1.1 > /etc/resolv.conf", R),
    ("cat disk.img > /dev/sda", R),
    ("echo '10.0.0.1 db' | sudo tee /etc/hosts", R),
    ("curl -X DELETE http://x/api/pod", R),
    ("curl -XDELETE http://x/api/pod", R),
    ("curl -fsSL https://x/install.sh | sh", R),
    ("curl https://x/install.sh | sh", R),
    ("wget -qO- https://x/i.sh | sudo bash", R),
    ("curl -s https://x/setup.py | python3", R),
    ("bash <(curl -s https://x/install.sh)", R),
    ("aws ec2 terminate-instances --instance-ids i-123", R),
    ("aws s3 rm s3://bucket --recursive", R),
    ("aws s3 sync ./site s3://bucket --delete", R),
    ("gcloud compute instances delete vm1", R),
    ("az group delete -n rg", R),
    ("psql -c \"DROP TABLE users\"", R),
    ("psql -c \"TRUNCATE sessions\"", R),
    ("psql -c \"DELETE FROM users\"", R),
    ("psql -c \"EXPLAIN ANALYZE DELETE FROM users\"", R),
    ("mysql -e \"DROP DATABASE app\"", R),
    ("sudo -u postgres psql -c \"SELECT 1; DROP DATABASE app\"", R),
    ("redis-cli FLUSHALL", R),
    ("redis-cli -n 2 flushdb", R),
    ("git push --force origin main", R),
    ("git push -f", R),
    ("git reset --hard HEAD~1", R),
    ("git clean -fdx", R),
    ("journalctl --vacuum-time=2d", Y),
    ("crontab -r", R),
    (":(){ :|:& };:", R),
    ("kubectl exec -it pod -- rm -rf /data", R),
    ("docker exec web rm -rf /data", R),
    ("docker compose exec web rm -rf /data", R),
    ("kubectl exec web -c app -- sh -c 'rm -rf /data'", R),
    ("ls | xargs rm", R),
    ("grep foo $(rm -rf /tmp/x)", R),
    ("grep foo `rm -rf /tmp/x`", R),
    ("echo \"$(curl -s https://x/i.sh | sh)\"", R),
    ("ls && rm -rf /tmp/x", R),
    ("ls; rm -rf /tmp/x", R),
    ("ls || rm -rf /tmp/x", R),
    ("ls\nrm -rf /tmp/x", R),
    ("cd /tmp && \\\n  rm -rf cache", R),
    ("ssh web1 'sudo rm -rf /var/cache/app'", R),
    ("bash -c 'rm -rf /tmp/x'", R),
    ("sh -c \"kill -9 1\"", R),
    ("timeout 10 rm -rf /x", R),
    ("nohup rm -rf /x &", R),
    ("env FOO=1 rm -rf /x", R),
    ("FOO=1 /bin/rm -rf /x", R),
    ("watch -n 5 'rm -rf /tmp/cache'", R),
    ("for f in *.log; do rm \"$f\"; done", R),
    ("diff <(ls /a) <(rm -rf /b)", R),
    ("kubectl get pods > /dev/null; kubectl delete deployment {{ labels.deployment }}", R),
]


def _ids() -> list[str]:
    return [f"{i:03d}-{cmd[:40]}" for i, (cmd, _) in enumerate(LABELLED)]


def test_the_table_is_large_and_covers_every_class() -> None:
    assert len(LABELLED) >= 120
    assert {risk for _, risk in LABELLED} == {G, Y, R}
    assert len({cmd for cmd, _ in LABELLED}) == len(LABELLED), "duplicate rows"


@pytest.mark.parametrize(("command", "expected"), LABELLED, ids=_ids())
def test_labelled_command(command: str, expected: Risk) -> None:
    got = classify(command)
    assert isinstance(got, RiskAssessment)
    assert got.risk == expected, f"{command!r}: {got.risk.value} ({got.reason})"


def test_no_red_command_is_classified_green() -> None:
    """The worst possible error: a destructive command would run without anyone approving it."""
    leaked = [(cmd, classify(cmd).reason) for cmd, risk in LABELLED if risk == R and classify(cmd).risk == G]
    assert not leaked


def test_unknown_commands_are_never_green() -> None:
    for command in ("frobnicate", "./deploy.sh", "make release", "terraformx apply", "{{ cmd }} --all"):
        assert classify(command).risk != G, command


@pytest.mark.parametrize(("command", "expected"), LABELLED, ids=_ids())
def test_reason_names_part_of_the_command(command: str, expected: Risk) -> None:
    reason = classify(command).reason
    assert reason.strip()
    pieces = re.findall(r"[A-Za-z0-9_./-]{2,}", command) or command.split()
    assert any(piece in reason for piece in pieces), f"{command!r} -> {reason!r}"


def test_reasons_say_why() -> None:
    assert "restarts a service" in classify("systemctl restart nginx").reason
    assert "stops a service" in classify("systemctl stop nginx").reason
    assert "irreversibly" in classify("rm -rf /data").reason
    assert "sudo" in classify("sudo systemctl restart nginx").reason
    shadow = classify("sudo cat /etc/shadow")  # issue 14: showing secret material needs a second look
    assert shadow.risk == Y and shadow.reason.startswith("rule secret-read: `/etc/shadow`")
    assert "dry run" in classify("kubectl delete pod x --dry-run=client").reason
    assert classify("frobnicate --verbose").reason == "unknown command `frobnicate`: not known to be read-only"


@pytest.mark.parametrize("command", ["", "   ", "\n\t", "echo 'unbalanced", 'grep "foo', "ls |", "| rm", "&&",
                                     "$(", "`", "$((1+", "cat <<EOF", ">", "kubectl exec pod --", "sudo", "xargs",
                                     "{{ unclosed", "\\", "psql -c", "curl -X", "ssh -p", "bash -c", "(((", ")))"])
def test_malformed_input_does_not_raise(command: str) -> None:
    assert isinstance(classify(command), RiskAssessment)


def test_pathological_input_is_fast_and_never_green() -> None:
    assert classify("a" * 100_000).risk == Y
    assert classify("rm -rf /data; " + "$(" * 1000).risk == R  # too deep to analyse: treated as destructive


def test_empty_command_is_green() -> None:
    assert classify("") == RiskAssessment(risk=G, reason="empty command")
    assert classify("   \n ").risk == G


def test_unbalanced_quotes_still_find_the_destructive_part() -> None:
    assert classify("echo 'oops; rm -rf /data").risk == G  # all of it is quoted text
    assert classify("rm -rf /data 'oops").risk == R


def test_language() -> None:
    assert classify("DROP TABLE users", language="sql").risk == R
    assert classify("SELECT * FROM users LIMIT 20", language="sql").risk == G
    assert classify("SELECT * FROM users", language="sql").risk == Y, "a whole table: can load production"
    assert classify("print('hi')", language="python").risk == Y
    assert classify("ls -la", language="bash").risk == G


# --- the labelled set in tests/data/risk_labels.tsv (see bench/risk_eval.py) ----------------------
def _tsv_report():
    from bench.risk_eval import evaluate, load_labels

    labels = load_labels()
    return labels, evaluate(labels)


def test_labelled_tsv_is_large_and_mostly_real() -> None:
    labels, _ = _tsv_report()
    assert len(labels) >= 250
    assert sum(1 for lab in labels if lab.source == "corpus") >= 100
    assert {lab.risk for lab in labels} == {G, Y, R}


def test_labelled_tsv_never_green_when_unsafe_and_recall_is_high() -> None:
    """Zero red or yellow commands classified green; per-class recall and precision well above 0.9."""
    _, report = _tsv_report()
    assert [(lab.line, lab.command, a.reason) for lab, a in report.red_as_green] == []
    assert [(lab.line, lab.command, a.reason) for lab, a in report.unsafe_as_green] == []
    for risk in (G, Y, R):
        assert report.recall(risk) >= 0.95, (risk, report.recall(risk))
        assert report.precision(risk) >= 0.95, (risk, report.precision(risk))


# --- behaviour added for real runbooks ------------------------------------------------------------
@pytest.mark.parametrize(("command", "language", "expected"), [
    ("rate(http_requests_total[5m])", "promql", G),
    ("DELETE FROM t WHERE 1=1", "sql", R),
    ("DROP INDEX idx", "sql", Y),
    ("kind: Deployment", "yaml", Y),
    ('{"a": 1}', "json", Y),
    ("some prose", "text", Y),
    ("$ oc get nodes\nNAME STATUS\nrm -rf / is output here", "console", G),
    ("$ oc get nodes\nrm -rf /x", "bash", R),  # not a transcript: every line runs
    ("sh-5.1# crio status config", "shell", G),
])
def test_languages_and_prompts(command: str, language: str, expected: Risk) -> None:
    assert classify(command, language).risk == expected, classify(command, language).reason


@pytest.mark.parametrize(("command", "expected"), [
    ("oc logs <POD_NAME> -n <NAMESPACE>", G),  # <placeholders> are words, not redirections
    ("cat <x> /dev/sda", R),  # ...unless the literal reading is destructive
    ("kubectl get deploy x -o go-template='{{ '{{' }}.status.readyReplicas{{ '}}' }}'", G),
    ("echo {{ '}}' }}; rm -rf /data", R),
    ("x=(a b c); rm -rf /x", R),  # an array assignment does not swallow what follows
    ("pods=($(rm -rf /x))", R),
    ("oc debug node/n -- chroot /host journalctl -u kubelet", G),
    ("oc debug node/n", Y),
    ("oc rsh pod rm -rf /data", R),
    ("oc scale deploy/a --replicas=0\noc scale deploy/a --replicas=1", Y),
    ("oc scale deploy/a --replicas=0\noc scale deploy/b --replicas=1", R),
    ("etcdctl defrag", Y),
    ("etcdctl member remove 1234", R),
    ("ceph osd pool delete p p --yes-i-really-really-mean-it", R),
    ("amtool silence add alertname=X", Y),
    ("python3 -c 'import json,sys; print(json.load(sys.stdin))'", G),
    ("python3 -c \"from sys import modules as m; m['os'].system('x')\"", Y),
    ("eval \"$(curl -s http://x/env)\"", R),
    ("> /var/log/app.log", R),
    ("dd if=/dev/sda bs=512 count=1 | xxd", G),
])
def test_real_runbook_constructs(command: str, expected: Risk) -> None:
    assert classify(command).risk == expected, classify(command).reason


@pytest.mark.parametrize(("command", "expected"), [
    # other clouds and tools: their verbs decide, where an unknown command would be yellow whatever it did
    ("doctl compute droplet list --format ID,Name,Status", G),
    ("hcloud server delete web-3", R),
    ("oci os object list --bucket-name backups --prefix pg/", G),
    ("nats stream info ORDERS", G),
    ("nats stream purge ORDERS -f", R),
    ("glab mr list --state opened", G),
    ("cmctl status certificate api-tls -n ingress", G),
    ("cmctl renew api-tls -n ingress", Y),
    ("mc anonymous set public prod/exports", R),
    ("s3cmd ls s3://backups/", G),
    ("s3cmd sync ./site s3://www --delete-removed", R),
    ("rclone sync ./empty remote:backups", R),
    ("rclone sync --dry-run ./static remote:static", G),
    ("sops filestatus secrets/prod.enc.yaml", G),
    ("sops -d secrets/prod.enc.yaml", Y),
    ("gpg --list-keys --keyid-format long", G),
    ("gpg --delete-secret-keys ABCD1234", R),
    ("ldapsearch -x -H ldaps://ldap.example -b ou=people,dc=example,dc=io '(uid=jdoe)' cn", G),
    ("ldapdelete -x -D cn=admin,dc=example,dc=io -W uid=jdoe,ou=people,dc=example,dc=io", R),
    # data stores with their own clients
    ("mongosh shop --quiet --eval 'db.orders.find({_id: 42}).limit(5)'", G),
    ("mongosh --quiet --eval 'rs.status().members.map(m => [m.name, m.stateStr])'", G),
    ("mongosh shop --quiet --eval 'db.sessions.updateMany({}, {$set: {expired: true}})'", R),
    ("mongosh shop --quiet --eval 'db.orders.createIndex({status: 1})'", Y),
    ("cqlsh -e \"DESCRIBE KEYSPACE shop;\"", G),
    ("cqlsh -e \"TRUNCATE shop.events;\"", R),
    ("clickhouse-client -q \"ALTER TABLE analytics.events DELETE WHERE 1\"", R),
    ("bq query --dry_run --use_legacy_sql=false 'SELECT user_id FROM `shop.events` WHERE day = 1'", G),
    ("bq rm -f -t shop.events_old", R),
    ("mysql -e \"PURGE BINARY LOGS BEFORE NOW() - INTERVAL 3 DAY;\"", Y),
    ("mysql -e \"PURGE BINARY LOGS BEFORE NOW();\"", R),
    # configuration management and CI carry a command inside
    ("ansible all -i inventories/prod -m ping", G),
    ("ansible web -i inventories/prod -m shell -a 'rm -rf /var/cache/app'", R),
    ("ansible web -i inventories/prod -b -m copy -a 'src=files/motd dest=/etc/motd mode=0644'", Y),
    ("ansible-playbook site.yml --syntax-check", G),
    ("ansible-playbook deploy.yml -i inventories/prod --limit web", Y),
    ("ansible-inventory -i inventories/prod --graph", G),
    ("java -jar jenkins-cli.jar -s https://ci.example -auth @creds get-job deploy-prod", G),
    ("java -jar jenkins-cli.jar -s https://ci.example -auth @creds delete-job deploy-prod", R),
    ("gh api repos/acme/shop/branches/main/protection", G),
    ("gh api -X PUT repos/acme/shop/collaborators/dev -f permission=push", Y),
    ("gh api -X GET repos/acme/shop/pulls --jq '.[].title'", G),
    # dry runs and checks that only ask
    ("sudo zfs destroy -nv tank/db@2024-05-01", G),
    ("sudo lvremove --test /dev/vg0/scratch", G),
    ("ceph osd ok-to-stop 12", G),
    ("az deployment group what-if -g rg-prod --template-file main.bicep", G),
    ("kafka-consumer-groups.sh --bootstrap-server k:9092 --group billing --reset-offsets --to-earliest --dry-run", G),
    ("kafka-consumer-groups.sh --bootstrap-server k:9092 --group billing --reset-offsets --to-earliest", G),  # a plan
    ("kafka-consumer-groups.sh --bootstrap-server k:9092 --group billing --delete --dry-run", R),
    # what a controller or a registry gives back is yellow; all of it at once is red
    ("docker image prune -f", Y),
    ("docker image prune -a -f", R),
    ("crictl rmp -f 7e6d5c4b3a29", Y),
    ("crictl rmp -a -f", R),
    ("aws elbv2 deregister-targets --target-group-arn arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/web/1 "
     "--targets Id=i-0abc", Y),
    # one command on many hosts is classified by that command
    ("pdsh -w 'node[01-40]' uptime", G),
    ("pdsh -w 'node[01-40]' 'sudo reboot'", R),
    ("salt '*' cmd.run 'rm -rf /var/cache/app'", R),
    ("salt 'web*' test.ping", G),
    ("salt 'db01*' pillar.items", Y),
    ("parallel -j 10 \"ssh {} 'uname -r'\" :::: hosts/all.txt", G),
    # more clients and daemons
    ("sqlcmd -S sql01 -Q \"EXEC sp_who2\"", G),
    ("sqlcmd -S sql01 -Q \"DROP DATABASE BillingArchive\"", R),
    ("psql -Atc \"SELECT now() - pg_last_xact_replay_timestamp()\"", G),
    ("psql -c \"DELETE FROM order_events WHERE created_at < '2024-01-01'\"", R),
    ("redis-cli -h cache DEL rate_limit:tenant:4412", Y),
    ("redis-cli -h cache DEL a b c", R),
    ("vtysh -c 'show ip bgp summary'", G),
    ("zkCli.sh -server zk01:2181 ls /brokers/ids", G),
    ("zkCli.sh -server zk01:2181 deleteall /brokers", R),
    ("patronictl -c /etc/patroni/patroni.yml list", G),
    ("patronictl -c /etc/patroni/patroni.yml remove pg-main", R),
    ("rndc delzone legacy.example.com", R),
    ("hcloud server rebuild --image ubuntu-22.04 web-3", R),
    ("borg prune --dry-run --list --keep-daily 7 ssh://borg@backup01/./web01", G),
    ("borg prune --keep-daily 7 ssh://borg@backup01/./web01", R),
    ("ctr -n k8s.io images rm registry.example.com/api:2.13.0", Y),
    ("iptables -F INPUT", R),
    ("ansible-playbook -i inventories/prod decommission.yml -e target=db-a", R),
    ("dd if=/dev/zero of=/var/tmp/fill bs=1M count=1024", Y),  # fills the disk
    ("ip route add 0.0.0.0/0 via 10.0.0.1", Y),
    ("docker compose -f /opt/app/docker-compose.yml ps", G),  # a file between subcommand words is not one of them
    ("docker compose -f prod.yml down --volumes", R),
    ("grep -n 'NOPASSWD' /etc/sudoers /etc/sudoers.d/*", G),  # searching for a dangerous word changes nothing
    ("history | grep -E 'DROP|FLUSHALL|rm -rf' | tail -20", G),
    ("echo 'deploy ALL=(ALL) NOPASSWD: ALL' >> /etc/sudoers.d/deploy", R),
    ("curl -s 'http://solr-1:8983/solr/admin/collections?action=DELETE&name=products'", R),  # a GET that deletes
    ("curl -s 'http://solr-1:8983/solr/admin/collections?action=CLUSTERSTATUS'", G),
    ("export VAULT_SKIP_VERIFY=true", R),
    ("export GOSUMDB=off", R),
    ("docker service scale payments_api=0", R),
    ("python manage.py flush --noinput", R),
    ("curl 'http://legacy-admin.internal:8080/admin/cache/flush?region=catalog'", Y),  # a GET that acts
    ("curl 'http://legacy-admin.internal:8080/admin/users/purge?inactiveDays=0'", R),
    ("curl -s 'http://es01:9200/_cat/thread_pool/write?v'", G),
    ("yq -i '.replicaCount = 6' deploy/prod/values.yaml", Y),
    ("kubectl create token ci-runner -n ci --duration=1h", Y),  # prints a bearer token
    ("curl -H \"Authorization: Bearer $(kubectl create token prometheus -n monitoring)\" https://prom/api", G),
    ("ip route del default", R),
    ("export STRIPE_VERIFY_WEBHOOK_SIGNATURES=false", R),  # a default route, not a rule open to the world
    ("passwd -e jdoe", Y),
    # eval14v8: HTTPie judged as curl, GraphQL queries, more CLIs
    ("http --check-status --timeout=5 GET http://minio-01:9000/minio/health/live", G),
    ("http https://api.example.com/v1/orders status==open 'Authorization:Bearer $API_TOKEN'", G),
    ("http POST https://api.example.com/v1/jobs/42/retry reason=oom", Y),
    ("http DELETE https://api.example.com/v1/users/12", R),
    ("curl -s -X POST https://api.example.com/graphql -d '{\"query\":\"{ order(id: 1) { status } }\"}'", G),
    ("curl -s -X POST https://api.example.com/graphql -d '{\"query\":\"mutation { cancelOrder(id: 1) { ok } }\"}'", Y),
    ("caddy validate --config /etc/caddy/Caddyfile", G),
    ("cloudflared tunnel list", G),
    ("op item list --vault 'SRE Prod' --format=json", G),
    ("op item get db-prod --fields password", Y),
    ("dnscontrol preview", G),
    ("fastly purge --service-id 7i6HN3 --key product-4412", Y),
    ("fastly purge --service-id 7i6HN3 --all", R),
    ("pg_lsclusters", G),
    # eval14v9: the machine room (runbooks/risk/infra.py)
    ("sudo pcs status --full", G), ("sudo pcs quorum unblock", R), ("sudo crm_mon -1 -rf", G),
    ("barman list-backup pg-prod", G), ("wal-g backup-list --detail", G), ("envdir /etc/wal-g.d/env wal-g backup-list", G),
    ("kopia snapshot list /srv/pgdata", G), ("tmsh show ltm pool pool_checkout_443 members", G),
    ("tmsh delete ltm pool pool_old", R), ("racadm -r 10.30.0.41 -u ops -p \"$IDRAC_PW\" getsysinfo", G),
    ("sudo multipath -ll", G), ("sudo squid -k parse", G), ("qemu-img info /var/lib/libvirt/images/db.qcow2", G),
    ("sudo varnishadm backend.list -p", G), ("sudo -u postgres pgbackrest --stanza=orders expire --dry-run", G),
    ("kolla-ansible -i /etc/kolla/multinode prechecks", G), ("sudo ipmitool sensor thresh FAN3 lower 300 500 700", Y),
    ("sudo ipmitool user priv 4 4 1", R), ("orchestrator-client -c force-master-failover -alias orders", R),
    ("knife ssh 'name:web-07' 'sudo chef-client' -x ops", Y),
])
def test_more_tools_and_clients(command: str, expected: Risk) -> None:
    assert classify(command).risk == expected, classify(command).reason


def test_package_modules_stay_small() -> None:
    from pathlib import Path

    import runbooks.risk

    for path in Path(runbooks.risk.__file__).parent.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 300, path.name
