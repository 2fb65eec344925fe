"""Text for Slack's mrkdwn, shared by the notifier (activities/slack_notifier.py) and the Slack door (api/).

Slack treats three characters as markup; escaping them means a runbook title, an alert label or a
person's comment can never ping @channel or forge a link.
"""

from __future__ import annotations


def esc(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
