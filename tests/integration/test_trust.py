"""Trust, tried the way an attacker or a careless colleague would: who may do what, reviewed runbook
changes, and an audit trail that shows any edit.

The route-by-route matrix is in test_access_matrix.py; these are the hostile cases around it.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy

from runbooks.storage.audit import AuditLog
from runbooks.storage.engine import make_engine
from runbooks.storage.migrate import create_schema
from runbooks.storage.tables import utcnow
from support.alerts import alert_payload, lines
from support.harness import Harness, make_settings, running_product

RUNBOOKS = str(Path(sys.executable).parent / "runbooks")

RED = """---
id: RB_ID
title: A red step
EXTRA
---
## Steps

1. **Write it down**
   Risk: red
   ```sh
   echo red >> {{ params.log }}
   ```
"""


def red_runbook(runbook_id: str, extra: str = "") -> str:
    return RED.replace("RB_ID", runbook_id).replace("EXTRA", extra)


async def deploy(h: Harness, text: str, author: str = "olivia", reviewer: str = "rita") -> dict:
    """Paste as `author` and have `reviewer` take it live: how a risky runbook gets into service."""
    pasted = await h.http.post("/api/v1/runbooks", json={"text": text}, headers=h.auth(author, "author", "approver"))
    assert pasted.status_code == 201 and pasted.json()["state"] == "pending_review", pasted.text
    body = pasted.json()
    reviewed = await h.http.post(f"/api/v1/runbooks/{body['id']}/versions/{body['version']}/review",
                                 json={"approve": True}, headers=h.auth(reviewer, "author"))
    assert reviewed.status_code == 200 and reviewed.json()["state"] == "live", reviewed.text
    return body


async def start(h: Harness, runbook_id: str, log: Path, who: str = "sam", *roles: str) -> str:
    resp = await h.http.post(f"/api/v1/runbooks/{runbook_id}/executions", json={"params": {"log": str(log)}},
                             headers=h.auth(who, *(roles or ("responder",))))
    assert resp.status_code == 202, resp.text
    ex = resp.json()["id"]
    await h.wait_for(ex, "waiting_approval", step="write-it-down")
    return ex


def approve(h: Harness, ex: str, who: str, *roles: str, step: str = "write-it-down",
            teams: tuple[str, ...] = ("default",)):  # noqa: ANN201
    return h.http.post(f"/api/v1/executions/{ex}/steps/{step}/approve", json={"comment": f"by {who}"},
                       headers=h.auth(who, *roles, teams=teams))


# -- the attack from the issue ---------------------------------------------------------------------

async def test_an_rm_rf_declared_green_in_autopilot_waits_for_review_and_runs_nothing(
        harness: Harness, tmp_path: Path) -> None:
    victim = tmp_path / "precious"
    victim.mkdir()
    (victim / "data").write_text("keep me")
    text = f"""---
id: cleanup
title: Clean up
mode: autopilot
match:
  alertname: DiskAlmostFull
---
## Steps

1. **Clean up**
   Risk: green
   ```sh
   rm -rf {victim}
   ```
