"""The "notify" activity: an execution's life in one Slack thread.

On "started" a root message goes to SLACK_CHANNEL and its ts is stored (SlackMessageRow with
step_id ""); every later event of that execution is a reply in that thread, and the root is created
lazily if it is missing (Slack was down at the start, or notifying was switched on mid-run). An
approval request is also broadcast to the channel, stored under its step, and updated in place
once the step is decided, whichever door the decision came through.

Retries: the workflow retries this activity a few times and then carries on without it, so every
handler is written to be run again. Messages we edit (the root, an approval request) are looked
up before they are posted, and the one post that cannot be looked up (a line in the thread) is
always the handler's last Slack call. A Slack error is raised for Temporal to retry, except
errors that no retry can fix (bad token, unknown channel): those fail at once, so a misconfigured
Slack does not hold every execution up through a round of retries.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import slack_messages as msgs
from runbooks.contract import LIVE_STATUSES, Activity, EventKind, ExecutionEvent, IncidentReportPost
from runbooks.masking import mask
from runbooks.settings import Settings
from runbooks.storage.store import Store
from runbooks.storage.tables import AlertRow, ApprovalRow, SlackMessageRow, StepRow

log = logging.getLogger("runbooks.slack")

ROOT = ""  # SlackMessageRow.step_id of an execution's thread root
# Errors a retry cannot fix: the token, the app's scopes or the channel are wrong, or the message is.
PERMANENT_ERRORS = frozenset({
    "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "no_permission",
    "missing_scope", "channel_not_found", "not_in_channel", "is_archived", "restricted_action",
    "invalid_blocks", "invalid_blocks_format", "msg_too_long", "too_many_attachments", "cant_update_message",
    "edit_window_closed", "message_not_found", "invalid_arguments",
})


class SlackNotifier:
    def __init__(self, settings: Settings, store: Store, client: WebClient | None = None):
        self.settings, self.store = settings, store
        self.channel = settings.slack_channel or ""
        self.client = client
        if self.client is None and settings.slack_enabled:
            self.client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_base_url, timeout=10)

    @activity.defn(name=Activity.NOTIFY)
    def notify(self, event: ExecutionEvent) -> None:
        """Tell the execution's thread about one event; a no-op where Slack is not configured."""
        extra = {"execution_id": event.execution_id}
        event = event.model_copy(update={"message": mask(event.message)})  # the rest comes from the (masked) store
        if self.client is None or not self.channel:
            log.info("Slack is not configured in this worker: %s not sent to chat", event.kind.value, extra=extra)
            return
        self._guarded(event.kind.value, event.execution_id, lambda: self._handle(event))

    @activity.defn(name=Activity.POST_REPORT)
    def post_report(self, post: IncidentReportPost) -> None:
        """An ended incident's report, once into the thread of each of its executions that has one."""
        if self.client is None or not self.channel:
            log.info("Slack is not configured in this worker: the report of incident %s not sent", post.incident_id)
            return
        marker = f"report:{post.incident_id}:{post.ending}"[:128]
        message = msgs.incident_report(post.title, mask(post.markdown) or "", post.incident_id)
        for execution_id in post.execution_ids:
            root = self._message(execution_id, ROOT)
            if root is None or self._message(execution_id, marker) is not None:
                continue  # no thread (Slack was off), or posted on an earlier attempt
            self._guarded("incident report", execution_id, lambda: self._remember(execution_id, marker, (
                self.client.chat_postMessage(channel=self.channel, thread_ts=root.ts, text=message.text,
                                             blocks=message.blocks, reply_broadcast=True, unfurl_links=False))))

    def _guarded(self, what: str, execution_id: str, call) -> None:  # noqa: ANN001
        """Run Slack calls; a Slack error becomes the retry (or the non-retryable failure) it calls for."""
        try:
            call()
        except SlackApiError as exc:
            error = str(exc.response.get("error", "")) if exc.response is not None else ""
            log.warning("Slack refused %s for %s: %s", what, execution_id, error or exc,
                        extra={"execution_id": execution_id})
            if error == "ratelimited":
                headers = {k.lower(): v for k, v in (exc.response.headers or {}).items()}
                retry_after = int(str(headers.get("retry-after") or 1).split(",")[0])
                raise ApplicationError(f"Slack rate limit on {what}", type="SlackRateLimited",
                                       next_retry_delay=timedelta(seconds=min(retry_after, 60))) from exc
            if error in PERMANENT_ERRORS:
                raise ApplicationError(f"Slack refused {what}: {error}", type="SlackConfigError",
                                       non_retryable=True) from exc
            raise

    # -- events ---------------------------------------------------------------------------------

    def _handle(self, event: ExecutionEvent) -> None:
        view, steps, approvals = self._load(event.execution_id)
        root = self._root(view)
        step = steps.get(event.step_id or "")
        if event.kind is EventKind.started:
            return  # the root is the announcement
        if event.kind is EventKind.approval_requested and step is not None:
            self._approval_requested(view, step, root)
        elif event.kind is EventKind.paused and step is not None:
            self._reply(root, msgs.paused_at(view, step), broadcast=True)
        elif event.kind is EventKind.decided and step is not None:
            self._decided(view, step, approvals.get(step.step_id), root, event)
        elif event.kind is EventKind.step_finished and step is not None:
            self._reply(root, msgs.step_finished_line(step))
        elif event.kind is EventKind.escalation:
            self._reply(root, msgs.escalation_line(event.target, event.message, step), broadcast=True)
        elif event.kind is EventKind.finished:
            status, reason = view.status, view.reason
            if status in LIVE_STATUSES:  # the mirror lags: trust the event ("failed: why")
                status, _, reason = event.message.partition(": ")
                view.status, view.reason = status, reason
            self._update(root, msgs.thread_root(view))
            self._reply(root, msgs.finished_line(status, reason))
        elif event.kind is EventKind.resolved:
            self._reply(root, msgs.resolved_line())
        else:
            self._reply(root, msgs.event_line(event.kind.value, event.message))

    def _approval_requested(self, view: msgs.ExecutionFacts, step: StepRow, root: str) -> None:
        message = msgs.approval_request(view, step)
        existing = self._message(view.execution_id, step.step_id)
        if existing is not None:  # a retry, or the step asked again: refresh, don't duplicate
            self._update(existing.ts, message)
            return
        resp = self.client.chat_postMessage(channel=self.channel, thread_ts=root, reply_broadcast=True,
                                            text=message.text, blocks=message.blocks, unfurl_links=False)
        self._remember(view.execution_id, step.step_id, resp)

    def _decided(self, view: msgs.ExecutionFacts, step: StepRow, approval: ApprovalRow | None, root: str,
                 event: ExecutionEvent) -> None:
        if approval is None:  # the mirror has not caught up: the event still says what happened
            self._reply(root, msgs.event_line("decided", event.message))
            return
        request = self._message(view.execution_id, step.step_id)
        if request is not None:
            self._update(request.ts, msgs.approval_decided(view, step, approval))
        self._reply(root, msgs.decision_line(step, approval))

    # -- Slack calls ----------------------------------------------------------------------------

    def _root(self, view: msgs.ExecutionFacts) -> str:
        """The thread's ts: the stored one, or a new root message stored exactly once."""
        existing = self._message(view.execution_id, ROOT)
        if existing is not None:
            return existing.ts
        message = msgs.thread_root(view)
        resp = self.client.chat_postMessage(channel=self.channel, text=message.text, blocks=message.blocks,
                                            unfurl_links=False)
        return self._remember(view.execution_id, ROOT, resp)

    def _reply(self, root: str, message: msgs.Message, broadcast: bool = False) -> None:
        self.client.chat_postMessage(channel=self.channel, thread_ts=root, text=message.text, blocks=message.blocks,
                                     reply_broadcast=broadcast or None, unfurl_links=False)

    def _update(self, ts: str, message: msgs.Message) -> None:
        self.client.chat_update(channel=self.channel, ts=ts, text=message.text, blocks=message.blocks)

    # -- the database ---------------------------------------------------------------------------

    def _message(self, execution_id: str, step_id: str) -> SlackMessageRow | None:
        with self.store.session() as s:
            return s.exec(select(SlackMessageRow).where(SlackMessageRow.execution_id == execution_id,
                                                        SlackMessageRow.step_id == step_id)).first()

    def _remember(self, execution_id: str, step_id: str, resp: SlackResponse) -> str:
        """Store a posted message; if another attempt stored one first, keep that one and drop ours."""
        channel, ts = str(resp.get("channel") or self.channel), str(resp["ts"])
        with self.store.session() as s:
            s.add(SlackMessageRow(execution_id=execution_id, step_id=step_id, channel=channel, ts=ts))
            try:
                s.commit()
                return ts
            except IntegrityError:
                s.rollback()
        kept = self._message(execution_id, step_id)
        assert kept is not None
        try:
            self.client.chat_delete(channel=channel, ts=ts)
        except SlackApiError as exc:  # a duplicate left in the channel is untidy, not wrong
            log.warning("could not delete duplicate Slack message %s: %s", ts, exc)
        return kept.ts

    def _load(self, execution_id: str) -> tuple[msgs.ExecutionFacts, dict[str, StepRow], dict[str, ApprovalRow]]:
        found = self.store.get_execution(execution_id)
        if found is None:  # not mirrored yet: say what we know
            return msgs.ExecutionFacts(execution_id=execution_id), {}, {}
        ex, steps, approvals, _ = found
        version = self.store.version_row(ex.runbook_id, ex.runbook_version)
        title = (version.model.get("title") if version else None) or ex.runbook_id
        with self.store.session() as s:
            alert = s.exec(select(AlertRow).where(AlertRow.execution_id == execution_id)
                           .order_by(col(AlertRow.id))).first()
        drill = self.store.drill_of_execution(ex.id) if ex.drill else None  # a drill's alert is not an alert row
        labels = alert.labels if alert else drill.labels if drill else {}
        view = msgs.ExecutionFacts(
            execution_id=ex.id, runbook_id=ex.runbook_id, runbook_version=ex.runbook_version, runbook_title=title,
            mode=ex.mode, started_by=ex.started_by, status=ex.status, reason=ex.reason, drill=ex.drill,
            alertname=ex.alertname or (alert.alertname if alert else None),
            labels={k: str(v) for k, v in labels.items()},
            params={k: str(v) for k, v in (ex.params or {}).items()})
        return view, {st.step_id: st for st in steps}, {a.step_id: a for a in approvals}
