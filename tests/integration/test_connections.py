"""Runbooks from where teams keep them: a Confluence space, a GitHub or GitLab repository on push,
and drafts from what people did; through the API, against local servers that speak those APIs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlmodel import select
from temporalio.service import RPCError

from runbooks.contract import connection_schedule_id
from runbooks.storage.tables import AuditRow, ConnectionRow
from support.fake_confluence import EMAIL, TOKEN, FakeConfluence
from support.fake_git_hosts import FakeGitHub, FakeGitLab
from support.fake_notion import TOKEN as NOTION_TOKEN
from support.fake_notion import FakeNotion, code, numbered, paragraph
from support.fake_slack import FakeSlack
from support.harness import Harness, make_settings, running_product
from support.web import sign_in

pytestmark = pytest.mark.asyncio

DISK = """<h1>Disk almost full</h1>
<p>Use this when <code>HostOutOfDiskSpace</code> fires.</p>
<ol>
<li><p><strong>Check space on the mount</strong></p>
<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">bash</ac:parameter>
<ac:plain-text-body><![CDATA[df -h {{ labels.mountpoint }}]]></ac:plain-text-body></ac:structured-macro></li>
<li><p><strong>Vacuum the journal</strong></p>
<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">bash</ac:parameter>
<ac:plain-text-body><![CDATA[journalctl --vacuum-size=500M]]></ac:plain-text-body></ac:structured-macro></li>
</ol>"""

CHECKS = """<p>Read-only checks for the API.</p>
<ol><li><p><strong>Is the API up</strong></p>
<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">bash</ac:parameter>
<ac:plain-text-body><![CDATA[curl -fsS http://127.0.0.1:8080/healthz]]></ac:plain-text-body></ac:structured-macro></li></ol>"""

BROKEN = """<h2>Steps</h2><ol><li><p><strong>Restart the thing</strong></p><p>Risk: purple</p>
<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[systemctl restart thing]]></ac:plain-text-body>
</ac:structured-macro></li></ol>"""


@pytest.fixture
def product_settings() -> dict:
    return {"connection_tokens": SecretStr(json.dumps({"ops_wiki": f"{EMAIL}:{TOKEN}"}))}


@pytest.fixture
def confluence() -> Iterator[FakeConfluence]:
    with FakeConfluence() as fake:
        yield fake


async def _connect(product: Harness, **body: object) -> dict:
    resp = await product.http.post("/api/v1/connections", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


async def _sync(product: Harness, connection_id: int) -> dict:
    resp = await product.http.post(f"/api/v1/connections/{connection_id}/sync")
    assert resp.status_code == 200, resp.text
    return resp.json()


def _by_title(report: dict) -> dict[str, dict]:
    return {p["title"]: p for p in report["pages"]}


async def test_a_confluence_space_becomes_runbooks_page_by_page_with_a_report(
        product: Harness, confluence: FakeConfluence) -> None:
    disk = confluence.add_page("OPS", "Disk almost full", DISK, labels=["runbook"])
    confluence.add_page("OPS", "API checks", CHECKS, labels=["runbook"])
    confluence.add_page("OPS", "Broken page", BROKEN, labels=["runbook"])
    confluence.add_page("OPS", "Team lunch", "<p>Pizza on Friday</p>")  # no label: not a runbook
    big = confluence.add_page("OPS", "Huge export", "<p>" + "x" * (10 * 1024 * 1024 + 10) + "</p>",
                              labels=["runbook"])
    conn = await _connect(product, kind="confluence", base_url=confluence.url, space="OPS", label="runbook",
                          token=f"{EMAIL}:{TOKEN}")
    assert TOKEN not in json.dumps(conn)

    report = await _sync(product, conn["id"])
    assert (report["found"], report["imported"], report["refused"], report["flagged"]) == (4, 2, 2, 0), report
    pages = _by_title(report)
    assert pages["Broken page"]["outcome"] == "refused" and "purple" in pages["Broken page"]["reason"]
    assert pages["Broken page"]["line"], "a refused page names the line that is wrong"
    assert pages["Huge export"]["outcome"] == "refused" and "10 MB" in pages["Huge export"]["reason"]
    disk_id = pages["Disk almost full"]["runbook_id"]
    assert pages["Disk almost full"]["state"] == "pending_review"  # a wiki is not a review: yellow steps wait
    assert pages["API checks"]["state"] == "live"

    runbook = (await product.http.get(f"/api/v1/runbooks/{disk_id}")).json()
    assert [s["command"] for s in runbook["steps"]] == ["df -h {{ labels.mountpoint }}",
                                                        "journalctl --vacuum-size=500M"]
    versions = (await product.http.get(f"/api/v1/runbooks/{disk_id}/versions")).json()
    assert versions[-1]["source_kind"] == "confluence" and versions[-1]["source_version"] == "1"
    assert versions[-1]["source_url"].endswith(f"/pages/{disk.id}/Disk+almost+full") or disk.id in \
        versions[-1]["source_url"]

    again = await _sync(product, conn["id"])
    assert (again["imported"], again["unchanged"]) == (0, 2)

    confluence.update_page(disk.id, DISK.replace("500M", "200M"), title="Disk nearly full")
    changed = await _sync(product, conn["id"])
    assert changed["imported"] == 1 and _by_title(changed)["Disk nearly full"]["runbook_id"] == disk_id  # renamed
    versions = (await product.http.get(f"/api/v1/runbooks/{disk_id}/versions")).json()
    assert [v["source_version"] for v in versions] == ["1", "2"]

    confluence.delete_page(disk.id)
    confluence.delete_page(big.id)
    gone = await _sync(product, conn["id"])
    assert gone["flagged"] == 2, gone
    runbook = (await product.http.get(f"/api/v1/runbooks/{disk_id}")).json()
    assert runbook["flagged"] and "no longer found" in runbook["flagged"]  # flagged, never deleted

    listed = (await product.http.get("/api/v1/connections")).json()
    assert listed[0]["last_report"]["flagged"] == 2 and TOKEN not in json.dumps(listed)
    with product.store.session() as s:
        row = s.exec(select(ConnectionRow)).one()
        assert TOKEN not in row.token_sealed and row.token_sealed.startswith("sealed:v1:")
        actions = [a.action for a in s.exec(select(AuditRow))]
    assert "connection.create" in actions and actions.count("connection.sync") == 4

    admin = await sign_in(product, "ada", "admin")
    cockpit = (await product.http.get("/connections", headers=admin.headers)).text
    assert "Broken page" in cockpit and "line" in cockpit and "Disk nearly full" in cockpit and TOKEN not in cockpit
    viewer = await sign_in(product, "vic", "viewer")
    assert (await product.http.get("/connections", headers=viewer.headers)).status_code == 403


async def test_a_bad_token_says_so_in_one_line_and_imports_nothing(
        product: Harness, confluence: FakeConfluence) -> None:
    confluence.add_page("OPS", "API checks", CHECKS)
    conn = await _connect(product, kind="confluence", base_url=confluence.url, space="OPS",
                          token=f"{EMAIL}:not-the-token")
    report = await _sync(product, conn["id"])
    assert report["error"] and "\n" not in report["error"] and "not-the-token" not in report["error"]
    assert report["found"] == 0
    assert "401" in report["error"] or "token" in report["error"].lower()


async def test_connections_are_for_admins_and_bad_input_is_a_clear_4xx(
        product: Harness, confluence: FakeConfluence) -> None:
    body = {"kind": "confluence", "base_url": confluence.url, "space": "OPS", "token": "t"}
    refused = await product.http.post("/api/v1/connections", json=body, headers=product.auth("ann", "author"))
    assert refused.status_code == 403
    missing = await product.http.post("/api/v1/connections", json={**body, "space": None})
    assert missing.status_code == 422 and "space" in missing.text
    unknown = await product.http.post("/api/v1/connections", json={**body, "kind": "sharepoint"})
    assert unknown.status_code == 422
    assert (await product.http.post("/api/v1/connections/99/sync")).status_code == 404


async def test_the_schedule_syncs_a_connection_through_temporal(product: Harness,
                                                                confluence: FakeConfluence) -> None:
    confluence.add_page("OPS", "API checks", CHECKS)
    conn = await _connect(product, kind="confluence", base_url=confluence.url, space="OPS", token=TOKEN,
                          sync_every_seconds=3600)
    schedule = product.client.get_schedule_handle(connection_schedule_id(conn["id"]))
    described = await schedule.describe()
    assert described.schedule.spec.intervals[0].every.total_seconds() == 3600
    await schedule.trigger()  # what the interval does, now
    for _ in range(200):
        reports = (await product.http.get(f"/api/v1/connections/{conn['id']}/reports")).json()
        if reports:
            break
        await asyncio.sleep(0.1)
    assert reports and reports[0]["trigger"] == "schedule" and reports[0]["imported"] == 1, reports

    assert (await product.http.delete(f"/api/v1/connections/{conn['id']}")).status_code == 204
    with pytest.raises(RPCError):
        await schedule.describe()  # no more syncs
    assert (await product.http.get(f"/api/v1/runbooks/{reports[0]['pages'][0]['runbook_id']}")).status_code == 200
    assert (await product.http.delete(f"/api/v1/connections/{conn['id']}")).status_code == 404


async def test_a_token_can_stay_in_the_settings_and_is_never_stored(product: Harness,
                                                                   confluence: FakeConfluence) -> None:
    confluence.add_page("OPS", "API checks", CHECKS)
    conn = await _connect(product, kind="confluence", base_url=confluence.url, space="OPS", token_setting="ops_wiki")
    report = await _sync(product, conn["id"])
    assert (report["imported"], report["error"]) == (1, None), report
    with product.store.session() as s:
        assert s.exec(select(ConnectionRow)).one().token_sealed == ""
    unknown = await product.http.post("/api/v1/connections", json={
        "kind": "confluence", "base_url": confluence.url, "space": "OPS", "token_setting": "nope"})
    assert unknown.status_code == 422 and "CONNECTION_TOKENS has no token named 'nope'" in unknown.text
    both = await product.http.post("/api/v1/connections", json={
        "kind": "confluence", "base_url": confluence.url, "space": "OPS", "token": "x", "token_setting": "ops_wiki"})
    assert both.status_code == 422


async def test_a_notion_database_is_synced_and_a_changed_page_is_a_new_version(product: Harness) -> None:
    with FakeNotion() as notion:
        db = notion.add_database("Runbooks")
        page = notion.add_page("Redis memory high", [
            paragraph("When Redis is close to maxmemory."),
            numbered("Check memory", [code("redis-cli info memory")]),
            numbered("Flush the cache of the session store", [code("redis-cli -n 2 flushdb")]),
        ], database=db)
        conn = await _connect(product, kind="notion", base_url=notion.url, database=db, token=NOTION_TOKEN)
        report = await _sync(product, conn["id"])
        assert (report["found"], report["imported"], report["error"]) == (1, 1, None), report
        runbook_id = report["pages"][0]["runbook_id"]
        shown = (await product.http.get(f"/api/v1/runbooks/{runbook_id}?version=1")).json()
        assert [s["command"] for s in shown["steps"]] == ["redis-cli info memory", "redis-cli -n 2 flushdb"]
        notion.change_page(page, [numbered("Check memory", [code("redis-cli info memory | grep used_memory")])])
        changed = await _sync(product, conn["id"])
        assert changed["imported"] == 1, changed
        versions = (await product.http.get(f"/api/v1/runbooks/{runbook_id}/versions")).json()
        assert len(versions) == 2 and versions[0]["source_version"] != versions[1]["source_version"]
        assert versions[1]["source_url"] == versions[0]["source_url"] and versions[1]["source_kind"] == "notion"


def _runbook(title: str, command: str) -> str:
    return f"# {title}\n\n## Steps\n\n1. **{title}**\n   ```sh\n   {command}\n   ```\n"


async def _deliver(product: Harness, connection_id: int, payload: dict, headers: dict[str, str]):  # noqa: ANN202
    body = json.dumps(payload).encode()
    return await product.http.post(f"/api/v1/connections/{connection_id}/webhook", content=body,
                                   headers={**headers, "Authorization": ""})


async def test_a_github_push_reimports_what_it_changed_and_flags_what_it_deleted(product: Harness) -> None:
    secret = "whsec-0123456789abcdef"
    with FakeGitHub(repo="acme/ops") as gh:
        gh.protected = {"main"}
        first = gh.commit({"runbooks/restart-web.md": _runbook("Restart web", "systemctl restart web"),
                           "runbooks/check-web.md": _runbook("Check web", "systemctl status web"),
                           "README.md": "# ops"}, author="dana")
        conn = await _connect(product, kind="github", base_url=gh.url, repo="acme/ops", subdir="runbooks",
                              token=gh.token, webhook_secret=secret)
        assert conn["webhook_url"] == f"/api/v1/connections/{conn['id']}/webhook" and conn["webhook_secret"] == secret
        payload = gh.push_payload("0" * 40, first)
        resp = await _deliver(product, conn["id"], payload, gh.headers(json.dumps(payload).encode(), secret))
        assert resp.status_code == 200, resp.text
        report = resp.json()
        assert (report["imported"], report["commit"]) == (2, first)
        restart = (await product.http.get("/api/v1/runbooks/restart-web/versions")).json()[-1]
        assert restart["commit"] == first and restart["author"] == "dana" and restart["state"] == "live"  # protected

        forged = await _deliver(product, conn["id"], payload, gh.headers(json.dumps(payload).encode(), "wrong"))
        assert forged.status_code == 401
        ping = gh.ping_payload()
        pinged = await _deliver(product, conn["id"], ping, gh.headers(json.dumps(ping).encode(), secret, "ping"))
        assert pinged.status_code == 202

        second = gh.commit({"runbooks/check-web.md": None,
                            "runbooks/restart-web.md": _runbook("Restart web", "systemctl restart web nginx")},
                           author="erin")
        payload = gh.push_payload(first, second)
        report = (await _deliver(product, conn["id"], payload,
                                 gh.headers(json.dumps(payload).encode(), secret))).json()
        assert (report["imported"], report["flagged"]) == (1, 1), report
        assert (await product.http.get("/api/v1/runbooks/check-web")).json()["flagged"]
        versions = (await product.http.get("/api/v1/runbooks/restart-web/versions")).json()
        assert [(v["commit"], v["author"]) for v in versions] == [(first, "dana"), (second, "erin")]


async def test_a_gitlab_push_to_an_unprotected_branch_waits_for_review(product: Harness) -> None:
    with FakeGitLab(repo="acme/ops") as gl:
        gl.protected = set()
        sha = gl.commit({"restart-db.md": _runbook("Restart db", "systemctl restart postgresql")}, author="fred")
        conn = await _connect(product, kind="gitlab", base_url=gl.url, repo="acme/ops", token=gl.token,
                              webhook_secret="gl-secret-0123456789")
        payload = gl.push_payload("0" * 40, sha)
        wrong = await _deliver(product, conn["id"], payload, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "no"})
        assert wrong.status_code == 401
        report = (await _deliver(product, conn["id"], payload, {"X-Gitlab-Event": "Push Hook",
                                                                "X-Gitlab-Token": "gl-secret-0123456789"})).json()
        assert report["imported"] == 1 and report["pages"][0]["state"] == "pending_review", report


SESSION = """$ df -h /var
Filesystem      Size  Used Avail Use% Mounted on
/dev/sda1        50G   49G  1.0G  98% /var
$ du -xh --max-depth=1 /var | sort -rh | head
30G /var/log
$ journalctl --vacum-size=500M
journalctl: unrecognized option '--vacum-size=500M'
$ journalctl --vacuum-size=500M
Vacuuming done, freed 28.1G of archived journals from /var/log/journal.
$ df -h /var
/dev/sda1        50G   21G   29G  42% /var
"""


async def test_a_shell_session_becomes_a_draft_that_waits_for_review_citing_each_line(product: Harness) -> None:
    resp = await product.http.post("/api/v1/drafts", json={"kind": "shell", "text": SESSION,
                                                             "title": "Disk full on /var"})
    assert resp.status_code == 201, resp.text
    draft = resp.json()
    assert draft["state"] == "pending_review" and draft["live_version"] is None
    commands = [s["command"] for s in draft["draft_steps"]]
    assert "journalctl --vacuum-size=500M" in commands and "journalctl --vacum-size=500M" not in commands
    assert all(s["source"] for s in draft["draft_steps"])
    sections = {s["command"]: s["section"] for s in draft["draft_steps"]}
    assert sections["df -h /var"] == "diagnosis" and sections["journalctl --vacuum-size=500M"] == "mitigation"
    assert any("vacum" in d for d in draft["dropped"])  # the dead end is said, not silently dropped
    refused = await product.http.post(f"/api/v1/runbooks/{draft['id']}/executions", json={"mode": "copilot"})
    assert refused.status_code in (404, 409, 422), refused.text  # nothing of a draft runs before review
    shown = (await product.http.get(f"/api/v1/runbooks/{draft['id']}")).json()
    assert all(s["source"] for s in shown["steps"])

    author = await sign_in(product, "ann", "author")
    form = await product.http.post("/drafts", headers=author.headers, follow_redirects=False,
                                   data={"csrf": author.csrf, "kind": "shell", "text": SESSION})
    assert form.status_code == 303 and form.headers["location"].startswith("/runbooks/drafts/")
    page = (await product.http.get(form.headers["location"], headers=author.headers)).text
    assert "journalctl --vacuum-size=500M" in page and "pending" in page and "From: " in page
    empty = await product.http.post("/drafts", headers=author.headers,
                                    data={"csrf": author.csrf, "kind": "postmortem", "text": "Nothing happened."})
    assert empty.status_code == 422 and "found nothing to draft" in empty.text


POSTMORTEM_PAGE = """<h1>Postmortem: expired TLS certificate on api.acme.com</h1>
<h2>Summary</h2><p>The API certificate expired at 02:10 UTC; clients failed TLS for 47 minutes.</p>
<h2>Resolution</h2>
<ol><li><p>Checked the served certificate:</p>
<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">bash</ac:parameter>
<ac:plain-text-body><![CDATA[openssl s_client -connect api.acme.com:443 -servername api.acme.com </dev/null | openssl x509 -noout -enddate]]></ac:plain-text-body></ac:structured-macro></li>
<li><p>Renewed it and reloaded nginx:</p>
<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">bash</ac:parameter>
<ac:plain-text-body><![CDATA[certbot renew --cert-name api.acme.com && systemctl reload nginx]]></ac:plain-text-body></ac:structured-macro></li></ol>
<h2>Action items</h2><ul><li><p>Alert 14 days before any certificate expires</p></li></ul>"""


async def test_a_postmortem_page_from_confluence_is_drafted_from_its_resolution(product: Harness) -> None:
    resp = await product.http.post("/api/v1/drafts", json={"kind": "postmortem", "text": POSTMORTEM_PAGE})
    assert resp.status_code == 201, resp.text
    steps = resp.json()["draft_steps"]
    commands = [s["command"] for s in steps if s["command"]]
    assert commands[-1] == "certbot renew --cert-name api.acme.com && systemctl reload nginx", commands
    assert any(s["command"] is None and "14 days" in s["title"] + (s["source"] or "") for s in steps), steps


async def test_a_slack_thread_is_read_through_the_api_and_drafted(temporal, temporal_address: str,
                                                                   tmp_path: Path) -> None:
    with FakeSlack() as slack:
        slack.threads[("C0INC", "1712345678.000100")] = [
            {"type": "message", "ts": "1712345678.000100", "user": "U1", "text": "replica lag on db-2 is 15 minutes"},
            {"type": "message", "ts": "1712345690.000200", "user": "U2",
             "text": "checking: `psql -h db-2 -c 'select now() - pg_last_xact_replay_timestamp()'`"},
            {"type": "message", "ts": "1712345720.000300", "user": "U2",
             "text": "restarting the replica\n```sudo systemctl restart postgresql@15-main```"},
            {"type": "message", "ts": "1712345800.000400", "user": "U1", "text": "that fixed it, lag is 0 now"},
        ]
        settings = make_settings(tmp_path, temporal_address).model_copy(update={
            "runbooks_dir": tmp_path / "none", "slack_bot_token": slack.token, "slack_api_base_url": slack.base_url})
        async with running_product(temporal.client, settings, tmp_path, with_worker=False) as product:
            resp = await product.http.post("/api/v1/drafts", json={"kind": "slack_thread", "channel": "C0INC",
                                                                     "ts": "1712345678.000100"})
            assert resp.status_code == 201, resp.text
            steps = resp.json()["draft_steps"]
            assert [s["command"] for s in steps][-1] == "sudo systemctl restart postgresql@15-main"
            assert "1712345720.000300" in steps[-1]["source"] and "1712345800.000400" in steps[-1]["source"]
            missing = await product.http.post("/api/v1/drafts", json={"kind": "slack_thread", "channel": "C0INC",
                                                                        "ts": "1.2"})
            assert missing.status_code == 422 and "thread_not_found" in missing.text
