"""Specification of the Notion block converter: a Notion page reads as the runbook its author sees.

Blocks are written in the shape Notion's API returns (tests/support/fake_notion.py builds them), with
children nested under `children` as the connector fetches them. What matters is what the runbook
reader then finds: the steps, their commands and languages, nothing lost and nothing invented.
"""

from __future__ import annotations

from typing import Any

import pytest
from markdown_it import MarkdownIt

from runbooks.authoring.reader import parse_text
from runbooks.connections.notion_blocks import UnreadableBlocks, blocks_to_markdown, plain_text, unreadable_page
from runbooks.model import Risk
from support.fake_notion import block, bulleted, code, heading, numbered, paragraph, rich_text


def md(*blocks: dict[str, Any], title: str = "Disk full") -> str:
    return blocks_to_markdown(title, list(blocks))


def body(*blocks: dict[str, Any]) -> str:
    return md(*blocks).split("\n", 2)[2].rstrip("\n")


def test_the_page_title_comes_first_as_the_runbook_heading() -> None:
    assert md(paragraph("Free some space.")) == "# Disk full\n\nFree some space.\n"
    assert md(title="") == "# Untitled\n"


def test_notion_headings_sit_one_level_below_the_page_title() -> None:
    assert body(heading(1, "Diagnosis"), heading(2, "On the host"), heading(3, "Logs")) == (
        "## Diagnosis\n\n### On the host\n\n#### Logs")


def test_paragraphs_are_separated_and_empty_ones_dropped() -> None:
    assert body(paragraph("One."), paragraph(""), paragraph("Two.")) == "One.\n\nTwo."


def test_a_code_block_becomes_a_fenced_block_with_its_language() -> None:
    assert body(code("df -h /", "shell")) == "```sh\ndf -h /\n```"
    assert body(code("df -h /", "bash")) == "```sh\ndf -h /\n```"
    assert body(code("SELECT 1;", "sql")) == "```sql\nSELECT 1;\n```"
    assert body(code("a: 1", "yaml")) == "```yaml\na: 1\n```"
    assert body(code("x", "c++")) == "```cpp\nx\n```"


def test_a_plain_text_code_block_lets_the_reader_decide_from_its_content() -> None:
    assert body(code("kubectl get pods", "plain text")) == "```\nkubectl get pods\n```"
    runbook = parse_text(md(heading(1, "Diagnosis"), code("kubectl get pods -n web", "plain text")), None, "x")
    assert [s.command for s in runbook.steps] == ["kubectl get pods -n web"]


def test_a_code_block_holding_backtick_fences_gets_a_longer_fence() -> None:
    assert body(code("```\ninner\n```", "markdown")) == "````markdown\n```\ninner\n```\n````"


def test_numbered_items_are_a_numbered_list_and_a_nested_code_block_is_that_steps_command() -> None:
    text = md(heading(1, "Steps"),
              numbered("Check free space", [code("df -h /")]),
              numbered("Restart the agent", [paragraph("Risk: yellow (restarts it)"),
                                             code("systemctl restart agent", "bash")]))
    assert "1. Check free space\n   ```sh\n   df -h /\n   ```\n2. Restart the agent\n   Risk: yellow" in text
    steps = parse_text(text, None, "x").steps
    assert [(s.title, s.command) for s in steps] == [("Check free space", "df -h /"),
                                                    ("Restart the agent", "systemctl restart agent")]
    assert steps[1].risk is Risk.yellow and steps[1].risk_explicit


def test_a_numbered_list_interrupted_by_another_block_starts_again_at_one() -> None:
    assert body(numbered("a"), numbered("b"), paragraph("then"), numbered("c")) == "1. a\n2. b\n\nthen\n\n1. c"


def test_bulleted_items_and_nested_items_are_indented_lists() -> None:
    assert body(bulleted("disk", [bulleted("inodes")]), bulleted("memory")) == "- disk\n  - inodes\n- memory"
    assert body(numbered("first", [bulleted("detail")])) == "1. first\n   - detail"


def test_a_to_do_is_a_checklist_item() -> None:
    assert body(block("to_do", "Page the owner", checked=False), block("to_do", "Open an incident", checked=True)) == (
        "- [ ] Page the owner\n- [x] Open an incident")


def test_a_toggle_gives_its_text_then_its_children() -> None:
    assert body(block("toggle", "If the disk is still full", [code("du -sh /var/log")])) == (
        "If the disk is still full\n\n```sh\ndu -sh /var/log\n```")


def test_a_callout_keeps_its_text_and_drops_its_icon() -> None:
    callout = block("callout", "Never delete /var/lib/etcd", icon={"type": "emoji", "emoji": "⚠️"}, color="red")
    assert body(callout) == "Never delete /var/lib/etcd"


def test_a_quote_is_a_blockquote_with_its_children() -> None:
    assert body(block("quote", "Wait for the pager", [paragraph("then act")])) == "> Wait for the pager\n>\n> then act"


