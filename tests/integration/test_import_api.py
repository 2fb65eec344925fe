"""Bringing runbooks in through the API: paste, upload, versions, diff, revert."""

from __future__ import annotations

import subprocess
from pathlib import Path

from runbooks.authoring.importer import import_git
from runbooks.storage.engine import make_engine
from runbooks.storage.migrate import create_schema
from runbooks.storage.store import Store
from support.alerts import alert_payload, decide, fire, lines
from support.harness import Harness, make_settings
from support.paths import TEST_RUNBOOKS

PASTED = """---
id: pasted
title: Pasted runbook
match:
  alertname: Pasted
---
# Pasted runbook

## Steps

1. **Say hello**
   Risk: yellow
   ```sh
   echo hello >> {{ labels.log }}
   ```
"""


async def test_a_pasted_runbook_is_reviewed_then_executable_and_versioned(harness: Harness, tmp_path: Path) -> None:
    http = harness.http
    alice, bob, carol = (harness.auth(n, "author", "responder") for n in ("alice", "bob", "carol"))
    created = await http.post("/api/v1/runbooks", content=PASTED, headers={"content-type": "text/markdown", **alice})
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1 and created.json()["steps"] == 1
    assert {lint["code"] for lint in created.json()["quality"]["lints"]} == {"no_rollback"}
    assert created.json()["state"] == "pending_review" and created.json()["live_version"] is None
    assert created.json()["review_reasons"] == ["a new runbook with yellow or red steps (say-hello)"]

    again = await http.post("/api/v1/runbooks", content=PASTED, headers={"content-type": "text/markdown", **alice})
    assert again.status_code == 200 and again.json()["version"] == 1 and not again.json()["created"]

    log = tmp_path / "run.log"
    unreviewed = await http.post("/api/v1/alerts/alertmanager", json=alert_payload("Pasted", log))
    assert unreviewed.json()["executions"] == [], "a version waiting for review runs nothing"
    started = await http.post("/api/v1/runbooks/pasted/executions", json={"params": {"log": str(log)}}, headers=bob)
    assert started.status_code == 409 and "waits for review" in started.json()["detail"]
    own = await http.post("/api/v1/runbooks/pasted/versions/1/review", json={"approve": True}, headers=alice)
    assert own.status_code == 403 and "cannot also review it" in own.json()["detail"]
    reviewed = await http.post("/api/v1/runbooks/pasted/versions/1/review", json={"approve": True, "comment": "ok"},
                               headers=bob)
    assert reviewed.status_code == 200 and reviewed.json()["state"] == "live" and reviewed.json()["live"]
    assert reviewed.json()["reviewed_by"] == "bob"

    ex = await fire(harness, "Pasted", log, fingerprint="pasted-after-review")
    await harness.wait_for(ex, "waiting_approval", step="say-hello")

    edited = PASTED.replace("echo hello", "echo goodbye")
    v2 = await http.post("/api/v1/runbooks", json={"text": edited}, headers=bob)
    assert v2.status_code == 201 and v2.json()["version"] == 2 and v2.json()["state"] == "pending_review"
    assert v2.json()["review_reasons"] == [
        "changes the command, target or language (run or done by hand) of yellow step 'say-hello'"]
    assert (await http.get("/api/v1/runbooks/pasted")).json()["version"] == 1, "the live version stays"

    await decide(harness, ex, "say-hello", "approve")
    await harness.wait_for(ex, "succeeded")
    assert lines(log) == ["hello"], "the execution kept the version it started with"

    versions = (await http.get("/api/v1/runbooks/pasted/versions")).json()
    assert [(v["version"], v["author"], v["source_kind"], v["state"], v["live"], v["reviewed_by"])
            for v in versions] == [(1, "alice", "paste", "live", True, "bob"),
                                   (2, "bob", "paste", "pending_review", False, None)]
    diff = (await http.get("/api/v1/runbooks/pasted/diff", params={"from": 1, "to": 2})).json()
    assert "-   echo hello" in diff["diff"] and "+   echo goodbye" in diff["diff"]
    assert diff["steps"] == {"added": [], "removed": [], "changed": ["say-hello"]}
    rejected = await http.post("/api/v1/runbooks/pasted/versions/2/review",
                               json={"approve": False, "comment": "goodbye is wrong"}, headers=carol)
    assert rejected.json()["state"] == "rejected" and rejected.json()["review_comment"] == "goodbye is wrong"

    reverted = await http.post("/api/v1/runbooks/pasted/revert", json={"version": 1}, headers=carol)
    assert reverted.status_code == 201 and reverted.json()["version"] == 3
    assert reverted.json()["state"] == "live", "the same steps as the live version: nothing more dangerous"
    current = (await http.get("/api/v1/runbooks/pasted")).json()
    assert current["version"] == 3 and "echo hello" in current["steps"][0]["command"]
    acts = [(e.actor, e.action, e.detail.get("version")) for e in harness.services.audit_log.query(
        target="runbook:pasted")]
    assert acts == [("alice", "runbook.import", 1), ("bob", "runbook.review", 1), ("bob", "runbook.import", 2),
                    ("carol", "runbook.review", 2), ("carol", "runbook.revert", 3)]


