"""Runbooks re-imported when someone pushes to GitHub or GitLab.

The webhook is trusted only when signed (GitHub) or carrying the shared token (GitLab); what a push
changed is narrowed to runbook files under the connection's folder and read at the pushed commit;
a full sync reads every runbook at one commit. The hosts are real HTTP servers on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from pydantic import SecretStr

from runbooks.connections import github, gitlab
from runbooks.connections.base import ConnectionFailed, ConnectionSpec
from runbooks.connections.git_push import FileTooLarge, Push, blob_sha, changes, runbook_id
from support.fake_git_hosts import ZERO, FakeGitHub, FakeGitLab, git_blob_sha, sign

SECRET = "webhook-secret"
DISK = "# Disk full\n\n1. Check usage\n\n```\ndf -h\n```\n"
CERT = "# Certificate expired\n\n1. Renew it\n"


def spec_for(host: FakeGitHub | FakeGitLab, **overrides: object) -> ConnectionSpec:
    kind = "github" if isinstance(host, FakeGitHub) else "gitlab"
    fields: dict[str, object] = {"kind": kind, "base_url": host.url, "token": SecretStr(host.token),
                                 "repo": host.repo, "subdir": "runbooks", "timeout_seconds": 5}
    return ConnectionSpec(**{**fields, **overrides})  # type: ignore[arg-type]


def pushed(module: ModuleType, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Push:
    push = module.parse_push(headers or {}, payload)
    assert isinstance(push, Push)
    return push


@pytest.fixture(params=["github", "gitlab"])
def host(request: pytest.FixtureRequest) -> Iterator[tuple[FakeGitHub | FakeGitLab, ModuleType]]:
    fake: FakeGitHub | FakeGitLab = FakeGitHub() if request.param == "github" else FakeGitLab()
    with fake:
        yield fake, github if request.param == "github" else gitlab


# --- who may call the webhook -------------------------------------------------------------------------


def test_a_github_delivery_signed_with_the_secret_is_accepted() -> None:
    body = b'{"ref": "refs/heads/main"}'
    assert github.verify(FakeGitHub.headers(body, SECRET), body, SECRET)


def test_a_github_delivery_is_accepted_whatever_the_case_of_the_header_name() -> None:
    body = b"{}"
    assert github.verify({"x-hub-signature-256": sign(body, SECRET)}, body, SECRET)


def test_a_github_delivery_whose_body_was_changed_after_signing_is_refused() -> None:
    headers = FakeGitHub.headers(b'{"ref": "refs/heads/main"}', SECRET)
    assert not github.verify(headers, b'{"ref": "refs/heads/evil"}', SECRET)


def test_a_github_delivery_signed_with_another_secret_is_refused() -> None:
    body = b"{}"
    assert not github.verify(FakeGitHub.headers(body, "another"), body, SECRET)


def test_a_github_delivery_without_a_signature_is_refused() -> None:
    assert not github.verify({"X-GitHub-Event": "push"}, b"{}", SECRET)
    assert not github.verify({"X-Hub-Signature-256": "sha256=nonsense"}, b"{}", SECRET)


def test_no_github_delivery_is_accepted_when_no_secret_is_configured() -> None:
    body = b"{}"
    assert not github.verify({"X-Hub-Signature-256": sign(body, "")}, body, "")


def test_a_gitlab_delivery_carrying_the_secret_token_is_accepted_and_any_other_refused() -> None:
    assert gitlab.verify(FakeGitLab.headers(SECRET), b"{}", SECRET)
    assert gitlab.verify({"x-gitlab-token": SECRET}, b"{}", SECRET)
    assert not gitlab.verify(FakeGitLab.headers("wrong"), b"{}", SECRET)
    assert not gitlab.verify({"X-Gitlab-Event": "Push Hook"}, b"{}", SECRET)
    assert not gitlab.verify(FakeGitLab.headers(""), b"{}", "")


# --- what a webhook says ------------------------------------------------------------------------------


def test_a_github_ping_is_not_a_push() -> None:
    body = json.dumps(FakeGitHub.ping_payload()).encode()
    assert github.parse_push(FakeGitHub.headers(body, SECRET, event="ping"), FakeGitHub.ping_payload()) is None


def test_a_tag_push_is_not_a_branch_push_on_either_host() -> None:
    with FakeGitHub() as hub, FakeGitLab() as lab:
        for fake, module, headers in ((hub, github, {"X-GitHub-Event": "push"}),
                                      (lab, gitlab, FakeGitLab.headers(SECRET, "Tag Push Hook"))):
            sha = fake.commit({"runbooks/disk.md": DISK})
            assert module.parse_push(headers, fake.push_payload(ZERO, sha, ref="refs/tags/v1.0")) is None


def test_gitlab_events_other_than_a_push_hook_are_ignored() -> None:
    payload = {"object_kind": "merge_request", "ref": "refs/heads/main", "after": "a" * 40}
    assert gitlab.parse_push(FakeGitLab.headers(SECRET, "Merge Request Hook"), payload) is None
    assert gitlab.parse_push({}, payload) is None


def test_a_push_reports_branch_commit_author_and_files(host: tuple[FakeGitHub | FakeGitLab, ModuleType]) -> None:
    fake, module = host
    first = fake.commit({"runbooks/disk.md": DISK, "runbooks/old.md": "# Old\n"}, author="alice")
    second = fake.commit({"runbooks/cert.md": CERT, "runbooks/disk.md": DISK + "2. Clean\n",
                          "runbooks/old.md": None}, author="bob")
    push = pushed(module, fake.push_payload(first, second, pusher="carol"))
    assert push == Push(branch="main", commit=second, before=first, author="carol", added=["runbooks/cert.md"],
                        modified=["runbooks/disk.md"], removed=["runbooks/old.md"])


def test_a_file_added_then_modified_in_one_push_is_read_once(host: tuple[FakeGitHub | FakeGitLab, ModuleType]) -> None:
    fake, module = host
    base = fake.commit({"README.md": "hello"})
    fake.commit({"runbooks/disk.md": DISK})
    tip = fake.commit({"runbooks/disk.md": DISK + "more\n"})
    push = pushed(module, fake.push_payload(base, tip))
    assert (push.added, push.modified, push.removed) == ([], ["runbooks/disk.md"], [])
    assert changes(spec_for(fake), push) == (["runbooks/disk.md"], [])


def test_a_file_added_then_removed_in_one_push_counts_as_removed(
        host: tuple[FakeGitHub | FakeGitLab, ModuleType]) -> None:
    fake, module = host
    base = fake.commit({"README.md": "hello"})
    fake.commit({"runbooks/tmp.md": DISK})
    tip = fake.commit({"runbooks/tmp.md": None})
    push = pushed(module, fake.push_payload(base, tip))
    assert changes(spec_for(fake), push) == ([], ["runbooks/tmp.md"])


def test_deleting_the_branch_is_reported_and_removes_nothing(host: tuple[FakeGitHub | FakeGitLab, ModuleType]) -> None:
    fake, module = host
    tip = fake.commit({"runbooks/disk.md": DISK})
    push = pushed(module, fake.push_payload(tip, ZERO))
    assert push.deleted and push.commit == ZERO and not push.resync
    assert changes(spec_for(fake), push) == ([], [])


def test_a_new_branch_or_a_force_push_asks_for_a_full_sync() -> None:
    with FakeGitHub() as hub:
        tip = hub.commit({"runbooks/disk.md": DISK})
        assert pushed(github, hub.push_payload(ZERO, tip)).resync
        again = hub.commit({"runbooks/disk.md": CERT})
        assert pushed(github, hub.push_payload(tip, again, forced=True)).resync
        assert not pushed(github, hub.push_payload(tip, again)).resync


def test_a_gitlab_push_of_more_commits_than_the_hook_lists_asks_for_a_full_sync() -> None:
    with FakeGitLab() as lab:
        base = lab.commit({"README.md": "hello"})
        for n in range(21):
            tip = lab.commit({f"runbooks/r{n}.md": DISK})
        payload = lab.push_payload(base, tip)
        assert len(payload["commits"]) == 20 and payload["total_commits_count"] == 21
        assert pushed(gitlab, payload, FakeGitLab.headers(SECRET)).resync


def test_the_gitlab_pusher_is_named_by_username_then_by_name() -> None:
    payload = {"object_kind": "push", "ref": "refs/heads/main", "before": "a" * 40, "after": "b" * 40,
               "user_name": "Dana Scully", "user_username": "", "commits": []}
    assert pushed(gitlab, payload).author == "Dana Scully"


# --- which files count --------------------------------------------------------------------------------


def test_only_runbook_files_under_the_folder_on_the_configured_branch_are_imported() -> None:
    spec = ConnectionSpec(kind="github", base_url="https://api.github.com", token=SecretStr("t"), repo="a/b",
                          subdir="/ops/runbooks/")
    push = Push(branch="main", commit="c" * 40,
                added=["ops/runbooks/db/failover.md", "ops/runbooks/README.md", "ops/runbooks/script.sh",
                       "docs/other.md", "ops/runbooks-old/x.md"],
                modified=["ops/runbooks/deploy.yaml"], removed=["ops/runbooks/gone.yml", "src/gone.md"])
    assert changes(spec, push) == (["ops/runbooks/db/failover.md", "ops/runbooks/deploy.yaml"],
                                   ["ops/runbooks/gone.yml"])
    assert changes(spec, push.model_copy(update={"branch": "feature"})) == ([], [])


def test_a_runbook_id_is_its_path_under_the_folder_without_the_suffix() -> None:
    spec = ConnectionSpec(kind="gitlab", base_url="https://gitlab.com", token=SecretStr("t"), repo="a/b",
                          subdir="runbooks")
    assert runbook_id(spec, "runbooks/db/failover.md") == "db/failover"
    assert runbook_id(spec, "runbooks/deploy.v2.yaml") == "deploy.v2"
    assert runbook_id(spec.model_copy(update={"subdir": ""}), "runbooks/disk.md") == "runbooks/disk"


# --- reading the host ---------------------------------------------------------------------------------


def test_a_file_is_read_as_it_was_at_the_pushed_commit(host: tuple[FakeGitHub | FakeGitLab, ModuleType]) -> None:
    fake, module = host
    first = fake.commit({"runbooks/db/disk.md": DISK})
    fake.commit({"runbooks/db/disk.md": CERT})
    spec = spec_for(fake)
    assert module.fetch(spec, "runbooks/db/disk.md", first) == DISK
    assert module.fetch(spec, "runbooks/db/disk.md", "main") == CERT
    assert module.fetch(spec, "runbooks/missing.md", first) is None


def test_one_pushed_file_comes_back_as_a_page_whose_version_matches_the_full_sync(
        host: tuple[FakeGitHub | FakeGitLab, ModuleType]) -> None:
    fake, module = host
    tip = fake.commit({"runbooks/db/disk.md": DISK})
    one = module.page(spec_for(fake), "runbooks/db/disk.md", tip)
    assert one is not None
    assert (one.key, one.title, one.text, one.runbook_id) == ("runbooks/db/disk.md", "disk", DISK, "db/disk")
    assert one.version == git_blob_sha(DISK.encode()) == blob_sha(DISK.encode())
    assert one.url.endswith(f"/acme/ops/{'-/' if module is gitlab else ''}blob/{tip}/runbooks/db/disk.md")
    assert [p.version for p in module.pages(spec_for(fake))] == [one.version]
    assert module.page(spec_for(fake), "runbooks/missing.md", tip) is None


def test_a_full_sync_reads_every_runbook_under_the_folder_at_the_branch_tip(
        host: tuple[FakeGitHub | FakeGitLab, ModuleType]) -> None:
    fake, module = host
    fake.commit({"runbooks/disk.md": "# old\n", "runbooks/README.md": "# about", "src/app.md": "# app",
                 "runbooks/db/failover.yaml": "title: Failover\nsteps: []\n", "runbooks/notes.txt": "x"})
    fake.commit({"runbooks/disk.md": DISK})
    fake.commit({"runbooks/feature.md": "# Feature only\n"}, branch="feature")
    found = list(module.pages(spec_for(fake)))
    assert [(p.key, p.runbook_id, p.title) for p in found] == [
        ("runbooks/db/failover.yaml", "db/failover", "failover"), ("runbooks/disk.md", "disk", "disk")]
    assert found[1].text == DISK and found[1].version == git_blob_sha(DISK.encode())
    assert found[1].url.endswith("blob/main/runbooks/disk.md")
    assert {p.key for p in module.pages(spec_for(fake), "feature")} == {
        "runbooks/db/failover.yaml", "runbooks/disk.md", "runbooks/feature.md"}


def test_a_full_sync_reads_the_listing_and_the_files_at_one_pinned_commit(
        host: tuple[FakeGitHub | FakeGitLab, ModuleType]) -> None:
    fake, module = host
    tip = fake.commit({"runbooks/disk.md": DISK})
    list(module.pages(spec_for(fake)))
    reads = [r for r in fake.requests if "contents/" in r or "/raw" in r or "trees/" in r or "tree?" in r]
    assert reads and all(tip in r for r in reads)


def test_a_gitlab_full_sync_follows_every_page_of_the_tree() -> None:
    with FakeGitLab() as lab:
        lab.commit({f"runbooks/r{n:03}.md": f"# R{n}\n" for n in range(230)})
        found = list(gitlab.pages(spec_for(lab)))
        assert len(found) == 230 and found[-1].runbook_id == "r229"
        assert sum("repository/tree" in r for r in lab.requests) == 3


def test_a_truncated_github_tree_is_walked_folder_by_folder() -> None:
    with FakeGitHub(tree_limit=3) as hub:
        hub.commit({"runbooks/a/one.md": "# One\n", "runbooks/b/two.md": "# Two\n", "runbooks/c.md": "# C\n",
                    "src/x.py": "", "src/y.py": ""})
        assert [p.runbook_id for p in github.pages(spec_for(hub))] == ["a/one", "b/two", "c"]


def test_a_gitlab_project_named_by_numeric_id_links_to_its_web_address() -> None:
    with FakeGitLab(project_id=7) as lab:
        tip = lab.commit({"runbooks/disk.md": DISK})
        one = gitlab.page(spec_for(lab, repo="7"), "runbooks/disk.md", tip)
        assert one is not None and one.url == f"{lab.url}/acme/ops/-/blob/{tip}/runbooks/disk.md"


def test_web_addresses_follow_the_api_root_for_github_com_and_enterprise_server() -> None:
    com = ConnectionSpec(kind="github", base_url="https://api.github.com", token=SecretStr("t"), repo="acme/ops")
    ghe = com.model_copy(update={"base_url": "https://ghe.example.com/api/v3/"})
    assert github.web_url(com, "runbooks/a b.md", "main") == "https://github.com/acme/ops/blob/main/runbooks/a%20b.md"
    assert github.web_url(ghe, "x.md", "main") == "https://ghe.example.com/acme/ops/blob/main/x.md"


def test_a_configured_folder_missing_from_the_repository_fails_the_sync_instead_of_emptying_it(
        host: tuple[FakeGitHub | FakeGitLab, ModuleType]) -> None:
    fake, module = host
    fake.commit({"docs/disk.md": DISK})
    with pytest.raises(ConnectionFailed, match="no folder 'runbooks'"):
        list(module.pages(spec_for(fake)))


def test_a_file_over_the_size_limit_is_refused_not_read(
        host: tuple[FakeGitHub | FakeGitLab, ModuleType], monkeypatch: pytest.MonkeyPatch) -> None:
    fake, module = host
    import runbooks.connections.git_push as shared
    monkeypatch.setattr(shared, "MAX_PAGE_BYTES", 100)
    monkeypatch.setattr(github, "MAX_PAGE_BYTES", 100)
    tip = fake.commit({"runbooks/huge.md": "# Huge\n" + "x" * 500, "runbooks/disk.md": DISK})
    found = {p.key: p for p in module.pages(spec_for(fake))}
    assert found["runbooks/huge.md"].refused and "too large" in found["runbooks/huge.md"].refused
    assert found["runbooks/huge.md"].text == "" and not found["runbooks/disk.md"].refused
    assert module.page(spec_for(fake), "runbooks/huge.md", tip).refused
    with pytest.raises(FileTooLarge):
        module.fetch(spec_for(fake), "runbooks/huge.md", tip)


def test_both_hosts_report_whether_a_branch_is_protected(host: tuple[FakeGitHub | FakeGitLab, ModuleType]) -> None:
    fake, module = host
    fake.commit({"runbooks/disk.md": DISK})
    fake.commit({"runbooks/x.md": DISK}, branch="feature")
    fake.commit({"runbooks/x.md": DISK}, branch="release/1.0")
    fake.protected |= {"main", "release/*"}
    spec = spec_for(fake)
    assert module.protected(spec, "main")
    assert module.protected(spec, "release/1.0")
    assert not module.protected(spec, "feature")
    assert not module.protected(spec, "no-such-branch")


# --- when the host cannot be read ---------------------------------------------------------------------


def test_a_rejected_token_fails_in_one_line_that_never_shows_the_token(
        host: tuple[FakeGitHub | FakeGitLab, ModuleType]) -> None:
    fake, module = host
    tip = fake.commit({"runbooks/disk.md": DISK})
    spec = spec_for(fake, token=SecretStr("leaked-secret-value"))
    for call in (lambda: list(module.pages(spec)), lambda: module.fetch(spec, "runbooks/disk.md", tip),
                 lambda: module.protected(spec, "main")):
        with pytest.raises(ConnectionFailed) as failed:
            call()
        message = str(failed.value)
        assert "\n" not in message and "leaked-secret-value" not in message
        assert message == ("GitHub refused the token (401 Bad credentials)" if module is github
                           else "GitLab refused the token (401 Unauthorized)")


def test_an_unknown_repository_fails_in_one_line_naming_it(host: tuple[FakeGitHub | FakeGitLab, ModuleType]) -> None:
    fake, module = host
    fake.commit({"runbooks/disk.md": DISK})
    with pytest.raises(ConnectionFailed, match=r"^(GitHub|GitLab) has no repository 'acme/nope' .*\(404 .*\)$"):
        list(module.pages(spec_for(fake, repo="acme/nope")))


def test_an_unknown_branch_fails_in_one_line_naming_it(host: tuple[FakeGitHub | FakeGitLab, ModuleType]) -> None:
    fake, module = host
    fake.commit({"runbooks/disk.md": DISK})
    with pytest.raises(ConnectionFailed, match=r"acme/ops has no branch 'nope' \(404\)$"):
        list(module.pages(spec_for(fake, branch="nope")))


def test_an_unreachable_host_fails_in_one_line(host: tuple[FakeGitHub | FakeGitLab, ModuleType]) -> None:
    fake, module = host
    with FakeGitHub() as gone:
        url = gone.url
    with pytest.raises(ConnectionFailed, match=r"^cannot reach Git(Hub|Lab) at http://127\.0\.0\.1:\d+") as failed:
        module.fetch(spec_for(fake, base_url=url), "runbooks/disk.md", "main")
    assert "\n" not in str(failed.value)
