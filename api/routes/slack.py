"""Slack's doors into the product: the Approve/Reject buttons (and the reject modal), `/runbook`, and
replies in an execution's thread (the Events API), which become notes.

Every request is verified with Slack's signing secret over the raw body (`v0:<timestamp>:<body>`,
HMAC-SHA256, requests older than five minutes refused) before anything is parsed; a request that
fails is refused with 401 and changes nothing. Without SLACK_SIGNING_SECRET these routes are 404.

Decisions go through `services.decisions.decide`, the one path every door uses. A Slack user acts
as the user whose Slack id they are (`runbooks users add NAME --slack-id U...`), judged by that
user's roles and teams and recorded by that user's name; a Slack id listed in the deprecated
SLACK_APPROVERS acts as `slack:<user id>` with the approver role. A refusal (not mapped, a role
that may not, already decided, a red step approved by its starter, values a button cannot supply) is
told to the person alone with `chat.postEphemeral`; a decision that is accepted is shown by the
notifier when it updates the approval message. Slack wants an answer within three seconds, so a
button click is acknowledged at once and worked on right after the response.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.blocks import InputBlock, MarkdownTextObject, PlainTextInputElement, PlainTextObject, SectionBlock
from slack_sdk.models.views import View
from slack_sdk.signature import Clock, SignatureVerifier

from api.auth import public
from api.deps import services
from api.problems import refusal, responses
from api.slack_commands import code, esc, handle_command, mention_actors, who
from runbooks.access import Principal
from runbooks.settings import Settings
from services.context import Services
from services.control import resume
from services.decisions import decidable_step, decide
from services.identity import from_slack
from services.notes import add_note
from services.errors import Conflict, Invalid, ServiceError, Unavailable

router = APIRouter(prefix="/slack", tags=["slack"], responses=responses(400, 401, 404))
log = logging.getLogger("runbooks.slack")

MAX_AGE_SECONDS = 5 * 60  # what SignatureVerifier enforces; checked first only to say why
REJECT_CALLBACK = "reject_reason"
REASON_BLOCK = "reason"
REASON_ACTION = "reason"
SUBMIT_TIMEOUT = 2.5  # a modal submission must be answered within Slack's 3 seconds
NOTHING_CHANGED = "Nothing was changed."


# -- verification -----------------------------------------------------------------------------------

def signature_problem(secret: str, body: bytes, headers: Any, clock: Clock | None = None) -> str | None:
    """Why this request is not from Slack, or None when `SignatureVerifier` accepts it."""
    clock = clock or Clock()
    timestamp = headers.get("x-slack-request-timestamp")
    signature = headers.get("x-slack-signature")
    if not timestamp or not signature:
        return "missing X-Slack-Request-Timestamp or X-Slack-Signature header: not a request signed by Slack"
    if not (timestamp.isascii() and timestamp.isdigit()):
        return "X-Slack-Request-Timestamp is not a Unix time"
    if abs(clock.now() - int(timestamp)) > MAX_AGE_SECONDS:
        return "X-Slack-Request-Timestamp is more than 5 minutes away from now: stale or replayed request refused"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8: not a request signed by Slack"
    if not SignatureVerifier(secret, clock).is_valid(body, timestamp, signature):
        return "X-Slack-Signature does not match the body: check SLACK_SIGNING_SECRET"
    return None


async def verified_form(request: Request, settings: Settings) -> dict[str, str]:
    """The form fields of a request Slack signed; 404 without a signing secret, 401 if unsigned."""
    secret = settings.slack_signing_secret
    if not secret or not secret.strip():
        raise HTTPException(404, detail="Slack is not configured (set SLACK_SIGNING_SECRET)")
    body = await request.body()  # bounded to 2 MiB before it is read (api/limits.py)
    problem = signature_problem(secret, body, request.headers)
    if problem:
        log.warning("refused Slack request to %s: %s", request.url.path, problem)
        raise HTTPException(401, detail=problem)
    fields = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    return {k: v[0] for k, v in fields.items()}


# -- talking back to Slack --------------------------------------------------------------------------

class SlackReplies:
    """The Web API calls the doors make: ephemeral refusals and the reject modal. Failures are logged."""

    def __init__(self, settings: Settings):
        token = settings.slack_bot_token
        self.client = WebClient(token=token, base_url=settings.slack_api_base_url, timeout=5) if token else None

    async def _call(self, method: str, **kwargs: Any) -> bool:
        if self.client is None:
            log.warning("cannot call Slack %s: SLACK_BOT_TOKEN is not set", method)
            return False
        try:
            await asyncio.to_thread(getattr(self.client, method.replace(".", "_")), **kwargs)
            return True
        except SlackApiError as exc:
            log.warning("Slack %s failed: %s", method, exc.response.get("error"))
        except (SlackClientError, OSError) as exc:
            log.warning("Slack %s failed: %s", method, exc)
        return False

    async def ephemeral(self, channel: str | None, user: str, text: str) -> bool:
        if not channel or not user:
            log.warning("cannot tell %s privately (no channel): %s", user or "someone", text)
            return False
        return await self._call("chat.postEphemeral", channel=channel, user=user, text=text,
                                blocks=[SectionBlock(text=MarkdownTextObject(text=text))])

    async def open_view(self, trigger_id: str, view: View) -> bool:
        return await self._call("views.open", trigger_id=trigger_id, view=view)


# -- interactions ------------------------------------------------------------------------------------

@dataclass
class Click:
    action: str
    user: str
    channel: str | None
    execution_id: str
    step_id: str
    trigger_id: str | None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _target(raw: Any) -> tuple[str, str] | None:
    """(execution id, step id) from a button value or the modal's metadata, or None if malformed."""
    try:
        data = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    execution_id, step_id = data.get("e"), data.get("s")
    if not (isinstance(execution_id, str) and execution_id and isinstance(step_id, str) and step_id):
        return None
    return execution_id, step_id


