"""Notion blocks -> the Markdown the runbook reader understands.

Notion keeps a page as a tree of typed blocks, not as text. The reader (runbooks/authoring/reader.py)
finds steps in Markdown: an ordered list whose items hold fenced code blocks, or prose with fenced
commands under headings. So the conversion keeps exactly what carries meaning there: headings (one
level below the page title, which becomes `# Title`), list nesting (a code block nested under a
numbered item stays inside that item, so it is that step's command), code languages and inline code
(prose reads command-like inline code). Decoration (icons, colours, underline) is dropped.

A block tree we cannot make sense of raises `UnreadableBlocks` naming the block; the connector then
keeps the page as `unreadable_page`: one manual step holding the page's text, never a guessed command.
"""

from __future__ import annotations

import re
from typing import Any

# Notion's code languages -> fence info the reader knows (runbooks/authoring/prose_commands.py).
# "plain text" is Notion's default for a new code block, so people paste commands into it as often
# as output: it gets no info string and the reader decides from the content (a `text` fence would
# be read as output and its commands lost). Languages not listed keep their Notion name.
LANGUAGES: dict[str, str] = {
    "shell": "sh", "bash": "sh", "powershell": "powershell", "plain text": "", "docker": "dockerfile",
    "c++": "cpp", "c#": "csharp", "f#": "fsharp", "objective-c": "objectivec", "vb.net": "vbnet",
    "visual basic": "vb", "java/c/c++/c#": "", "markup": "html", "webassembly": "wasm",
}
_LIST_ITEMS = ("numbered_list_item", "bulleted_list_item", "to_do")
_HEADINGS = {"heading_1": "##", "heading_2": "###", "heading_3": "####", "heading_4": "#####"}
_SKIPPED = ("child_page", "child_database", "breadcrumb", "table_of_contents", "column_list_placeholder")


class UnreadableBlocks(ValueError):
    """The blocks do not have the shape Notion documents; the message names the block."""


def blocks_to_markdown(title: str, blocks: list[dict[str, Any]]) -> str:
    """`# Title`, then the blocks (each with its fetched children under `children`) as Markdown."""
    if not isinstance(blocks, list):
        raise UnreadableBlocks(f"blocks are a {type(blocks).__name__}, not a list")
    body = _join(_chunks(blocks))
    return f"# {_one_line(title) or 'Untitled'}\n\n{body}\n" if body else f"# {_one_line(title) or 'Untitled'}\n"


def unreadable_page(title: str, raw: str, reason: str) -> str:
    """A runbook of one manual step whose description is the page's original text, kept inert.

    Each line is quoted behind `│ ` so nothing in it can become a command, a directive (`Risk:`,
    `If:`) or a heading of the runbook; `Source:` makes the list a structured step and says why.
    """
    quoted = "\n".join(f"   │ {line}".rstrip() for line in (raw.strip("\n").splitlines() or [""]))
    return (f"# {_one_line(title) or 'Untitled'}\n\n## Steps\n\n"
            f"1. **Read the original page and do what it says**\n"
            f"   Source: the original page, which could not be converted: {_one_line(reason)}\n"
            f"{quoted}\n")


def plain_text(blocks: Any) -> str:
    """Every run of text in a block tree, one block a line: what a person would read of the page.

    Shape-tolerant on purpose: it is what is left of a page whose blocks the converter refused.
    """
    lines: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            if node and all(isinstance(i, dict) and isinstance(i.get("plain_text"), str) for i in node):
                lines.append("".join(i["plain_text"] for i in node))
                return
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in ("rich_text", "plain_text", "expression") and isinstance(value, str):
                    lines.append(value)
                elif isinstance(value, (dict, list)):
                    walk(value)

    walk(blocks)
    return "\n".join(lines)


def _join(chunks: list[str]) -> str:
    return "\n\n".join(c for c in chunks if c.strip())


def _chunks(blocks: list[dict[str, Any]], depth: int = 0) -> list[str]:
    """Markdown chunks (to be separated by blank lines); consecutive list items of one kind are one list."""
    out: list[str] = []
    i = 0
    while i < len(blocks):
        kind = _type(blocks[i])
        if kind in _LIST_ITEMS:
            group = [blocks[i]]
            while i + len(group) < len(blocks) and _type(blocks[i + len(group)]) == kind:
                group.append(blocks[i + len(group)])
            out.append("\n".join(_guarded(_item, b, n, depth) for n, b in enumerate(group, start=1)))
            i += len(group)
        else:
            out.append(_guarded(_block, blocks[i], depth))
            i += 1
    return out


def _guarded(render: Any, block: Any, *args: Any) -> str:
    """Render one block; a shape error anywhere below names this block (innermost first wins)."""
    try:
        return str(render(block, *args))
    except UnreadableBlocks:
        raise
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
        ident = block.get("id", "?") if isinstance(block, dict) else "?"
        raise UnreadableBlocks(f"block {ident} ({_type(block)}) could not be read: "
                               f"{type(exc).__name__}: {_one_line(str(exc))[:200]}") from None


