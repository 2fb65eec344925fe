"""Security-sensitive changes are red whatever the command's verb table says, reads that show
secrets or can block production are yellow, and the reason names the rule and the part of the
command that decided it (runbooks/risk/security.py). Reads about the same things stay green."""

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
])
def test_showing_a_secret_or_a_blocking_read_is_yellow(command: str) -> None:
    assert classify(command).risk == Y, classify(command).reason


@pytest.mark.parametrize("command", [
    "gcloud compute firewall-rules list --filter='sourceRanges:0.0.0.0/0'",
    "aws iam list-attached-user-policies --user-name bob",
    "kubectl get secrets -n shop -o json | jq -r '.items[].metadata.name'",
    "amtool silence query",
    "psql -c \"SELECT pid, state FROM pg_stat_activity\"",
])
def test_reads_about_the_same_things_stay_green(command: str) -> None:
    assert classify(command).risk == G, classify(command).reason
