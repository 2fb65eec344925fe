"""Markdown runbooks as Confluence would store them, to read them back through the Confluence connector.

`markdown_to_storage` renders Markdown with markdown-it-py (CommonMark plus GitHub tables, as the corpus
is written) into storage format the way a migration to Confluence leaves it: a fenced block becomes a
`code` macro with its language as a parameter and its text in a CDATA body, a block without a language
(fenced or indented) a `noformat` macro, and everything else the XHTML Confluence keeps as it is.

Decisions, so that a page matches what a person would have in Confluence:
- front matter is dropped: Confluence pages have none, and the corpus's front matter is a site
  generator's (`title:`, `weight:`, `aliases:`), which means nothing to a runbook;
- the page title is the first `# Heading` (else the front matter's `title:`, else the file name), and
  that heading is not repeated in the body, as Confluence shows the title above it;
- raw HTML in the Markdown is kept as it is (Confluence's editor would keep most of its text).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from support.fake_confluence import FakeConfluence, Page
from support.paths import corpus

_NAMESPACE = uuid.UUID("5d4c1a52-7f0e-4b57-9d7e-1c2f3b4a5e60")


def _code_macro(code: str, language: str) -> str:
    body = code.rstrip("\n").replace("]]>", "]]]]><![CDATA[>")  # how Confluence keeps `]]>` inside CDATA
    macro_id = uuid.uuid5(_NAMESPACE, language + "\n" + code)
    if not language:
        return (f'<ac:structured-macro ac:name="noformat" ac:schema-version="1" ac:macro-id="{macro_id}">'
                f"<ac:plain-text-body><![CDATA[{body}]]></ac:plain-text-body></ac:structured-macro>\n")
    return (f'<ac:structured-macro ac:name="code" ac:schema-version="1" ac:macro-id="{macro_id}">'
            f'<ac:parameter ac:name="language">{language}</ac:parameter>'
            f"<ac:plain-text-body><![CDATA[{body}]]></ac:plain-text-body></ac:structured-macro>\n")


def _fence(tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    info = tokens[idx].info.strip()
    return _code_macro(tokens[idx].content, info.split()[0] if info else "")


def _code_block(tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    return _code_macro(tokens[idx].content, "")


_MD = MarkdownIt("commonmark", {"xhtmlOut": True}).enable(["table", "strikethrough"])
_MD.add_render_rule("fence", lambda self, tokens, idx, options, env: _fence(tokens, idx, options, env))
_MD.add_render_rule("code_block", lambda self, tokens, idx, options, env: _code_block(tokens, idx, options, env))


def split_front_matter(md: str) -> tuple[dict[str, Any], str]:
    """The front matter (when it is a YAML mapping) and the Markdown after it."""
    if not md.startswith("---\n"):
        return {}, md
    end = md.find("\n---", 4)
    if end < 0:
        return {}, md
    try:
        data = yaml.safe_load(md[4:end])
    except yaml.YAMLError:
        return {}, md
    rest = md[end + 4:]
    return (data if isinstance(data, dict) else {}), rest.split("\n", 1)[1] if "\n" in rest else ""


def page_of(md: str, fallback_title: str) -> tuple[str, str]:
    """(title, storage body) of a Markdown runbook as a Confluence page."""
    meta, body = split_front_matter(md)
    tokens = _MD.parse(body)
    title = str(meta.get("title") or fallback_title)
    if tokens and tokens[0].type == "heading_open" and tokens[0].tag == "h1" and tokens[0].map:
        title = tokens[1].content.strip() or title
        lines = body.split("\n")
        body = "\n".join(lines[:tokens[0].map[0]] + lines[tokens[0].map[1]:])
    return title, _MD.render(body)


def markdown_to_storage(md: str) -> str:
    """Confluence storage format of a Markdown runbook (front matter dropped, the heading kept)."""
    return _MD.render(split_front_matter(md)[1])


def corpus_files(root: Path | None = None) -> list[Path]:
    """The corpus's runbooks (Markdown files other than the README-like ones), in a stable order."""
    base = root or corpus()
    if base is None:
        return []
    return sorted(p for p in base.rglob("*.md") if p.name not in ("SOURCE.md", "README.md", "LICENSE.md"))


def load_corpus(fake: FakeConfluence, space: str = "OPS", root: Path | None = None) -> dict[str, Path]:
    """Every corpus runbook as a page of `space`; returns page id -> the file it came from."""
    base = root or corpus()
    pages: dict[str, Path] = {}
    for path in corpus_files(base):
        title, storage = page_of(path.read_text(encoding="utf-8"), path.stem)
        page: Page = fake.add_page(space, title, storage)
        pages[page.id] = path
    return pages