async def test_uploading_a_file_and_bad_runbooks(harness: Harness) -> None:
    http = harness.http
    upload = await http.post("/api/v1/runbooks/upload", files={"file": ("disk-check.md", PASTED.replace(
        "id: pasted\n", ""), "text/markdown")})
    assert upload.status_code == 201, upload.text
    assert upload.json()["id"] == "disk-check"

    bad = PASTED.replace("Risk: yellow", "Risk: purple")
    refused = await http.post("/api/v1/runbooks", content=bad, headers={"content-type": "text/markdown"})
    assert refused.status_code == 422
    assert refused.json()["line"] == 12 and "purple" in refused.json()["detail"]
    assert (await http.post("/api/v1/runbooks", content=b"", headers={"content-type": "text/markdown"})
            ).status_code == 422
    assert (await http.post("/api/v1/runbooks", content=b"x", headers={"content-type": "image/png"})
            ).status_code == 415
    assert (await http.post("/api/v1/runbooks", json={"nope": 1})).status_code == 422
    assert (await http.get("/api/v1/runbooks/nope/versions")).status_code == 404
    assert (await http.get("/api/v1/runbooks/pasted/diff", params={"from": 1, "to": 9})).status_code == 404


def test_importing_a_git_repository_records_the_commit(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "runbooks" / "k8s").mkdir(parents=True)
    (repo / "runbooks" / "k8s" / "pod-crash.md").write_text(PASTED.replace("id: pasted\n", ""))
    (repo / "README.md").write_text("# not a runbook\n")
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "runbooks"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()

    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    create_schema(engine)
    store = Store(engine)
    report = import_git(store, repo, "main", "runbooks")
    assert report.failures == [] and [r.id for r in report.results] == ["k8s/pod-crash"]
    assert store.versions("k8s/pod-crash")[0].commit == commit
    assert import_git(store, repo, "main", "runbooks").new_versions == [], "unchanged: no new version"


def test_runbooks_import_and_parse_commands(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "127.0.0.1:1")
    env = {"DATABASE_URL": settings.database_url, "DATA_DIR": str(settings.data_dir), "PATH": "/usr/bin:/bin"}
    runbooks = TEST_RUNBOOKS
    exe = str(Path(__import__("sys").executable).parent / "runbooks")
    done = subprocess.run([exe, "import", str(runbooks)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "e2e-change" in done.stdout
    parsed = subprocess.run([exe, "parse", str(runbooks / "e2e-change.md"), "--json"], capture_output=True, text=True)
    assert parsed.returncode == 0
    assert '"id": "e2e-change"' in parsed.stdout and '"score"' in parsed.stdout
