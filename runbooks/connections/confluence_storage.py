"""Confluence storage format (XHTML with `ac:`/`ri:` elements) -> Markdown the runbook reader reads well.

Teams write runbooks in Confluence with code macros, numbered lists, panels and tables. The reader
(runbooks/authoring/reader.py) finds commands in fenced blocks and steps in ordered lists, so the
conversion keeps exactly what it relies on: a code macro becomes a fenced block with its language, and
a code macro inside a list item stays indented inside that item (it remains that step's command).
Everything else becomes the plainest Markdown that says the same (panels and expands as their text,
unknown macros as their text content, tables as Markdown tables).

Conversion never fails on odd markup; only input that is not XHTML at all (control characters,
nesting too deep to walk) raises `UnreadableStorage`, and the connector then keeps the page as one
manual step holding its text (`unreadable_page`).
"""

from __future__ import annotations

import html
import re
import warnings
from collections.abc import Iterable

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, NavigableString, Tag, XMLParsedAsHTMLWarning
from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # never in XML 1.0: binary, not a page
_BREAK = "\x01"  # an explicit line break (<br/>) while inline text is gathered; cannot occur in valid input
_LINE_START = re.compile(r"^(?:#{1,6}(?:\s|$)|>|[-+*](?:\s|$)|={2,}\s*$|-{2,}\s*$|(?:[*_]\s*){3,}$|`{3}|~{3})")
_NUMBERED = re.compile(r"^(\d{1,9})([.)])(\s|$)")
_INLINE_ESCAPE = re.compile(r"[\\`]|<(?=[A-Za-z/!?])|&(?=#?\w+;)")
_PANELS = {"info", "note", "warning", "tip", "panel", "expand", "section", "column", "details", "excerpt",
           "ui-expand", "ui-tabs", "ui-tab", "aura-tab", "div", "center"}
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_CONTAINERS = {"div", "section", "article", "details", "summary", "ac:layout", "ac:layout-section",
               "ac:layout-cell", "ac:rich-text-body", "body", "html", "main", "figure", "dl", "dd", "dt",
               "center"}
_BLOCKS = {"p", "ul", "ol", "table", "pre", "blockquote", "hr", "ac:task-list", *_HEADINGS, *_CONTAINERS}
_SKIPPED = {"script", "style", "ac:placeholder", "ac:parameter", "head", "title"}


class UnreadableStorage(ValueError):
    """The storage body is not XHTML that can be read at all; the message says why, in a few words."""


def storage_to_markdown(storage: str, title: str) -> str:
    """Markdown of one page: `# Title`, then the body's headings, paragraphs, code, lists and tables."""
    if not isinstance(storage, str):
        raise UnreadableStorage("the storage body is not text")
    if _CONTROL.search(storage):
        raise UnreadableStorage("the storage body holds control characters, so it is not XHTML")
    # CDATA (code macro bodies) becomes escaped text before parsing, so no parser quirk can touch it
    escaped = _CDATA.sub(lambda m: html.escape(m.group(1), quote=False), storage)
    try:
        with warnings.catch_warnings():  # bs4 warns that `<?xml ...?>` or a bare URL "looks like" something else
            warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
            warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
            soup = BeautifulSoup(escaped, "html.parser")
        blocks = _blocks(soup.contents)
    except RecursionError:
        raise UnreadableStorage("the storage body is nested too deeply to read") from None
    except Exception as exc:  # noqa: BLE001 - the parser's own failures: the page is kept as text instead
        raise UnreadableStorage(f"the storage body could not be parsed ({type(exc).__name__})") from None
    heading = f"# {_escape(_one_line(title)) or 'Untitled page'}"  # a title is never a command
    return "\n\n".join([heading, *blocks]) + "\n"


def unreadable_page(title: str, raw: str, reason: str) -> str:
    """A runbook of ONE manual step whose text is the page's own text (tags stripped), so nothing is lost.

    Every line is escaped so that nothing in it can become a command, a directive or another step.
    """
    text = _strip_tags(raw)
    lines = [_literal(line) for line in text.splitlines()]
    body: list[str] = []
    for line in lines:
        if line or (body and body[-1]):
            body.append(f"   {line}" if line else "")
    while body and not body[-1]:
        body.pop()
    heading = _escape(_one_line(title)) or "Untitled page"
    intro = _escape(f"Follow the original page by hand; it could not be converted ({_one_line(reason)})")
    parts = [f"# {heading}", "", "## Steps", "", f"1. {intro}", "   Target: manual"]
    if body:
        parts += ["", *body]
    return "\n".join(parts) + "\n"