async def slack_principal(svc: Services, user: str) -> Principal | str:
    """Who this Slack user acts as, or (a sentence to show them) why they cannot act."""
    found = await from_slack(svc, user)
    return found if isinstance(found, Principal) else f"{found[0].upper()}{found[1:]}. {NOTHING_CHANGED}"


async def refusal_text(svc: Services, exc: ServiceError, execution_id: str, step_id: str,
                       mrkdwn: bool = True) -> str:
    """A refused decision said to a person in Slack, with who decided when the step already was."""
    found = await asyncio.to_thread(svc.store.get_execution, execution_id)
    if found is not None:
        _, steps, approvals, _ = found
        step = next((s for s in steps if s.step_id == step_id), None)
        approval = next((a for a in approvals if a.step_id == step_id), None)
        title = step.title if step else step_id
        name = f"*{esc(title)}*" if mrkdwn else f"'{title}'"
        if isinstance(exc, Conflict) and approval is not None:
            verdict = "approved" if approval.approved else "rejected"
            when = f" at {approval.decided_at:%H:%M:%S} UTC" if approval.decided_at else ""
            return f"Step {name} was already {verdict} by {who(approval.actor, mrkdwn)}{when}. {NOTHING_CHANGED}"
        if isinstance(exc, Invalid) and step is not None:
            needs = ", ".join(step.needs) or "values"
            return (f"Step {name} needs {needs} before it can run, and a button cannot supply "
                    f"{'them' if len(step.needs) != 1 else 'it'}: approve it with values through the API "
                    f"(POST /api/v1/executions/{execution_id}/steps/{step_id}/approve with \"values\"). "
                    f"{NOTHING_CHANGED}")
    reason = mention_actors(exc.reason) if mrkdwn else exc.reason
    return f"{reason}. Try again in a moment." if isinstance(exc, Unavailable) else f"{reason}. {NOTHING_CHANGED}"


def reject_modal(click: Click, title: str) -> View:
    return View(
        type="modal", callback_id=REJECT_CALLBACK, title=PlainTextObject(text="Reject step"),
        submit=PlainTextObject(text="Reject"), close=PlainTextObject(text="Cancel"),
        private_metadata=json.dumps({"e": click.execution_id, "s": click.step_id, "c": click.channel}),
        blocks=[
            SectionBlock(text=MarkdownTextObject(
                text=f"Reject *{esc(title)}* of {code(click.execution_id)}? The execution stops and what it "
                     f"changed so far is rolled back, newest first.")),
            InputBlock(block_id=REASON_BLOCK, label=PlainTextObject(text="Why?"), optional=False,
                       element=PlainTextInputElement(action_id=REASON_ACTION, multiline=True, max_length=2000,
                                                     placeholder=PlainTextObject(text="The reason is recorded "
                                                                                      "with the rejection"))),
        ])