def _type(block: Any) -> str:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise UnreadableBlocks(f"not a Notion block: {_one_line(repr(block))[:120]}")
    return str(block["type"])


def _payload(block: dict[str, Any]) -> dict[str, Any]:
    payload = block.get(block["type"])
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise TypeError(f"its {block['type']!r} payload is a {type(payload).__name__}")
    return payload


def _children(block: dict[str, Any], depth: int) -> str:
    kids = block.get("children") or []
    if not isinstance(kids, list):
        raise TypeError(f"its children are a {type(kids).__name__}")
    return _join(_chunks(kids, depth + 1))


def _item(block: dict[str, Any], n: int, depth: int) -> str:
    kind, payload = block["type"], _payload(block)
    marker = {"numbered_list_item": f"{n}. ", "bulleted_list_item": "- "}.get(kind)
    if marker is None:  # to_do
        marker = "- "
        text = ("[x] " if payload.get("checked") else "[ ] ") + rich(payload.get("rich_text"))
    else:
        text = rich(payload.get("rich_text"))
    pad = " " * len(marker)
    head = marker + _indent(text, pad).lstrip(" ") if text else marker.rstrip()
    children = _children(block, depth)
    return f"{head}\n{_indent(children, pad)}" if children else head


def _block(block: dict[str, Any], depth: int) -> str:
    kind, payload = block["type"], _payload(block)
    children = _children(block, depth) if kind not in ("table",) + _SKIPPED else ""
    if kind in _SKIPPED:
        return ""
    if kind in _HEADINGS:
        text = _one_line(rich(payload.get("rich_text")))
        return _join([f"{_HEADINGS[kind]} {text}" if text else "", children])
    if kind == "code":
        return _fence(payload)
    if kind == "divider":
        return "---"
    if kind == "quote":
        inner = _join([rich(payload.get("rich_text")), children])
        return "\n".join(f"> {line}".rstrip() for line in inner.splitlines())
    if kind == "table":
        return _table(block, payload)
    if kind == "equation":
        return _join([f"$$ {payload.get('expression', '')} $$", children])
    # paragraph, toggle, callout (icon dropped), synced_block, column...: their text, then their children
    text = rich(payload.get("rich_text")) or rich(payload.get("caption"))
    if not text and isinstance(payload.get("url"), str):  # bookmark, embed, link_preview
        text = f"<{payload['url']}>"
    return _join([text, children])


def _fence(payload: dict[str, Any]) -> str:
    code = "".join(_plain_of(r) for r in _rich(payload.get("rich_text"))).rstrip("\n")
    lang = str(payload.get("language") or "plain text").lower()
    info = LANGUAGES.get(lang, lang.replace(" ", "-"))
    longest = max((len(m) for m in re.findall(r"`{3,}", code)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}{info}\n{code}\n{fence}"


def _table(block: dict[str, Any], payload: dict[str, Any]) -> str:
    rows = []
    for row in block.get("children") or []:
        if _type(row) != "table_row":
            continue
        cells = _payload(row).get("cells") or []
        rows.append([_one_line(rich(cell)).replace("|", "\\|") for cell in cells])
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    if not payload.get("has_column_header"):
        rows.insert(0, [""] * width)
    lines = [f"| {' | '.join(rows[0])} |", f"|{'---|' * width}"]
    lines += [f"| {' | '.join(r)} |" for r in rows[1:]]
    return "\n".join(lines)


def rich(items: Any) -> str:
    """Notion rich text -> inline Markdown: `code`, **bold**, *italic*, [links](url)."""
    out: list[str] = []
    for item in _rich(items):
        text = _plain_of(item)
        if not text:
            continue
        notes = item.get("annotations") or {}
        href = item.get("href") or ((item.get("text") or {}).get("link") or {}).get("url")
        if notes.get("code"):
            text = _code_span(text)
        if href:
            text = f"[{text}]({href})"
        if notes.get("italic"):
            text = _wrap(text, "*")
        if notes.get("bold"):
            text = _wrap(text, "**")
        out.append(text)
    return "".join(out)


def _rich(items: Any) -> list[dict[str, Any]]:
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise TypeError(f"rich text is not a list of objects: {_one_line(repr(items))[:80]}")
    return items


def _plain_of(item: dict[str, Any]) -> str:
    text = item.get("plain_text")
    if text is None:  # a request-shaped object (no plain_text): {"type": "text", "text": {"content": ...}}
        text = (item.get("text") or {}).get("content", "")
    if not isinstance(text, str):
        raise TypeError(f"rich text is a {type(text).__name__}, not a string")
    return text


def _code_span(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _wrap(text: str, mark: str) -> str:
    """Emphasis around the text, its surrounding spaces left outside (`** x**` is not emphasis)."""
    core = text.strip()
    if not core:
        return text
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()):]
    return f"{lead}{mark}{core}{mark}{trail}"


def _indent(text: str, pad: str) -> str:
    return "\n".join(pad + line if line.strip() else "" for line in text.splitlines())


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
