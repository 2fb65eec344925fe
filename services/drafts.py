"""Drafts of runbooks from what people did: a shell session, a Slack thread, a postmortem.

A draft is a runbook version like any other, except that it is never live until a person reviews
it, whatever its steps' risk: what someone typed at 3 a.m. is evidence, not a procedure. Every step
cites where it came from (`Source:`), so the reviewer can check it against the original.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from runbooks.access import Permission, Principal
from runbooks.authoring.importer import ImportResult, import_text
from runbooks.connections.confluence_storage import UnreadableStorage, storage_to_markdown
from runbooks.drafts.model import Draft, to_markdown
from runbooks.drafts.postmortem import draft_from_postmortem
from runbooks.drafts.shell import draft_from_shell
from runbooks.drafts.slack_thread import draft_from_messages, draft_from_slack_text
from runbooks.errors import RunbookParseError
from runbooks.model import Runbook
from services.context import Services
from services.errors import Forbidden, Invalid, Unavailable
from services.versions import _may_edit

MAX_DRAFT_CHARS = 1_000_000
_STORAGE = re.compile(r"<(?:ac:structured-macro|ac:layout|h[1-6]|p|ol|ul|table)[\s>]")  # XHTML, not Markdown


class DraftIn(BaseModel):
    """POST /api/v1/drafts: the text of what happened, or a Slack thread to read (`channel`, `ts`)."""

    kind: Literal["shell", "slack_thread", "postmortem"]
    text: str | None = Field(default=None, max_length=MAX_DRAFT_CHARS)
    channel: str | None = Field(default=None, max_length=64)
    ts: str | None = Field(default=None, max_length=32, pattern=r"^\d{1,12}\.\d{1,9}$")
    title: str | None = Field(default=None, max_length=200)
    labels: dict[str, str] = Field(default_factory=dict, description="Alert labels whose values become placeholders.")

    @model_validator(mode="after")
    def _text_or_thread(self) -> "DraftIn":
        thread = self.kind == "slack_thread" and self.channel and self.ts
        if not (self.text and self.text.strip()) and not thread:
            raise ValueError("send `text`, or for a slack_thread `channel` and `ts`")
        return self


class DraftStepOut(BaseModel):
    id: str
    title: str
    command: str | None
    risk: str
    section: str | None
    source: str | None


class DraftOut(ImportResult):
    draft_steps: list[DraftStepOut] = Field(default_factory=list)
    dropped: list[str] = Field(default_factory=list)  # what was left out, and why
    placeholders: dict[str, str] = Field(default_factory=dict)  # value seen -> the placeholder it became


def _draft(body: DraftIn, messages: list[dict] | None) -> Draft:
    if body.kind == "shell":
        return draft_from_shell(body.text or "", labels=body.labels or None, title=body.title)
    if body.kind == "postmortem":
        text = body.text or ""
        if text.lstrip().startswith("<") and _STORAGE.search(text[:5000]):  # a Confluence page's storage format, as its API or export gives it
            try:
                text = storage_to_markdown(text, body.title or "Postmortem")
            except UnreadableStorage as exc:
                raise Invalid(f"this postmortem looks like a Confluence page, which could not be read: {exc}") \
                    from None
        return draft_from_postmortem(text)
    return draft_from_messages(messages, channel=body.channel) if messages is not None \
        else draft_from_slack_text(body.text or "")


def _thread(svc: Services, channel: str, ts: str) -> list[dict]:
    """conversations.replies, every page of it, through slack_sdk with the bot token."""
    token = svc.settings.slack_bot_token
    if not token:
        raise Unavailable("reading a Slack thread needs SLACK_BOT_TOKEN (with channels:history); paste the thread "
                          "as `text` instead")
    client = WebClient(token=token, base_url=svc.settings.slack_api_base_url, timeout=10)
    messages: list[dict] = []
    try:
        for page in client.conversations_replies(channel=channel, ts=ts, limit=200):
            messages += page.get("messages") or []
    except SlackApiError as exc:
        raise Invalid(f"Slack would not give thread {ts} of {channel}: {exc.response.get('error', 'error')}") \
            from None
    return messages


async def create(svc: Services, who: Principal, body: DraftIn) -> DraftOut:
    """Draft a runbook and store it as a version waiting for review."""
    if (refused := who.refusal(Permission.edit, None, "draft runbooks")) is not None:
        raise Forbidden(refused)
    messages = None
    if body.kind == "slack_thread" and body.channel and body.ts and not body.text:
        messages = await asyncio.to_thread(_thread, svc, body.channel, body.ts)
    draft = await asyncio.to_thread(_draft, body, messages)
    if not draft.steps:
        raise Invalid(f"found nothing to draft from this {body.kind.replace('_', ' ')}: no command and no step"
                      + (f" ({'; '.join(draft.dropped[:3])})" if draft.dropped else ""))
    runbook_id = _draft_id(body.title or draft.title)
    text = to_markdown(draft, runbook_id)
    why = f"a draft from a {body.kind.replace('_', ' ')}: every step needs a person's review before it can run"

    def gate(rb: Runbook) -> list[str]:
        return [why, *_may_edit(svc, who, rb)]

    try:
        result = await asyncio.to_thread(import_text, svc.store, text, default_id=runbook_id, author=who.name,
                                         source_kind="draft", llm=None, gate=gate)
    except RunbookParseError as exc:  # our own text: a defect, said plainly rather than a 500
        raise Invalid(f"the draft did not parse: {exc}") from None
    stored = await asyncio.to_thread(svc.store.version_row, result.id, result.version)
    rb = Runbook.model_validate(stored.model) if stored else None
    await svc.audit(who.name, "runbook.draft", f"runbook:{result.id}", version=result.version, kind=body.kind,
                    steps=len(draft.steps), dropped=len(draft.dropped), via=who.via)
    return DraftOut(**result.model_dump(), dropped=draft.dropped, placeholders=draft.placeholders,
                    draft_steps=[DraftStepOut(id=s.id, title=s.title, command=s.command, risk=s.risk.value,
                                              section=s.section, source=s.source) for s in (rb.steps if rb else [])])


def _draft_id(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "draft"
    return f"drafts/{slug}-{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}"