async def on_click(svc: Services, replies: SlackReplies, click: Click) -> None:
    """Work on a button click after Slack has had its 200; every outcome is logged, none raises."""
    try:
        acting = await slack_principal(svc, click.user)
        if isinstance(acting, str):
            await replies.ephemeral(click.channel, click.user, acting)
            return
        if click.action in ("resume", "step_over"):
            try:
                done = await resume(svc, acting, click.execution_id, click.step_id,
                                    step_over=click.action == "step_over")
                await replies.ephemeral(click.channel, click.user, f"Step {code(click.step_id)}: {done}.")
            except ServiceError as exc:
                await replies.ephemeral(click.channel, click.user, f"{exc.reason}. {NOTHING_CHANGED}")
            return
        if click.action == "approve":
            try:
                await decide(svc, acting, click.execution_id, click.step_id, approved=True)
            except ServiceError as exc:
                await replies.ephemeral(click.channel, click.user,
                                        await refusal_text(svc, exc, click.execution_id, click.step_id))
            return
        # reject: ask why first, unless there is nothing left to reject
        title = await _waiting_title(svc, replies, click, acting)
        if title is not None and click.trigger_id:
            if not await replies.open_view(click.trigger_id, reject_modal(click, title)):
                await replies.ephemeral(click.channel, click.user, "Slack did not open the rejection form; "
                                        f"click Reject again. {NOTHING_CHANGED}")
        elif title is not None:
            await replies.ephemeral(click.channel, click.user, f"Slack sent no trigger to open the rejection "
                                    f"form; click Reject again. {NOTHING_CHANGED}")
    except Exception:  # the response is gone: never lose a failure silently
        log.exception("Slack %s click on %s/%s failed", click.action, click.execution_id, click.step_id)


async def _waiting_title(svc: Services, replies: SlackReplies, click: Click, acting: Principal) -> str | None:
    """The step's title if it may be rejected now; otherwise tell the person why not and return None."""
    try:
        found = await decidable_step(svc, click.execution_id, click.step_id, approved=False, who=acting)
    except ServiceError as exc:
        await replies.ephemeral(click.channel, click.user,
                                await refusal_text(svc, exc, click.execution_id, click.step_id))
        return None
    return found.step.title


def _errors(text: str) -> JSONResponse:
    return JSONResponse({"response_action": "errors", "errors": {REASON_BLOCK: text[:1000]}})


async def on_reject_submission(svc: Services, payload: dict[str, Any]) -> Response:
    """The reject modal was submitted: reject with the reason, or keep the modal open with why not."""
    user = _text(_obj(payload.get("user")).get("id"))
    view = _obj(payload.get("view"))
    acting = await slack_principal(svc, user)
    if isinstance(acting, str):
        return _errors(acting)
    target = _target(view.get("private_metadata"))
    if target is None:
        return _errors("This form does not name a step any more; close it and click Reject again.")
    execution_id, step_id = target
    values = _obj(_obj(view.get("state")).get("values"))
    reason = _text(_obj(_obj(values.get(REASON_BLOCK)).get(REASON_ACTION)).get("value")).strip()
    if not reason:
        return _errors("Say why the step is rejected; the reason is recorded with the rejection.")
    try:
        await asyncio.wait_for(decide(svc, acting, execution_id, step_id, approved=False, comment=reason),
                               SUBMIT_TIMEOUT)
    except ServiceError as exc:
        return _errors(await refusal_text(svc, exc, execution_id, step_id, mrkdwn=False))
    except TimeoutError:
        log.warning("rejecting %s/%s from Slack took longer than %ss", execution_id, step_id, SUBMIT_TIMEOUT)
        return _errors("The product did not answer in time; the rejection may not have been recorded. "
                       "Check the execution before trying again.")
    return Response(status_code=200)


@router.post("/interactions", response_class=Response,
             responses={200: {"description": "Acknowledged (empty), or a modal's validation errors (JSON)"},
                        401: refusal(401, "Not signed by Slack"), 404: refusal(404, "Slack not configured")},
             dependencies=[Depends(public("signed by Slack: verified before anything is read"))])
async def interactions(request: Request, background: BackgroundTasks,
                       svc: Services = Depends(services)) -> Response:
    """Slack's interactivity request URL: Approve/Reject and Resume/Step over buttons, the rejection modal."""
    form = await verified_form(request, svc.settings)
    try:
        payload = json.loads(form.get("payload") or "")
    except ValueError:
        raise HTTPException(400, detail="the form has no JSON `payload` field") from None
    if not isinstance(payload, dict):
        raise HTTPException(400, detail="`payload` is not a JSON object")
    kind = payload.get("type")
    if kind == "block_actions":
        actions = payload.get("actions")
        action = _obj(actions[0]) if isinstance(actions, list) and actions else {}
        action_id = action.get("action_id")
        if action_id not in ("approve", "reject", "resume", "step_over"):
            return Response(status_code=200)  # another app's or a future button: acknowledged, ignored
        user = _text(_obj(payload.get("user")).get("id"))
        channel = (_text(_obj(payload.get("channel")).get("id"))
                   or _text(_obj(payload.get("container")).get("channel_id")) or None)
        target = _target(action.get("value"))
        replies = SlackReplies(svc.settings)
        if target is None:
            background.add_task(replies.ephemeral, channel, user,
                                f"This button does not name an execution step. {NOTHING_CHANGED}")
            return Response(status_code=200)
        click = Click(action=action_id, user=user, channel=channel, execution_id=target[0], step_id=target[1],
                      trigger_id=_text(payload.get("trigger_id")) or None)
        background.add_task(on_click, svc, replies, click)
        return Response(status_code=200)
    if kind == "view_submission" and _obj(payload.get("view")).get("callback_id") == REJECT_CALLBACK:
        return await on_reject_submission(svc, payload)
    return Response(status_code=200)  # view_closed, shortcuts, other modals: nothing to do


