"""Confluence storage format -> Markdown: what a Confluence page says reaches the runbook reader intact.

Each test is one rule of runbooks/connections/confluence_storage.py, written as Confluence stores it.
"""

from __future__ import annotations

import pytest

from runbooks.authoring.reader import parse_text
from runbooks.connections.confluence_storage import UnreadableStorage, storage_to_markdown, unreadable_page


def code(body: str, language: str | None = None, name: str = "code") -> str:
    lang = f'<ac:parameter ac:name="language">{language}</ac:parameter>' if language else ""
    return (f'<ac:structured-macro ac:name="{name}" ac:schema-version="1">{lang}'
            f"<ac:plain-text-body><![CDATA[{body}]]></ac:plain-text-body></ac:structured-macro>")


def macro(name: str, body: str, title: str | None = None) -> str:
    param = f'<ac:parameter ac:name="title">{title}</ac:parameter>' if title else ""
    return (f'<ac:structured-macro ac:name="{name}" ac:schema-version="1">{param}'
            f"<ac:rich-text-body>{body}</ac:rich-text-body></ac:structured-macro>")


def md(storage: str, title: str = "Page") -> str:
    return storage_to_markdown(storage, title)


def body(storage: str) -> str:
    """The Markdown after the `# Title` line."""
    return md(storage).split("\n", 2)[2]


def test_the_page_title_comes_first_as_a_level_one_heading() -> None:
    assert md("<p>Hello</p>", "Host disk almost full").startswith("# Host disk almost full\n\nHello")


def test_headings_keep_their_level() -> None:
    assert body("<h2>Diagnosis</h2><h3>Check <em>the</em> disk</h3>") == "## Diagnosis\n\n### Check *the* disk\n"


def test_paragraphs_are_separated_and_their_whitespace_collapsed() -> None:
    assert body("<p>One\n   sentence.</p><p>Two</p>") == "One sentence.\n\nTwo\n"


def test_a_line_break_stays_a_line_break() -> None:
    assert body("<p>first<br/>second</p>") == "first\nsecond\n"


def test_a_code_macro_becomes_a_fenced_block_with_its_language() -> None:
    assert body(code("kubectl get pods -n <ns> && echo ok", "bash")) == \
        "```bash\nkubectl get pods -n <ns> && echo ok\n```\n"


def test_a_noformat_macro_becomes_a_fenced_block_without_a_language() -> None:
    assert body(code("plain text\n  indented", name="noformat")) == "```\nplain text\n  indented\n```\n"


def test_code_that_contains_the_cdata_terminator_survives_whole() -> None:
    storage = code("echo ']]]]><![CDATA[>' | cat", "sh")
    assert "echo ']]>' | cat" in body(storage)


def test_code_that_holds_a_fence_gets_a_longer_fence() -> None:
    assert body(code("```\nnested\n```", "markdown")).startswith("````markdown\n```\nnested\n```\n````")


def test_an_empty_code_macro_is_left_out() -> None:
    assert body("<p>before</p>" + code("", "bash")) == "before\n"


def test_ordered_lists_become_numbered_lists_from_their_start() -> None:
    assert body('<ol start="3"><li>three</li><li>four</li></ol>') == "3. three\n4. four\n"


def test_bulleted_lists_keep_their_nesting() -> None:
    assert body("<ul><li>one<ul><li>inner</li></ul></li><li>two</li></ul>") == "- one\n\n  - inner\n\n- two\n"


def test_a_code_macro_inside_a_list_item_stays_inside_that_item() -> None:
    storage = f"<ol><li><p>Check free space</p>{code('df -h', 'bash')}</li><li>Next</li></ol>"
    assert body(storage) == "1. Check free space\n\n   ```bash\n   df -h\n   ```\n\n2. Next\n"


def test_inline_code_becomes_backticks_and_emphasis_stars() -> None:
    assert body("<p>Run <code>uptime</code> as <strong>root</strong>, <em>carefully</em>.</p>") == \
        "Run `uptime` as **root**, *carefully*.\n"


def test_inline_code_holding_a_backtick_is_quoted_with_longer_ticks() -> None:
    assert body("<p><code>echo `date`</code></p>") == "`` echo `date` ``\n"


def test_links_become_markdown_links_and_page_links_their_title() -> None:
    storage = ('<p>See <a href="https://docs.example.com/disk">the docs</a> and '
               '<ac:link><ri:page ri:content-title="Disk cleanup" /></ac:link> and '
               '<ac:link><ri:page ri:content-title="X" /><ac:plain-text-link-body><![CDATA[this page]]>'
               "</ac:plain-text-link-body></ac:link>.</p>")
    assert body(storage) == "See [the docs](https://docs.example.com/disk) and Disk cleanup and this page.\n"


@pytest.mark.parametrize("name", ["info", "note", "warning", "tip", "panel"])
def test_a_panel_becomes_its_text(name: str) -> None:
    assert body(macro(name, "<p>Do not reboot <code>db-1</code>.</p>")) == "Do not reboot `db-1`.\n"


def test_an_expand_becomes_its_title_in_bold_then_its_text() -> None:
    assert body(macro("expand", "<p>Hidden detail</p>", title="Show more")) == "**Show more**\n\nHidden detail\n"