"""
    anonymous = await harness.http.post("/api/v1/runbooks", json={"text": text}, headers={"Authorization": ""})
    assert anonymous.status_code == 401, "no credentials: nothing is created"
    assert (await harness.http.get("/api/v1/runbooks/cleanup")).status_code == 404

    pasted = await harness.http.post("/api/v1/runbooks", json={"text": text}, headers=harness.auth("mallory", "author"))
    assert pasted.status_code == 201
    body = pasted.json()
    assert body["state"] == "pending_review"
    assert "step 'clean-up' is declared green but its command classifies red" in body["review_reasons"]
    assert "risk_lowered" in {lint["code"] for lint in body["quality"]["lints"]}
    assert body["quality"]["score"] < 100

    fired = await harness.http.post("/api/v1/alerts/alertmanager", json=alert_payload("DiskAlmostFull", tmp_path / "x"))
    assert fired.json()["executions"] == [] and fired.json()["unmatched"], "a change waiting for review runs nothing"
    assert (victim / "data").read_text() == "keep me"


# -- tokens ------------------------------------------------------------------------------------------

async def test_a_revoked_or_expired_token_is_refused(harness: Harness) -> None:
    h = harness
    made = await h.http.post("/api/v1/tokens", json={"name": "ci-bot", "user": "admin", "expires_in_days": 1})
    assert made.status_code == 201 and made.json()["token"].startswith("lrb_")
    secret = made.json()["token"]
    bearer = {"Authorization": f"Bearer {secret}"}
    assert (await h.http.get("/api/v1/whoami", headers=bearer)).json()["token"] == "ci-bot"
    listed = (await h.http.get("/api/v1/tokens")).json()
    assert secret not in str(listed) and {t["name"] for t in listed} >= {"admin", "ci-bot"}, "never shown again"
    stored = h.services.identity.active_token("ci-bot")
    assert stored is not None and stored.token_hash != secret and secret not in str(stored.model_dump())

    with h.services.identity.session() as s:  # a day later
        stored.expires_at = utcnow() - timedelta(seconds=1)
        s.add(stored)
        s.commit()
    expired = await h.http.get("/api/v1/whoami", headers=bearer)
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]

    other = (await h.http.post("/api/v1/tokens", json={"name": "pager", "user": "admin"})).json()["token"]
    assert (await h.http.delete("/api/v1/tokens/pager")).status_code == 200
    revoked = await h.http.get("/api/v1/whoami", headers={"Authorization": f"Bearer {other}"})
    assert revoked.status_code == 401 and revoked.json()["detail"] == "token 'pager' was revoked"
    assert (await h.http.delete("/api/v1/tokens/pager")).status_code == 404

    disabled = (await h.http.post("/api/v1/users", json={"name": "leaver", "roles": ["viewer"]})).json()
    assert disabled["name"] == "leaver"
    leaver = (await h.http.post("/api/v1/tokens", json={"name": "leaver"})).json()["token"]
    await h.http.patch("/api/v1/users/leaver", json={"disabled": True})
    gone = await h.http.get("/api/v1/whoami", headers={"Authorization": f"Bearer {leaver}"})
    assert gone.status_code == 401 and "disabled" in gone.json()["detail"]
    acts = [e.action for e in h.services.audit_log.query(actor="admin")]
    assert {"token.create", "token.revoke", "user.create", "user.update"} <= set(acts)


async def test_nobody_can_claim_to_be_someone_else_in_a_body(harness: Harness, tmp_path: Path) -> None:
    await deploy(harness, red_runbook("claims"))
    ex = await start(harness, "claims", tmp_path / "log")
    url = f"/api/v1/executions/{ex}/steps/write-it-down/approve"
    for field, value in (("actor", "rita"), ("started_by", "rita"), ("author", "rita")):
        forged = await harness.http.post(url, json={field: value}, headers=harness.auth("sam"))
        assert forged.status_code == 422 and f"`{field}` is not accepted" in forged.json()["detail"]
    forged_start = await harness.http.post("/api/v1/runbooks/claims/executions",
                                           json={"params": {"log": "x"}, "started_by": "rita"})
    forged_import = await harness.http.post("/api/v1/runbooks", json={"text": RED, "author": "rita"})
    assert forged_start.status_code == forged_import.status_code == 422
    assert (await harness.http.get(f"/api/v1/executions/{ex}")).json()["started_by"] == "sam"


# -- red steps ---------------------------------------------------------------------------------------

async def test_a_red_step_needs_an_approver_who_neither_started_it_nor_wrote_it(
        harness: Harness, tmp_path: Path) -> None:
    log = tmp_path / "log"
    await deploy(harness, red_runbook("red-one"), author="olivia")
    ex = await start(harness, "red-one", log, "sam", "approver")

    responder = await approve(harness, ex, "rory", "responder")
    assert responder.status_code == 403 and "needs the role approver" in responder.json()["detail"]
    starter = await approve(harness, ex, "sam")
    assert starter.status_code == 403 and "started this execution" in starter.json()["detail"]
    author = await approve(harness, ex, "olivia")
    assert author.status_code == 403 and "wrote this version of the runbook" in author.json()["detail"]
    assert lines(log) == []

    ok = await approve(harness, ex, "ada", "approver")
    assert ok.status_code == 202 and ok.json()["actor"] == "ada" and ok.json()["approvals_remaining"] == 0
    await harness.wait_for(ex, "succeeded")
    assert lines(log) == ["red"]
    evidence = (await harness.http.get(f"/api/v1/executions/{ex}/evidence")).json()
    assert evidence["started_by"] == "sam" and evidence["runbook_author"] == "olivia"
    assert evidence["steps"][0]["decision"]["actor"] == "ada" and evidence["changed"] == ["write-it-down"]
    assert [(e["actor"], e["action"]) for e in evidence["audit"]] == [("sam", "execution.start"),
                                                                      ("ada", "step.approve")]


async def test_approvals_2_asks_for_two_distinct_approvers(harness: Harness, tmp_path: Path) -> None:
    log = tmp_path / "log"
    await deploy(harness, red_runbook("two-keys", "approvals: 2"))
    ex = await start(harness, "two-keys", log)

    first = await approve(harness, ex, "ada", "approver")
    assert first.status_code == 202 and first.json()["approvers"] == ["ada"]
    assert first.json()["approvals_needed"] == 2 and first.json()["approvals_remaining"] == 1
    again = await approve(harness, ex, "ada", "approver")
    assert again.status_code == 409 and "already approved" in again.json()["detail"]
    body = await harness.wait_for(ex, "waiting_approval", step="write-it-down")
    assert lines(log) == [] and body["steps"][0]["approval"] is None, "one approval is not enough"

    second = await approve(harness, ex, "ben", "approver")
    assert second.status_code == 202 and second.json()["approvers"] == ["ada", "ben"]
    body = await harness.wait_for(ex, "succeeded")
    assert lines(log) == ["red"]
    assert body["steps"][0]["approval"]["approvers"] == ["ada", "ben"]


# -- teams -------------------------------------------------------------------------------------------

async def test_deciding_and_editing_are_scoped_to_the_runbooks_team(harness: Harness, tmp_path: Path) -> None:
    h = harness
    payments = red_runbook("pay-refund", "team: payments")
    refused = await h.http.post("/api/v1/runbooks", json={"text": payments}, headers=h.auth("dora", "author"))
    assert refused.status_code == 403 and "belongs to team 'payments'" in refused.json()["detail"]
    pia = h.auth("pia", "author", teams=("payments",))
    pasted = (await h.http.post("/api/v1/runbooks", json={"text": payments}, headers=pia)).json()
    foreign = await h.http.post("/api/v1/runbooks/pay-refund/versions/1/review", json={"approve": True},
                                headers=h.auth("dan", "author"))
    assert foreign.status_code == 403 and "team 'payments'" in foreign.json()["detail"]
    reviewed = await h.http.post("/api/v1/runbooks/pay-refund/versions/1/review", json={"approve": True},
                                 headers=h.auth("pete", "author", teams=("payments",)))
    assert pasted["state"] == "pending_review" and reviewed.json()["state"] == "live"
    assert (await h.http.get("/api/v1/runbooks/pay-refund")).json()["team"] == "payments"

    outsider = await h.http.post("/api/v1/runbooks/pay-refund/executions", json={"params": {"log": "x"}},
                                 headers=h.auth("dave", "approver"))
    assert outsider.status_code == 403 and "belongs to team 'payments'" in outsider.json()["detail"]
    h.auth("pam", "responder", teams=("payments",))
    ex = await start(h, "pay-refund", tmp_path / "log", "pam")
    assert (await approve(h, ex, "dave")).status_code == 403, "an approver of another team"
    assert (await h.http.post(f"/api/v1/executions/{ex}/cancel", headers=h.auth("dave"))).status_code == 403
    assert (await approve(h, ex, "paul", "approver", teams=("payments", "default"))).status_code == 202
    await h.wait_for(ex, "succeeded")

    default_team = red_runbook("ops-thing")
    outsider_edit = await h.http.post("/api/v1/runbooks", json={"text": default_team}, headers=pia)
    assert outsider_edit.status_code == 403, "a runbook without team: is the default team's"


async def test_a_reverse_proxy_user_is_believed_only_from_a_trusted_address(
        temporal, temporal_address: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, temporal_address, trusted_proxies="127.0.0.0/8")
    async with running_product(temporal.client, settings, tmp_path, with_worker=False) as h:
        h.auth("sso-sue", "viewer")
        proxied = {"Authorization": "", "X-Forwarded-User": "sso-sue"}
        me = await h.http.get("/api/v1/whoami", headers=proxied)
        assert me.status_code == 200 and me.json()["name"] == "sso-sue" and me.json()["via"] == "proxy"
        unknown = await h.http.get("/api/v1/whoami", headers={"Authorization": "", "X-Forwarded-User": "nobody"})
        assert unknown.status_code == 401 and "not a user here" in unknown.json()["detail"]
        app = h.http._transport.app  # type: ignore[attr-defined]
        elsewhere = httpx.ASGITransport(app=app, client=("203.0.113.9", 5555))
        async with httpx.AsyncClient(transport=elsewhere, base_url="http://api") as outside:
            spoofed = await outside.get("/api/v1/whoami", headers={"X-Forwarded-User": "admin"})
        assert spoofed.status_code == 401, "the header means nothing from an address that is not the proxy"


# -- the first start, self-review ----------------------------------------------------------------------

async def test_the_first_start_makes_one_admin_token_written_0600_and_never_again(
        temporal, temporal_address: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, temporal_address)
    async with running_product(temporal.client, settings, tmp_path, with_worker=False) as h:
        made = h.services.admin_token
        me = (await h.http.get("/api/v1/whoami")).json()
    token_file = settings.data_dir / "admin-token"
    assert made and token_file.read_text().strip() == made
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert me["name"] == "admin" and me["roles"] == ["admin"]
    async with running_product(temporal.client, settings, tmp_path, with_worker=False) as again:
        assert again.services.admin_token is None, "shown once"
        assert (await again.http.get("/api/v1/whoami")).status_code == 200, "the first token still works"


async def test_an_admin_confirms_their_own_change_only_where_self_review_is_allowed(
        temporal, temporal_address: str, tmp_path: Path) -> None:
    for allowed in (False, True):
        work = tmp_path / str(allowed)
        settings = make_settings(work, temporal_address, allow_self_review=allowed)
        async with running_product(temporal.client, settings, work, with_worker=False) as h:
            pasted = (await h.http.post("/api/v1/runbooks", json={"text": red_runbook("mine")})).json()
            assert pasted["state"] == "pending_review"
            own = await h.http.post("/api/v1/runbooks/mine/versions/1/review", json={"approve": True})
            if not allowed:
                assert own.status_code == 403 and "ALLOW_SELF_REVIEW" in own.json()["detail"]
                continue
            assert own.status_code == 200 and own.json()["state"] == "live"
            entry = h.services.audit_log.query(action="runbook.review")[-1]
            assert entry.actor == "admin" and entry.detail["self_review"] is True


# -- the CLI -----------------------------------------------------------------------------------------

def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RUNBOOKS, *args], env=env, capture_output=True, text=True, timeout=120)


async def test_users_and_tokens_from_the_cli_work_on_the_api_and_revoking_ends_them(
        temporal, temporal_address: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, temporal_address)
    env = {**os.environ, "DATABASE_URL": settings.database_url, "DATA_DIR": str(settings.data_dir),
           "AUDIT_KEY": settings.audit_key.get_secret_value(), "LOG_LEVEL": "WARNING"}
    async with running_product(temporal.client, settings, tmp_path, with_worker=False) as h:
        added = cli(env, "users", "add", "oncall-olga", "--role", "responder", "--team", "payments",
                    "--slack-id", "U0OLGA")
        assert added.returncode == 0, added.stderr
        made = cli(env, "tokens", "create", "oncall-olga")
        assert made.returncode == 0, made.stderr
        secret = made.stdout.strip().splitlines()[-1]
        bearer = {"Authorization": f"Bearer {secret}"}
        me = (await h.http.get("/api/v1/whoami", headers=bearer)).json()
        assert me["name"] == "oncall-olga" and me["teams"] == ["payments"] and "decide" in me["permissions"]
        assert "oncall-olga" in cli(env, "users", "list").stdout
        assert cli(env, "tokens", "create", "oncall-olga").returncode == 1, "one active token per name"
        assert cli(env, "tokens", "revoke", "oncall-olga").returncode == 0
        assert (await h.http.get("/api/v1/whoami", headers=bearer)).status_code == 401
        assert cli(env, "tokens", "create", "nobody-here").returncode == 2
    verified = cli(env, "audit", "verify")
    assert verified.returncode == 0 and "audit log intact" in verified.stdout, verified.stdout + verified.stderr


# -- the audit trail ---------------------------------------------------------------------------------

@pytest.fixture
def audit_db(database_url: str, tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A product database with 250 audit entries, and the environment `runbooks audit verify` needs."""
    env = {**os.environ, "DATABASE_URL": database_url, "DATA_DIR": str(tmp_path / "data"),
           "AUDIT_KEY": "audit-test-key", "LOG_LEVEL": "WARNING"}
    engine = make_engine(database_url)
    create_schema(engine)
    log = AuditLog(engine, b"audit-test-key")
    with ThreadPoolExecutor(8) as pool:  # appends from many threads at once still form one chain
        list(pool.map(lambda n: log.append(f"user-{n % 5}", "step.approve", f"execution:e{n}", n=n), range(250)))
    engine.dispose()
    return database_url, env


