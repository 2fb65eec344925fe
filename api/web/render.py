"""Server-side rendering of the cockpit: one Jinja2 environment (autoescaped), its filters, and
the words and icons that carry risk and status, so that nothing is said by colour alone."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
env = templates.env

RISK_ICONS = {"green": "✓", "yellow": "▲", "red": "◆"}
RISK_WORDS = {"green": "green: read-only", "yellow": "yellow: changes state", "red": "red: destructive"}
STATUS_WORDS = {
    "pending": "not started", "waiting_approval": "waiting for approval", "running": "running",
    "succeeded": "succeeded", "failed": "failed", "rejected": "rejected", "skipped": "skipped",
    "dry_run": "dry run: shown, not run", "rolled_back": "rolled back", "cancelled": "cancelled",
}
STATUS_ICONS = {
    "pending": "○", "waiting_approval": "‖", "running": "⟳", "succeeded": "✔", "failed": "✖", "rejected": "✗",
    "skipped": "↷", "dry_run": "◌", "rolled_back": "↶", "cancelled": "■",
}


def risk_badge(risk: str, reason: str | None = None) -> Markup:
    icon = RISK_ICONS.get(risk, "?")
    title = f' title="{escape(reason)}"' if reason else ""
    return Markup(f'<span class="badge risk-{escape(risk)}"{title}><span aria-hidden="true">{icon}</span> '
                  f'{escape(risk)}</span>')


def status_badge(status: str | None) -> Markup:
    status = status or "pending"
    return Markup(f'<span class="status status-{escape(status)}"><span aria-hidden="true">'
                  f'{STATUS_ICONS.get(status, "•")}</span> {escape(STATUS_WORDS.get(status, status))}</span>')


def when(at: datetime | None) -> Markup:
    """An absolute UTC time the browser rewrites as relative and local (static/app.js)."""
    if at is None:
        return Markup('<span class="muted">—</span>')
    at = at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)
    iso = at.isoformat(timespec="seconds").replace("+00:00", "Z")
    return Markup(f'<time datetime="{iso}">{at:%Y-%m-%d %H:%M:%S} UTC</time>')


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(max(seconds, 0))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


_MARKDOWN = MarkdownIt("commonmark", {"html": False})  # raw HTML in the text is shown as text, never run


def markdown(text: str) -> Markup:
    """Markdown we wrote (an incident report) as HTML: values in it are already escaped for
    Markdown, and raw HTML is not passed through, so nothing from an alert becomes markup."""
    return Markup(_MARKDOWN.render(text))


def domid(value: str) -> str:
    """A value made safe inside an element id that htmx finds with a CSS selector (`#id`): an
    execution or step id may hold dots."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", value)


env.filters.update(risk=risk_badge, status=status_badge, when=when, duration=duration, domid=domid)
env.globals.update(STATUS_WORDS=STATUS_WORDS, RISK_WORDS=RISK_WORDS)


def render(request: Request, name: str, status_code: int = 200, headers: dict[str, str] | None = None,
           **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code, headers=headers)


def fragment(name: str, **context: Any) -> str:
    """A template rendered to a string (a live update), outside any request."""
    return env.get_template(name).render(**context)