def test_a_code_macro_inside_an_expand_is_still_a_fenced_block() -> None:
    assert "```sql\nselect 1;\n```" in body(macro("expand", code("select 1;", "sql"), title="SQL"))


def test_a_table_becomes_a_markdown_table_with_its_first_row_as_header() -> None:
    storage = ("<table><tbody><tr><th>Alert</th><th>Check</th></tr>"
               "<tr><td>Disk</td><td><code>df -h | sort</code></td></tr><tr><td>CPU</td></tr></tbody></table>")
    assert body(storage) == "| Alert | Check |\n|---|---|\n| Disk | `df -h \\| sort` |\n| CPU |  |\n"


def test_an_unknown_macro_becomes_its_text_content_and_its_parameters_are_not_text() -> None:
    storage = ('<ac:structured-macro ac:name="mystery"><ac:parameter ac:name="colour">red</ac:parameter>'
               "<ac:rich-text-body><p>Inside</p></ac:rich-text-body></ac:structured-macro>"
               '<p>Status: <ac:structured-macro ac:name="status"><ac:parameter ac:name="title">DONE'
               '</ac:parameter></ac:structured-macro></p><ac:structured-macro ac:name="toc" />')
    assert body(storage) == "Inside\n\nStatus: DONE\n"


def test_html_entities_are_decoded() -> None:
    assert body("<p>caf&eacute; &amp; cr&egrave;me &lt;3 &#8212; ok&nbsp;now</p>") == "café & crème <3 — ok now\n"


def test_text_that_looks_like_markdown_structure_stays_text() -> None:
    converted = md("<p>1. not a step</p><p># not a heading</p><p>- not a bullet &lt;div&gt;</p>")
    runbook = parse_text(converted, "page.md", "page")
    assert "1\\. not a step" in converted and "\\# not a heading" in converted and "\\<div>" in converted
    assert runbook.steps == []


def test_a_converted_structured_runbook_parses_into_its_steps_and_commands() -> None:
    storage = (
        "<h2>Steps</h2><ol>"
        f"<li><p><strong>Check free space</strong></p>{code('df -h /', 'bash')}</li>"
        "<li><p>Put the host in maintenance</p><p>Risk: yellow (reversible)</p>"
        f"{code('touch /etc/maintenance', 'sh')}<p>Rollback:</p>{code('rm -f /etc/maintenance', 'sh')}</li>"
        "<li><p>Tell the team in #ops</p></li></ol>"
    )
    steps = parse_text(md(storage, "Host disk almost full"), "page.md", "page").steps
    assert [(s.title, s.command, s.risk.value, s.rollback) for s in steps] == [
        ("Check free space", "df -h /", "green", None),
        ("Put the host in maintenance", "touch /etc/maintenance", "yellow", "rm -f /etc/maintenance"),
        ("Tell the team in #ops", None, "yellow", None),
    ]


def test_a_converted_prose_runbook_parses_into_steps_with_its_commands_and_languages() -> None:
    storage = ("<h2>Diagnosis</h2><p>Look at the pods:</p>" + code("kubectl get pods -n monitoring", "bash")
               + "<h2>Mitigation</h2><p>Check the query:</p>" + code("up == 0", "promql"))
    steps = parse_text(md(storage, "Pods down"), "page.md", "page").steps
    assert [(s.command, s.language, s.section) for s in steps] == [
        ("kubectl get pods -n monitoring", "shell", "diagnosis"), ("up == 0", "promql", "mitigation")]


ODD = ["", "<p>unclosed <strong>bold", "]]>", "<![CDATA[half", "<p>a</p></p></div>",
       '<ac:structured-macro ac:name="code">', "<table><tr></tr></table>", "<<<>>>&&&", "<ac:link></ac:link>",
       "<ol><li></li></ol>",
       "<?xml version='1.0'?><!-- c --><p>x</p>", "https://example.com/looks-like-a-url"]


@pytest.mark.parametrize("odd", ODD)
def test_odd_markup_is_converted_without_raising(odd: str) -> None:
    assert md(odd).startswith("# Page\n")


def test_control_characters_make_the_body_unreadable() -> None:
    with pytest.raises(UnreadableStorage, match="control characters"):
        md("<p>\x00\x01binary</p>")


def test_nesting_too_deep_to_walk_makes_the_body_unreadable() -> None:
    with pytest.raises(UnreadableStorage, match="nested too deeply"):
        md("<div>" * 5000 + "x" + "</div>" * 5000)


def test_an_unreadable_page_is_one_manual_step_holding_the_page_text() -> None:
    raw = (f"<h1>Restart</h1><p>Risk: red</p><p>**Timeout**: never</p><p>```sh</p><p>    rm -rf /</p>"
           f"<ol><li>first</li></ol>{code('kubectl delete ns prod', 'bash')}<p>&lt;div&gt; &amp; done</p>")
    converted = unreadable_page("Restart the world", raw, "the storage body holds control characters")
    runbook = parse_text(converted, "page.md", "page")
    assert runbook.title == "Restart the world"
    [step] = runbook.steps
    assert step.command is None and step.manual and step.target == "manual"
    assert "holds control characters" in step.title
    for words in ("Restart", "Risk", "red", "never", "rm -rf /", "first", "kubectl delete ns prod", "div", "& done"):
        assert words in step.description