def _sql(url: str, statement: str) -> None:
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(statement))
    engine.dispose()


def test_an_intact_audit_log_verifies(audit_db: tuple[str, dict[str, str]]) -> None:
    _, env = audit_db
    done = cli(env, "audit", "verify")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "audit log intact: 250 entries, 2 keyed checkpoints and the head verified" in done.stdout


@pytest.mark.parametrize("tamper, first_bad", [
    ("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 117", "entry 117: its content does not match"),
    ("DELETE FROM audit_log WHERE seq = 42", "entry 42: missing"),
    ("UPDATE audit_log SET seq = CASE seq WHEN 10 THEN -11 WHEN 11 THEN -10 END WHERE seq IN (10, 11); "
     "UPDATE audit_log SET seq = -seq WHERE seq < 0", "entry 10: does not link"),
    ("DELETE FROM audit_log WHERE seq > 240", "entry 241: the head says the log ends at entry 250"),
])
def test_an_edited_deleted_or_reordered_entry_is_named(audit_db: tuple[str, dict[str, str]], tamper: str,
                                                       first_bad: str) -> None:
    url, env = audit_db
    for statement in tamper.split("; "):
        _sql(url, statement)
    done = cli(env, "audit", "verify")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "audit log NOT intact" in done.stdout and first_bad in done.stdout, done.stdout


def test_a_chain_rewritten_without_the_key_is_caught(audit_db: tuple[str, dict[str, str]]) -> None:
    url, env = audit_db
    engine = make_engine(url)
    forger = AuditLog(engine, b"not-the-key")  # recomputes every hash, but cannot make the MACs
    entries = list(forger.entries())
    _sql(url, "DELETE FROM audit_log")
    _sql(url, "DELETE FROM audit_head")
    for e in entries:
        forger.append(e.actor if e.seq != 5 else "innocent", e.action, e.target, **e.detail)
    engine.dispose()
    done = cli(env, "audit", "verify")
    assert done.returncode == 1 and "entry 100: its keyed checkpoint is missing or wrong" in done.stdout, done.stdout