def test_a_divider_is_a_thematic_break() -> None:
    assert body(paragraph("a"), {"type": "divider", "divider": {}}, paragraph("b")) == "a\n\n---\n\nb"


def test_inline_code_bold_italic_and_links_keep_their_markup() -> None:
    text = [*rich_text("Run "), *rich_text("df -h", code=True), *rich_text(" "), *rich_text("now ", bold=True),
            *rich_text("carefully", italic=True), *rich_text(", see "), *rich_text("the doc", link="https://x.test/d")]
    assert body(paragraph(text)) == "Run `df -h` **now** *carefully*, see [the doc](https://x.test/d)"


def test_inline_code_holding_backticks_is_still_one_code_span() -> None:
    span = body(paragraph(rich_text("echo `date`", code=True)))
    assert span == "`` echo `date` ``"
    [inline] = [t for t in MarkdownIt("commonmark").parse(span) if t.type == "inline"]
    assert [(c.type, c.content) for c in inline.children or []] == [("code_inline", "echo `date`")]


def test_inline_code_in_prose_is_read_as_a_command() -> None:
    said = [*rich_text("Restart it with "), *rich_text("systemctl restart kubelet", code=True), *rich_text(".")]
    text = md(heading(1, "Mitigation"), paragraph(said))
    assert [s.command for s in parse_text(text, None, "x").steps] == ["systemctl restart kubelet"]


def test_a_table_becomes_a_markdown_table() -> None:
    row = lambda *cells: {"type": "table_row", "table_row": {"cells": [rich_text(c) for c in cells]}}  # noqa: E731
    table = {"type": "table", "table": {"table_width": 2, "has_column_header": True}, "has_children": True,
             "children": [row("Impact", "Who"), row("High", "SRE")]}
    assert body(table) == "| Impact | Who |\n|---|---|\n| High | SRE |"


def test_unsupported_blocks_give_their_text_or_nothing() -> None:
    assert body({"type": "bookmark", "bookmark": {"url": "https://status.test", "caption": []}}) == (
        "<https://status.test>")
    assert body({"type": "image", "image": {"caption": rich_text("the dashboard"), "type": "external"}}) == (
        "the dashboard")
    assert body({"type": "unsupported", "unsupported": {}}, paragraph("kept")) == "kept"
    assert body({"type": "child_page", "child_page": {"title": "Sub page"}}, paragraph("kept")) == "kept"


def test_a_converted_page_parses_into_steps_with_their_commands() -> None:
    page = [paragraph("When the root file system fills up."),
            heading(1, "Steps"),
            numbered(rich_text("Find what grew", bold=True), [code("du -xh / --max-depth=2 | sort -h | tail")]),
            numbered("Rotate the logs", [paragraph("Rollback:"), code("true", "bash")]),
            numbered("Tell the owner"),
            numbered("Vacuum the journal", [code("journalctl --vacuum-time=1d", "bash")])]
    runbook = parse_text(md(*page, title="Host disk full"), None, "notion/host-disk-full")
    assert runbook.title == "Host disk full"
    assert [(s.title, s.command) for s in runbook.steps] == [
        ("Find what grew", "du -xh / --max-depth=2 | sort -h | tail"), ("Rotate the logs", None),
        ("Tell the owner", None), ("Vacuum the journal", "journalctl --vacuum-time=1d")]


def test_blocks_of_the_wrong_shape_are_refused_naming_the_block() -> None:
    broken = {"id": "b-1", "type": "paragraph", "paragraph": {"rich_text": "not a list"}}
    with pytest.raises(UnreadableBlocks, match=r"block b-1 \(paragraph\)"):
        md(numbered("fine", [broken]))
    with pytest.raises(UnreadableBlocks, match="not a Notion block"):
        md({"no": "type"})  # type: ignore[arg-type]


def test_the_text_of_unreadable_blocks_is_still_recovered() -> None:
    broken = [paragraph("Restart the agent"), {"type": "code", "code": {"rich_text": "systemctl restart agent"}},
              numbered("then", [paragraph("check it")])]
    assert plain_text(broken) == "Restart the agent\nsystemctl restart agent\nthen\ncheck it"


def test_an_unreadable_page_is_one_manual_step_holding_the_original_text() -> None:
    raw = "Risk: green\n```sh\nrm -rf /var/lib/etcd\n```\n## Steps\n1. If: steps.x.exit_code == 0\n    indented"
    runbook = parse_text(unreadable_page("Etcd restore", raw, "block b-1 (table) could not be read"), None, "x")
    assert runbook.title == "Etcd restore"
    [step] = runbook.steps
    assert step.command is None and step.manual and step.risk is Risk.yellow
    assert "block b-1 (table) could not be read" in (step.source or "")
    assert "rm -rf /var/lib/etcd" in step.description and "If: steps.x.exit_code == 0" in step.description