# -- events: replies in an execution's thread become notes ---------------------------------------------

_SEEN_EVENTS: OrderedDict[str, None] = OrderedDict()  # Slack retries an event it thinks we missed


def _first_time(event_id: str) -> bool:
    if not event_id:
        return True
    if event_id in _SEEN_EVENTS:
        return False
    _SEEN_EVENTS[event_id] = None
    while len(_SEEN_EVENTS) > 10_000:
        _SEEN_EVENTS.popitem(last=False)
    return True


async def on_thread_reply(svc: Services, replies: SlackReplies, channel: str, thread_ts: str, user: str,
                          text: str) -> None:
    """A reply in an execution's thread is a note by the user it maps to; a refusal is told privately."""
    try:
        execution_id = await asyncio.to_thread(svc.store.execution_of_thread, channel, thread_ts)
        if execution_id is None:
            return  # a thread that is not an execution's: not ours to read
        acting = await slack_principal(svc, user)
        if isinstance(acting, str):
            await replies.ephemeral(channel, user, f"Your reply was not added to the execution's notes. {acting}")
            return
        unescaped = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        await add_note(svc, acting, execution_id, unescaped)
    except ServiceError as exc:
        await replies.ephemeral(channel, user, f"Your reply was not added to the execution's notes: {exc.reason}")
    except Exception:  # the response is gone: never lose a failure silently
        log.exception("Slack thread reply in %s/%s could not become a note", channel, thread_ts)


@router.post("/events", responses={401: refusal(401, "Not signed by Slack"),
                                   404: refusal(404, "Slack not configured")},
             dependencies=[Depends(public("signed by Slack: verified before anything is read"))])
async def events(request: Request, background: BackgroundTasks, svc: Services = Depends(services)) -> dict[str, Any]:
    """Slack's Events API request URL: a person's reply in an execution's thread becomes a note of
    that execution ("I also ran `cmd`" included), as the user their Slack id maps to."""
    secret = svc.settings.slack_signing_secret
    if not secret or not secret.strip():
        raise HTTPException(404, detail="Slack is not configured (set SLACK_SIGNING_SECRET)")
    body = await request.body()
    if (problem := signature_problem(secret, body, request.headers)) is not None:
        log.warning("refused Slack request to %s: %s", request.url.path, problem)
        raise HTTPException(401, detail=problem)
    try:
        payload = json.loads(body)
    except ValueError:
        raise HTTPException(400, detail="the body is not JSON") from None
    if not isinstance(payload, dict):
        raise HTTPException(400, detail="the body is not a JSON object")
    if payload.get("type") == "url_verification":
        return {"challenge": _text(payload.get("challenge"))}
    event = _obj(payload.get("event"))
    thread_ts, user = _text(event.get("thread_ts")), _text(event.get("user"))
    is_reply = (event.get("type") == "message" and thread_ts and user and not event.get("bot_id")
                and not event.get("subtype") and thread_ts != _text(event.get("ts")))
    if is_reply and _first_time(_text(payload.get("event_id"))):
        background.add_task(on_thread_reply, svc, SlackReplies(svc.settings), _text(event.get("channel")), thread_ts,
                            user, _text(event.get("text")))
    return {}


@router.post("/commands", responses={401: refusal(401, "Not signed by Slack"),
                                     404: refusal(404, "Slack not configured")},
             dependencies=[Depends(public("signed by Slack: verified before anything is read"))])
async def commands(request: Request, svc: Services = Depends(services)) -> dict[str, Any]:
    """Slack's slash command URL for `/runbook run|status|list|help` (answers are ephemeral)."""
    form = await verified_form(request, svc.settings)
    if form.get("ssl_check"):
        return {}
    try:
        return await handle_command(svc, form)
    except Exception:  # Slack shows a 500 as a cryptic failure: say something useful
        log.exception("/runbook %r failed", form.get("text"))
        return {"response_type": "ephemeral",
                "text": "Something went wrong on the Living Runbooks side; the error is in its logs."}
