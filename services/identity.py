"""Who is acting: tokens and proxy headers turned into a Principal, Slack users mapped to users
(the administration of users, teams and tokens is services/accounts.py).

The doors authenticate with these and then ask `Principal.may` (runbooks/access.py); the actor
recorded anywhere is the principal's name, never a field a caller sends.
"""

from __future__ import annotations

import asyncio
import logging

from runbooks.access import ALL_TEAMS, Principal, Role
from runbooks.storage.identity import Authenticated
from runbooks.storage.tables import UserRow
from services.context import Services
from services.errors import Unauthenticated

log = logging.getLogger("runbooks.identity")


def principal_of(user: UserRow, via: str, token: str | None = None) -> Principal:
    return Principal(name=user.name, roles=frozenset(Role(r) for r in user.roles), teams=frozenset(user.teams),
                     via=via, token=token)


async def from_token(svc: Services, secret: str) -> Principal:
    found = await asyncio.to_thread(svc.identity.authenticate, secret)
    if isinstance(found, str):
        raise Unauthenticated(found)
    assert isinstance(found, Authenticated)
    return principal_of(found.user, "token", found.token.name)


async def from_proxy(svc: Services, name: str) -> Principal:
    """A user the trusted reverse proxy authenticated: known here, and not disabled."""
    user = await asyncio.to_thread(svc.identity.get_user, name)
    if user is None:
        raise Unauthenticated(f"the proxy authenticated {name!r}, who is not a user here (runbooks users add)")
    if user.disabled:
        raise Unauthenticated(f"user {name!r} is disabled")
    return principal_of(user, "proxy")


async def from_slack(svc: Services, slack_id: str) -> Principal | str:
    """The user a Slack id maps to; else the deprecated SLACK_APPROVERS allowlist; else why not."""
    user = await asyncio.to_thread(svc.identity.user_by_slack, slack_id) if slack_id else None
    if user is not None and not user.disabled:
        return principal_of(user, "slack")
    if user is not None:
        return f"user {user.name!r} is disabled"
    if slack_id and slack_id in svc.settings.approvers:
        log.warning("Slack user %s decided through SLACK_APPROVERS, which is deprecated: map them to a user "
                    "(runbooks users add NAME --role approver --slack-id %s)", slack_id, slack_id)
        return Principal(name=f"slack:{slack_id}", roles=frozenset({Role.approver}), teams=frozenset({ALL_TEAMS}),
                         via="slack-allowlist")
    return (f"your Slack account ({slack_id or 'unknown'}) is not mapped to a Living Runbooks user, so it cannot "
            f"act: an admin runs `runbooks users add NAME --role responder --slack-id {slack_id}`")