# --- blocks ----------------------------------------------------------------------------------------------


def _blocks(nodes: Iterable[object]) -> list[str]:
    """Markdown blocks of a run of sibling nodes; inline runs between blocks become paragraphs."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        paragraph = _paragraph("".join(run))
        run.clear()
        if paragraph:
            out.append(paragraph)

    for node in nodes:
        if isinstance(node, (Comment, Declaration, Doctype, ProcessingInstruction)):
            continue
        if isinstance(node, NavigableString):
            run.append(_escape(str(node)))
        elif isinstance(node, Tag):
            if node.name in _SKIPPED:
                continue
            if _is_block(node):
                flush()
                _append_block(out, _block(node))
            else:
                run.append(_inline(node))
    flush()
    return out


def _append_block(out: list[str], new: list[str]) -> None:
    """Add blocks, keeping two lists of the same kind apart (Markdown would merge them into one)."""
    for block in new:
        if out and _list_kind(out[-1]) and _list_kind(out[-1]) == _list_kind(block):
            out.append("<!-- -->")
        out.append(block)


def _list_kind(block: str) -> str | None:
    if re.match(r"\d{1,9}\. ", block):
        return "ol"
    return "ul" if block.startswith("- ") else None


def _is_block(tag: Tag) -> bool:
    if tag.name in _BLOCKS:
        return True
    if tag.name in ("ac:structured-macro", "ac:macro"):
        name = _macro_name(tag)
        return name in ("code", "noformat") or name in _PANELS or tag.find("ac:rich-text-body") is not None
    return False


def _block(tag: Tag) -> list[str]:
    name = tag.name
    if name in _HEADINGS:
        text = _one_line(_inline_children(tag))
        return [f"{'#' * _HEADINGS[name]} {text}"] if text else []
    if name in ("ul", "ol"):
        return _list(tag, ordered=name == "ol")
    if name == "ac:task-list":
        return _tasks(tag)
    if name == "table":
        return _table(tag)
    if name == "pre":
        code = tag.find("code")
        classes = code.get("class") if isinstance(code, Tag) else None
        language = next((c.removeprefix("language-") for c in classes or [] if c.startswith("language-")), "")
        return [_fence(tag.get_text(), language)] if tag.get_text().strip() else []
    if name == "hr":
        return ["---"]
    if name == "blockquote":
        inner = "\n\n".join(_blocks(tag.contents))
        return ["\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))] if inner else []
    if name in ("ac:structured-macro", "ac:macro"):
        return _macro(tag)
    return _blocks(tag.contents)  # p, div, layouts, rich-text bodies: what they hold


def _macro_name(tag: Tag) -> str:
    return str(tag.get("ac:name") or "").strip().lower()


def _parameter(tag: Tag, name: str) -> str:
    for param in tag.find_all("ac:parameter", recursive=False):
        if str(param.get("ac:name") or "").lower() == name:
            return param.get_text().strip()
    return ""


def _macro(tag: Tag) -> list[str]:
    """Code and noformat keep their text verbatim; panels, expands and unknown macros become their text."""
    name = _macro_name(tag)
    plain = tag.find("ac:plain-text-body", recursive=False)
    rich = tag.find("ac:rich-text-body", recursive=False)
    if name in ("code", "noformat"):
        language = _parameter(tag, "language") if name == "code" else ""
        code = plain.get_text() if plain is not None else ""
        return [_fence(code, language)] if code.strip() else []  # an empty block is nothing to run
    out: list[str] = []
    heading = _parameter(tag, "title") if name in _PANELS else ""
    if heading:
        out.append(f"**{_escape(_one_line(heading))}**")
    if rich is not None:
        out += _blocks(rich.contents)
    elif plain is not None and (text := _paragraph(_escape(plain.get_text()))):
        out.append(text)
    return out


def _fence(code: str, language: str) -> str:
    code = code.strip("\n")
    longest = max((len(m) for m in re.findall(r"^\s*(`{3,}|~{3,})", code, re.MULTILINE)), default=2)
    marker = "`" * max(3, longest + 1)
    language = re.sub(r"[\s`]+", "", language)
    return f"{marker}{language}\n{code}\n{marker}"


def _list(tag: Tag, ordered: bool) -> list[str]:
    try:
        number = int(str(tag.get("start") or 1))
    except ValueError:
        number = 1
    items: list[str] = []
    for child in tag.children:
        if isinstance(child, Tag) and child.name == "li":
            marker = f"{number}. " if ordered else "- "
            items.append(_indent(marker, _blocks(child.contents)))
            number += 1
        elif isinstance(child, Tag) and child.name in ("ul", "ol"):  # a list nested without its <li>
            if items:
                items[-1] += "\n\n" + "\n".join(
                    "   " + line if line else "" for line in "\n\n".join(_block(child)).split("\n"))
            else:
                items += _block(child)
    if not items:
        return []
    loose = any("\n\n" in item for item in items)
    return [("\n\n" if loose else "\n").join(items)]


def _indent(marker: str, blocks: list[str]) -> str:
    """A list item: its blocks under the marker, continuation lines indented so they stay in the item."""
    lines = "\n\n".join(blocks).split("\n") if blocks else [""]
    pad = " " * len(marker)
    return marker + lines[0] + "".join("\n" + (pad + line if line else "") for line in lines[1:])


def _tasks(tag: Tag) -> list[str]:
    items = []
    for task in tag.find_all("ac:task", recursive=False):
        status, body = task.find("ac:task-status"), task.find("ac:task-body")
        done = "x" if status is not None and status.get_text().strip() == "complete" else " "
        items.append(_indent(f"- [{done}] ", _blocks(body.contents) if body is not None else []))
    return ["\n".join(items)] if items else []


def _table(tag: Tag) -> list[str]:
    rows: list[list[str]] = []
    for row in tag.find_all("tr"):
        if row.find_parent("table") is not tag:
            continue  # a row of a table nested in a cell
        cells = [c for c in row.children if isinstance(c, Tag) and c.name in ("td", "th")]
        rows.append([_cell(c) for c in cells])
    rows = [r for r in rows if r]
    if not rows:
        return []
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * width]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return ["\n".join(lines)]


def _cell(cell: Tag) -> str:
    """A cell on one line: its blocks joined, code macros as code spans (a table has no room for fences)."""
    parts: list[str] = []
    for block in _blocks(cell.contents):
        fence = re.match(r"^(`{3,})[^\n]*\n(.*)\n\1$", block, re.DOTALL)
        parts.append(_code_span(" ".join(fence.group(2).split())) if fence else " ".join(block.split()))
    return " ".join(p for p in parts if p).replace("|", "\\|")


# --- inline ----------------------------------------------------------------------------------------------


def _inline_children(tag: Tag) -> str:
    return "".join(_inline(child) for child in tag.children)


def _inline(node: object) -> str:
    if isinstance(node, (Comment, Declaration, Doctype, ProcessingInstruction)):
        return ""
    if isinstance(node, NavigableString):
        return _escape(str(node))
    if not isinstance(node, Tag) or node.name in _SKIPPED:
        return ""
    name = node.name
    if name == "br":
        return _BREAK
    if name in ("code", "tt", "kbd", "samp"):
        return _code_span(node.get_text())
    if name in ("strong", "b", "em", "i"):
        return _emphasis(_inline_children(node), "**" if name in ("strong", "b") else "*")
    if name == "a":
        return _link(_inline_children(node), str(node.get("href") or ""))
    if name == "ac:link":
        return _ac_link(node)
    if name == "ac:image":
        return _escape(str(node.get("ac:alt") or node.get("ac:title") or ""))
    if name == "img":
        return _escape(str(node.get("alt") or ""))
    if name == "ac:emoticon":
        return _escape(str(node.get("ac:emoji-fallback") or ""))
    if name in ("ac:structured-macro", "ac:macro"):
        return _inline_macro(node)
    if name in ("ri:user",):
        return "@user"
    if _is_block(node) or name == "li":  # a block where only text fits (inside a heading or a link)
        return " " + " ".join(_blocks(node.contents)) + " "
    return _inline_children(node)


def _inline_macro(tag: Tag) -> str:
    """A macro inside a sentence (status, jira, anchor...): its body text, or its title, else nothing."""
    body = tag.find("ac:plain-text-body", recursive=False) or tag.find("ac:rich-text-body", recursive=False)
    if body is not None:
        return _escape(body.get_text())
    return _escape(_parameter(tag, "title") or _parameter(tag, "key"))


def _ac_link(tag: Tag) -> str:
    """A Confluence link: its own text, else what it points at (page title, attachment, URL)."""
    body = tag.find(["ac:link-body", "ac:plain-text-link-body"], recursive=False)
    text = _inline_children(body) if isinstance(body, Tag) else ""
    url = tag.find("ri:url")
    target = ""
    if isinstance(url, Tag):
        target = str(url.get("ri:value") or "")
    for ref, attr in (("ri:page", "ri:content-title"), ("ri:blog-post", "ri:content-title"),
                      ("ri:attachment", "ri:filename"), ("ri:space", "ri:space-key")):
        found = tag.find(ref)
        if isinstance(found, Tag) and not text:
            text = _escape(str(found.get(attr) or ""))
            break
    anchor = str(tag.get("ac:anchor") or "")
    text = text or _escape(target or anchor)
    return _link(text, target) if target else text


def _link(text: str, href: str) -> str:
    if not text.strip():
        return _escape(href)
    if not href or href.startswith("#"):
        return text
    if re.search(r"[\s()<>]", href):
        href = f"<{href.replace('<', '%3C').replace('>', '%3E')}>"
    return f"[{text.strip()}]({href})"


def _emphasis(text: str, mark: str) -> str:
    inner = text.strip()
    if not inner:
        return text
    lead = " " if text[:1].isspace() else ""
    trail = " " if text[-1:].isspace() else ""
    return f"{lead}{mark}{inner}{mark}{trail}"


def _code_span(code: str) -> str:
    code = code.replace("\n", " ")
    if not code.strip():
        return code
    ticks = max((len(m) for m in re.findall(r"`+", code)), default=0)
    fence = "`" * (ticks + 1)
    pad = " " if code.startswith("`") or code.endswith("`") else ""
    return f"{fence}{pad}{code}{pad}{fence}"


def _escape(text: str) -> str:
    """Text as Markdown that reads back as the same text: no accidental code spans, HTML or entities."""
    return _INLINE_ESCAPE.sub(lambda m: "\\" + m.group(0), text)


def _paragraph(inline: str) -> str:
    """Gathered inline Markdown as a paragraph: whitespace collapsed, line starts that Markdown would read
    as structure (a heading, a list item, a fence) escaped."""
    lines = [" ".join(part.split()) for part in inline.split(_BREAK)]
    lines = [line for line in lines if line]
    return "\n".join(_guard(line) for line in lines)


def _guard(line: str) -> str:
    """Escape a line start that Markdown would read as structure (`1.` -> `1\\.`, `- ` -> `\\- `)."""
    if _NUMBERED.match(line):
        return _NUMBERED.sub(r"\1\\\2\3", line, count=1)
    return "\\" + line if _LINE_START.match(line) else line


def _one_line(text: str) -> str:
    return " ".join(text.replace(_BREAK, " ").split())


# --- unreadable pages ------------------------------------------------------------------------------------


def _strip_tags(raw: str) -> str:
    """The page's words without markup, as well as a page that would not parse allows."""
    text = _CONTROL.sub(" ", raw)
    text = _CDATA.sub(lambda m: m.group(1), text)
    text = re.sub(r"<(?:br|/p|/h[1-6]|/li|/tr|/div|/pre|/ac:plain-text-body)\b[^>]*>", "\n", text, flags=re.I)
    text = re.sub(r"<[^>]*>", "", text)
    return html.unescape(text)


def _literal(line: str) -> str:
    """One line of page text that Markdown and the step reader take as text and nothing else."""
    line = " ".join(line.split())
    line = re.sub(r"([\\`<])", r"\\\1", line)  # no code span, no HTML block swallowing the line
    line = re.sub(r"^([^:]{1,40}?)\s*:", r"\1\\:", line)  # `Risk: x` is a directive, `Risk\: x` text
    return _guard(line)
