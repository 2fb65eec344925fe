"""The Confluence connector against a local Confluence Cloud (REST API v2, tests/support/fake_confluence.py).

It reads a space's pages through the real atlassian-python-api client: every page across cursor
pagination, filtered by label and title prefix, converted to Markdown the runbook reader reads; too
large pages refused, unreadable ones kept as one manual step, and a connection that cannot be read
fails with one line that never holds the token.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest

from runbooks.authoring.reader import parse_text
from runbooks.connections.base import MAX_PAGE_BYTES, ConnectionFailed, ConnectionSpec, SourcePage
from runbooks.connections.confluence import pages
from support.confluence_corpus import corpus_files, load_corpus, markdown_to_storage
from support.fake_confluence import AUTHOR, EMAIL, TOKEN, FakeConfluence
from support.paths import corpus

DISK = ('<h2>Steps</h2><ol><li><p>Check free space</p><ac:structured-macro ac:name="code">'
        '<ac:parameter ac:name="language">bash</ac:parameter><ac:plain-text-body><![CDATA[df -h /]]>'
        "</ac:plain-text-body></ac:structured-macro></li></ol>")


@pytest.fixture
def fake() -> Iterator[FakeConfluence]:
    with FakeConfluence(page_size=3) as server:
        yield server


def spec_for(fake: FakeConfluence, **extra: object) -> ConnectionSpec:
    fields: dict[str, object] = {"kind": "confluence", "base_url": fake.url, "token": f"{EMAIL}:{TOKEN}",
                                 "space": "OPS", "timeout_seconds": 5.0, **extra}
    return ConnectionSpec.model_validate(fields)


def read(fake: FakeConfluence, **extra: object) -> list[SourcePage]:
    return list(pages(spec_for(fake, **extra)))


def test_every_page_of_the_space_is_read_across_cursor_pages(fake: FakeConfluence) -> None:
    for n in range(8):
        fake.add_page("OPS", f"Runbook {n}", f"<p>page {n}</p>")
    fake.add_page("OTHER", "Not ours", "<p>elsewhere</p>")
    found = read(fake)
    assert [p.title for p in found] == [f"Runbook {n}" for n in range(8)]
    assert sum("/pages" in r and "cursor=" in r for r in fake.requests) == 2  # 3 + 3 + 2 with page_size=3


def test_a_page_keeps_its_id_url_version_author_and_a_suggested_runbook_id(fake: FakeConfluence) -> None:
    page = fake.add_page("OPS", "Host disk almost full", DISK, author="acc-42")
    [found] = read(fake)
    assert found.key == page.id
    assert found.url == f"{fake.url}/wiki/spaces/OPS/pages/{page.id}/Host+disk+almost+full"
    assert (found.version, found.author, found.runbook_id) == ("1", "acc-42", "ops/host-disk-almost-full")
    assert found.unreadable is None and found.refused is None


def test_a_page_arrives_as_markdown_whose_steps_have_their_commands(fake: FakeConfluence) -> None:
    fake.add_page("OPS", "Host disk almost full", DISK)
    [found] = read(fake)
    assert found.text.startswith("# Host disk almost full\n")
    assert [s.command for s in parse_text(found.text, "page.md", found.runbook_id).steps] == ["df -h /"]


def test_a_changed_page_comes_back_with_a_new_version(fake: FakeConfluence) -> None:
    page = fake.add_page("OPS", "Host disk almost full", DISK)
    assert read(fake)[0].version == "1"
    fake.update_page(page.id, DISK.replace("df -h /", "df -h /var"))
    [found] = read(fake)
    assert found.version == "2" and "df -h /var" in found.text


def test_a_deleted_page_is_no_longer_read(fake: FakeConfluence) -> None:
    kept, gone = fake.add_page("OPS", "Kept", "<p>x</p>"), fake.add_page("OPS", "Gone", "<p>y</p>")
    fake.delete_page(gone.id)
    assert [p.key for p in read(fake)] == [kept.id]


def test_only_pages_with_the_label_are_read(fake: FakeConfluence) -> None:
    for n in range(5):
        page = fake.add_page("OPS", f"Page {n}", "<p>x</p>")
        if n % 2 == 0:
            fake.label(page.id, "runbook", "ops")
    fake.label(fake.add_page("OPS", "Other label", "<p>x</p>").id, "draft")
    assert [p.title for p in read(fake, label="runbook")] == ["Page 0", "Page 2", "Page 4"]


def test_only_pages_whose_title_starts_with_the_prefix_are_read(fake: FakeConfluence) -> None:
    for title in ("Runbook: disk", "Meeting notes", "Runbook: cpu", "runbook: lower case", "A Runbook: no"):
        fake.add_page("OPS", title, "<p>x</p>")
    assert [p.title for p in read(fake, title_prefix="Runbook:")] == ["Runbook: disk", "Runbook: cpu"]


def test_label_and_title_prefix_together_keep_pages_that_have_both(fake: FakeConfluence) -> None:
    both, _ = fake.add_page("OPS", "RB disk", "<p>x</p>"), fake.add_page("OPS", "RB cpu", "<p>x</p>")
    labelled_only = fake.add_page("OPS", "Notes", "<p>x</p>")
    fake.label(both.id, "runbook")
    fake.label(labelled_only.id, "runbook")
    assert [p.key for p in read(fake, label="runbook", title_prefix="RB ")] == [both.id]


def test_a_page_over_the_size_limit_is_refused_with_its_size_and_not_converted(fake: FakeConfluence) -> None:
    fake.add_page("OPS", "Huge", "<p>" + "x" * (MAX_PAGE_BYTES + MAX_PAGE_BYTES // 20) + "</p>")
    fake.add_page("OPS", "Small", DISK)
    huge, small = read(fake)
    assert huge.refused == "page is 10.5 MB; the limit is 10 MB" and huge.text == ""
    assert huge.version == "1" and small.refused is None and "df -h /" in small.text


def test_a_page_the_converter_cannot_read_becomes_one_manual_step_with_its_text(fake: FakeConfluence) -> None:
    fake.add_page("OPS", "Binary paste", "<p>restart the \x00 api with care</p>")
    [found] = read(fake)
    assert found.unreadable is not None and "control characters" in found.unreadable
    [step] = parse_text(found.text, "page.md", found.runbook_id).steps
    assert step.command is None and "restart the" in step.description and "api with care" in step.description


@pytest.mark.parametrize("token", ["ops@example.com:wrong-secret-123", "wrong-secret-123"])
def test_a_bad_token_fails_with_one_line_that_does_not_hold_the_token(fake: FakeConfluence, token: str) -> None:
    fake.add_page("OPS", "Page", "<p>x</p>")
    with pytest.raises(ConnectionFailed) as failed:
        read(fake, token=token)
    message = str(failed.value)
    assert message == f"Confluence refused the token (401 Unauthorized) at {fake.url}/wiki"
    assert "wrong-secret" not in message and "\n" not in message


def test_the_token_never_reaches_the_logs_even_at_debug_level(fake: FakeConfluence,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    fake.add_page("OPS", "Page", "<p>x</p>")
    with caplog.at_level(logging.DEBUG):
        read(fake)
        read(fake, token=TOKEN)
    assert "curl" in caplog.text and TOKEN not in caplog.text  # the client logs each request as a curl line


def test_a_bearer_token_is_accepted(fake: FakeConfluence) -> None:
    fake.add_page("OPS", "Page", "<p>x</p>")
    assert [p.title for p in read(fake, token=TOKEN)] == ["Page"]


def test_the_site_url_may_be_given_with_wiki_and_a_trailing_slash(fake: FakeConfluence) -> None:
    fake.add_page("OPS", "Page", "<p>x</p>")
    assert [p.title for p in read(fake, base_url=f"{fake.url}/wiki/")] == ["Page"]


def test_an_unknown_space_fails_with_one_line_naming_it(fake: FakeConfluence) -> None:
    fake.add_page("OPS", "Page", "<p>x</p>")
    with pytest.raises(ConnectionFailed, match=r"^Confluence has no space 'NOPE' that this token can see at "):
        read(fake, space="NOPE")


def test_a_refused_connection_fails_with_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: the connection is refused
        spec = ConnectionSpec(kind="confluence", base_url=f"http://127.0.0.1:{port}", token=f"{EMAIL}:{TOKEN}",
                              space="OPS", timeout_seconds=2)
        with pytest.raises(ConnectionFailed) as failed:
            list(pages(spec))
    assert str(failed.value) == f"cannot connect to Confluence at http://127.0.0.1:{port}/wiki (connection refused)"


def test_a_site_that_does_not_answer_in_time_fails_with_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)  # accepts the connection, never answers
        port = sock.getsockname()[1]
        spec = ConnectionSpec(kind="confluence", base_url=f"http://127.0.0.1:{port}", token=TOKEN, space="OPS",
                              timeout_seconds=0.2)
        with pytest.raises(ConnectionFailed) as failed:
            list(pages(spec))
    assert str(failed.value) == f"Confluence at http://127.0.0.1:{port}/wiki did not answer within 0.2 s"


# Corpus runbooks (path -> why) whose commands change on the way through Confluence: none. Every one of the
# 256 comes back with the same steps (738, 526 of them with a command), titles, languages and sections.
KNOWN_DIFFERENCES: dict[str, str] = {}


@pytest.mark.skipif(corpus() is None, reason="the runbook corpus (../shared/corpus) is not on this machine")
def test_every_corpus_runbook_read_back_from_confluence_has_the_same_steps_and_commands() -> None:
    root = corpus()
    assert root is not None
    differ: dict[str, tuple[list[str | None], list[str | None]]] = {}
    with FakeConfluence(page_size=25) as fake:
        sources = load_corpus(fake, "OPS", root)
        read_back = list(pages(ConnectionSpec(kind="confluence", base_url=fake.url, token=TOKEN, space="OPS")))
    assert len(read_back) == len(sources) == len(corpus_files(root))
    for page in read_back:
        path = sources[page.key]
        assert page.unreadable is None and page.refused is None and page.author == AUTHOR
        original = [s.command for s in parse_text(path.read_text(encoding="utf-8"), path.name, "x").steps]
        again = [s.command for s in parse_text(page.text, path.name, "x").steps]
        if original != again:
            differ[path.relative_to(root).as_posix()] = (original, again)
    assert sorted(differ) == sorted(KNOWN_DIFFERENCES)


def test_markdown_to_storage_keeps_code_as_code_macros_and_drops_front_matter() -> None:
    storage = markdown_to_storage("---\ntitle: X\nweight: 20\n---\n# X\n\n```console\n$ df -h ]]> x\n```\n\n    raw\n")
    assert "weight" not in storage and "<h1>X</h1>" in storage
    assert ('<ac:parameter ac:name="language">console</ac:parameter>'
            "<ac:plain-text-body><![CDATA[$ df -h ]]]]><![CDATA[> x]]></ac:plain-text-body>") in storage
    assert '<ac:structured-macro ac:name="noformat"' in storage and "<![CDATA[raw]]>" in storage
