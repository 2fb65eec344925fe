"""Specification of the Notion connector, against a local Notion (tests/support/fake_notion.py).

The real `notion-client` talks HTTP to a server on 127.0.0.1 that answers in Notion's wire format with
pages of 3 results, so every listing is paginated. What an operator relies on: every runbook page is
found (a database, or a page and the pages below it), each keeps its link, version and author, a change
shows as a new version, nothing huge or unreadable becomes a command, and a connection that cannot be
read says why in one line without ever showing the token.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbooks.authoring.reader import parse_text
from runbooks.connections.base import ConnectionFailed, ConnectionSpec, SourcePage
from runbooks.connections.notion import pages
from support.fake_notion import (
    TOKEN, USER, FakeNotion, block, code, heading, markdown_to_blocks, numbered, paragraph, rich_text,
)
from support.paths import corpus


@pytest.fixture
def notion() -> Iterator[FakeNotion]:
    with FakeNotion() as fake:
        yield fake


def spec(url: str, root: str, **extra: object) -> ConnectionSpec:
    return ConnectionSpec(**{"kind": "notion", "base_url": url, "token": TOKEN, "database": root, **extra})


def read(url: str, root: str, **extra: object) -> list[SourcePage]:
    return list(pages(spec(url, root, **extra)))


def runbook_blocks(command: str) -> list[dict[str, object]]:
    return [paragraph("When the disk fills up."), heading(1, "Steps"),
            numbered("Look", [code(command)]), numbered("Tell the owner")]


def commands(text: str) -> list[str | None]:
    return [s.command for s in parse_text(text, None, "x").steps]


def test_every_page_of_a_database_is_read_across_pages_of_results(notion: FakeNotion) -> None:
    db = notion.add_database()
    for n in range(7):
        notion.add_page(f"Runbook {n}", runbook_blocks(f"df -h /mnt/{n}"), database=db)
    found = read(notion.url, db)
    assert [p.title for p in found] == [f"Runbook {n}" for n in range(7)]
    assert [commands(p.text)[0] for p in found] == [f"df -h /mnt/{n}" for n in range(7)]
    assert sum(1 for _, path in notion.requests if path.endswith("/query")) == 3  # 3 + 3 + 1
    assert set(notion.versions) == {"2025-09-03"}
    assert len(read(notion.url + "/v1/", db)) == 7  # the versioned root, as often pasted, works too


def test_a_long_page_is_read_to_its_last_block(notion: FakeNotion) -> None:
    db = notion.add_database()
    steps = [numbered(f"Step {n}", [code(f"echo {n}")]) for n in range(8)]
    page = notion.add_page("Long", [heading(1, "Steps"), *steps], database=db)
    [found] = read(notion.url, db)
    assert commands(found.text) == [f"echo {n}" for n in range(8)]
    assert notion.requests.count(("GET", f"/v1/blocks/{page}/children")) == 3  # 9 blocks, 3 at a time


def test_a_page_id_reads_that_page_and_every_page_below_it(notion: FakeNotion) -> None:
    root = notion.add_page("Runbooks", [paragraph("Our runbooks.")])
    disk = notion.add_page("Disk full", runbook_blocks("df -h"), parent=root)
    notion.add_page("Inodes", runbook_blocks("df -i"), parent=disk)
    notion.add_page("Memory", runbook_blocks("free -m"), parent=root)
    found = read(notion.url, root)
    assert [p.title for p in found] == ["Runbooks", "Disk full", "Inodes", "Memory"]
    assert found[0].text == "# Runbooks\n\nOur runbooks.\n"  # child pages are pages of their own, not content
    assert commands(found[2].text)[0] == "df -i"


def test_a_database_inside_a_page_tree_is_read_too(notion: FakeNotion) -> None:
    root = notion.add_page("Team space")
    db = notion.add_database("Inline runbooks", parent=root)
    notion.add_page("Queue stuck", runbook_blocks("rabbitmqctl list_queues"), database=db)
    assert [p.title for p in read(notion.url, root)] == ["Team space", "Queue stuck"]


def test_only_pages_whose_title_starts_with_the_prefix_are_runbooks(notion: FakeNotion) -> None:
    db = notion.add_database()
    notion.add_page("RB: Disk full", runbook_blocks("df -h"), database=db)
    notion.add_page("Meeting notes", [paragraph("nothing to run")], database=db)
    assert [p.title for p in read(notion.url, db, title_prefix="RB:")] == ["RB: Disk full"]
    root = notion.add_page("Team space")
    notion.add_page("Onboarding", [], parent=root)
    holder = notion.add_page("Archive", [], parent=root)
    notion.add_page("RB: Old restore", runbook_blocks("pg_restore -l dump"), parent=holder)
    assert [p.title for p in read(notion.url, root, title_prefix="RB:")] == ["RB: Old restore"]


def test_each_page_keeps_its_link_version_author_and_a_suggested_id(notion: FakeNotion) -> None:
    db = notion.add_database()
    page = notion.add_page("Host disk full!", runbook_blocks("df -h"), database=db, author="user-42")
    [found] = read(notion.url, db)
    assert found.key == page
    assert found.url == f"https://www.notion.so/Host-disk-full-{page.replace('-', '')}"
    assert found.version == "2024-05-01T09:01:00.000Z"  # last_edited_time
    assert found.author == "user-42"  # last_edited_by.id
    assert found.runbook_id == "notion/host-disk-full"
    assert found.text.startswith("# Host disk full!\n") and found.refused is None and found.unreadable is None


def test_a_changed_page_has_a_new_version_and_a_trashed_one_is_gone(notion: FakeNotion) -> None:
    db = notion.add_database()
    page = notion.add_page("Disk full", runbook_blocks("df -h"), database=db)
    other = notion.add_page("Memory", runbook_blocks("free -m"), database=db)
    [before, _] = read(notion.url, db)
    notion.change_page(page, runbook_blocks("df -h /var"), author=USER)
    after = {p.key: p for p in read(notion.url, db)}
    assert after[page].version != before.version and after[page].version > before.version
    assert commands(after[page].text)[0] == "df -h /var"
    notion.delete_page(other)
    assert [p.key for p in read(notion.url, db)] == [page]


def test_a_page_over_10_mb_is_refused_without_reading_it_all(notion: FakeNotion) -> None:
    db = notion.add_database()
    huge = [code("x" * 200_000, "plain text") for _ in range(60)]  # 60 blocks of 100 rich texts: 12 MB
    page = notion.add_page("Giant log dump", huge, database=db)
    notion.add_page("Small", runbook_blocks("uptime"), database=db)
    giant, small = read(notion.url, db)
    assert giant.refused is not None and giant.refused.startswith("page is over 1")
    assert giant.refused.endswith(" MB; the limit is 10 MB") and giant.text == ""
    assert notion.requests.count(("GET", f"/v1/blocks/{page}/children")) < 20  # stopped before the end
    assert small.refused is None and commands(small.text)[0] == "uptime"


def test_a_page_the_converter_cannot_read_becomes_one_manual_step_with_its_text(notion: FakeNotion) -> None:
    db = notion.add_database()
    broken = {"type": "code", "code": {"rich_text": "rm -rf /var/lib/etcd", "language": "shell"}}
    notion.add_page("Etcd restore", [paragraph("Restore etcd from the backup."), broken], database=db)
    [found] = read(notion.url, db)
    assert found.unreadable is not None and "(code) could not be read" in found.unreadable
    [step] = parse_text(found.text, None, "x").steps
    assert step.command is None and step.manual
    assert "Restore etcd from the backup." in step.description and "rm -rf /var/lib/etcd" in step.description


def test_a_bad_token_is_one_line_that_never_shows_the_token(notion: FakeNotion) -> None:
    db = notion.add_database()
    secret = "secret_this-token-is-wrong-12345"
    with pytest.raises(ConnectionFailed) as failure:
        read(notion.url, db, token=secret)
    message = str(failure.value)
    assert "401" in message and "token" in message and "\n" not in message
    assert secret not in message and "this-token-is-wrong" not in repr(failure.value)


def test_an_unknown_database_is_one_line_naming_it(notion: FakeNotion) -> None:
    missing = "0b5f1d7e-0000-4000-8000-00000000dead"
    with pytest.raises(ConnectionFailed, match=rf"no database or page {missing}.*404") as failure:
        read(notion.url, missing)
    assert "\n" not in str(failure.value)


def test_notion_unreachable_is_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConnectionFailed, match=rf"cannot reach Notion at http://127.0.0.1:{port}") as failure:
        read(f"http://127.0.0.1:{port}", "any")
    assert "\n" not in str(failure.value) and TOKEN not in str(failure.value)


def test_notion_too_slow_is_one_line_within_the_connection_timeout() -> None:
    with socket.socket() as server:  # accepts, never answers
        server.bind(("127.0.0.1", 0))
        server.listen()
        accepted: list[socket.socket] = []
        threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True).start()
        with pytest.raises(ConnectionFailed, match=r"did not answer within 0.2 s"):
            read(f"http://127.0.0.1:{server.getsockname()[1]}", "any", timeout_seconds=0.2)
        for conn in accepted:
            conn.close()


def test_a_missing_database_id_is_refused_at_once() -> None:
    with pytest.raises(ConnectionFailed, match="needs a database id or a page id"):
        list(pages(ConnectionSpec(kind="notion", base_url="http://127.0.0.1:9", token=TOKEN)))


def test_inline_code_and_a_nested_toggle_survive_the_trip_through_notion(notion: FakeNotion) -> None:
    db = notion.add_database()
    notion.add_page("Kubelet down", [
        heading(1, "Mitigation"),
        paragraph([*rich_text("Restart it with "), *rich_text("systemctl restart kubelet", code=True)]),
        block("toggle", "If it keeps failing", [block("callout", "Look at the journal", [code("journalctl -u kubelet")],
                                                      icon={"type": "emoji", "emoji": "🔥"})]),
    ], database=db)
    [found] = read(notion.url, db)
    assert commands(found.text) == ["systemctl restart kubelet", "journalctl -u kubelet"]


CORPUS = corpus()
CORPUS_PAGES = ["prometheus-operator-runbooks/node/NodeFilesystemSpaceFillingUp.md",
                "openshift-runbooks/cluster-etcd-operator/etcdDatabaseQuotaLowSpace.md",
                "prometheus-operator-runbooks/kubernetes/KubePodCrashLooping.md"]


@pytest.mark.skipif(CORPUS is None, reason="the real runbook corpus (../shared/corpus) is not on this machine")
def test_real_runbooks_written_in_notion_give_the_same_commands_as_their_markdown(notion: FakeNotion) -> None:
    assert CORPUS is not None
    db = notion.add_database()
    expected = {}
    for rel in CORPUS_PAGES:
        markdown = (CORPUS / rel).read_text(encoding="utf-8")
        title, blocks = markdown_to_blocks(markdown)
        notion.add_page(title, blocks, database=db)
        expected[title] = [s.command for s in parse_text(markdown, None, Path(rel).stem).steps if s.command]
        assert expected[title], f"{rel} should hold commands"
    found = read(notion.url, db)
    assert [p.title for p in found] == list(expected)
    for page in found:
        assert [c for c in commands(page.text) if c] == expected[page.title], page.title
