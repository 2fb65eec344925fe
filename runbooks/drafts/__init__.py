"""Drafts of runbooks from what people actually did during an incident.

A shell session or a recording (shell.py), a Slack thread (slack_thread.py) or a postmortem
(postmortem.py) becomes a `Draft`: the steps taken, each citing its source, with dead ends, noise and
secrets left out. `to_markdown` writes it as a runbook; it stays a draft until a person reviews it.
"""

from __future__ import annotations

from runbooks.drafts.model import Draft, DraftStep, to_markdown

__all__ = ["Draft", "DraftStep", "to_markdown"]
