"""The administration of users, teams and tokens, each change in the audit trail; and the first
start's admin. Used by the REST API's admin routes and by the CLI alike (they pass the stores).
"""

from __future__ import annotations

import logging
import os
import re

from sqlalchemy.exc import IntegrityError

from runbooks.access import DEFAULT_TEAM, Role
from runbooks.settings import Settings
from runbooks.storage.audit import AuditLog
from runbooks.storage.identity import IdentityStore, expiry
from runbooks.storage.tables import TokenRow, UserRow
from services.errors import Conflict, Invalid, NotFound

log = logging.getLogger("runbooks.identity")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")
TEAM = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
ADMIN = "admin"


def _check_roles(roles: list[str]) -> list[str]:
    bad = [r for r in roles if r not in {x.value for x in Role}]
    if bad or not roles:
        raise Invalid(f"unknown role {', '.join(bad) or '(none given)'}: use {', '.join(r.value for r in Role)}")
    return list(dict.fromkeys(roles))


def ensure_teams(identity: IdentityStore, audit_log: AuditLog, actor: str, teams: list[str]) -> list[str]:
    """Teams named for a user exist afterwards (made on first use, and audited)."""
    for team in teams:
        if not TEAM.fullmatch(team):
            raise Invalid(f"team {team!r}: lower case letters, digits, '.', '_', '-'")
        if identity.add_team(team):
            audit_log.append(actor, "team.create", f"team:{team}")
    return list(dict.fromkeys(teams))


def add_user(identity: IdentityStore, audit_log: AuditLog, actor: str, name: str, roles: list[str],
             teams: list[str] | None = None, slack_id: str | None = None) -> UserRow:
    if not NAME.fullmatch(name) or name.startswith("slack:"):
        raise Invalid(f"user name {name!r}: letters, digits and . _ @ + - (up to 128)")
    roles = _check_roles(roles)
    teams = ensure_teams(identity, audit_log, actor, teams or [DEFAULT_TEAM])
    try:
        row = identity.add_user(name, roles, teams, slack_id)
    except IntegrityError:
        taken = identity.get_user(name)
        raise Conflict(f"user {name!r} already exists" if taken else f"Slack id {slack_id} belongs to another user") \
            from None
    audit_log.append(actor, "user.create", f"user:{name}", roles=roles, teams=teams, slack_id=slack_id)
    return row


def update_user(identity: IdentityStore, audit_log: AuditLog, actor: str, name: str, *,
                roles: list[str] | None = None, teams: list[str] | None = None, slack_id: str | None = None,
                disabled: bool | None = None) -> UserRow:
    if roles is not None:
        roles = _check_roles(roles)
    if teams is not None:
        teams = ensure_teams(identity, audit_log, actor, teams)
    try:
        row = identity.update_user(name, roles=roles, teams=teams, slack_id=slack_id, disabled=disabled)
    except IntegrityError:
        raise Conflict(f"Slack id {slack_id} belongs to another user") from None
    if row is None:
        raise NotFound(f"no user {name!r}")
    changed = {k: v for k, v in (("roles", roles), ("teams", teams), ("slack_id", slack_id), ("disabled", disabled))
               if v is not None}
    audit_log.append(actor, "user.update", f"user:{name}", **changed)
    return row


def create_token(identity: IdentityStore, audit_log: AuditLog, actor: str, name: str, user: str | None = None,
                 expires_in_days: float | None = None) -> tuple[str, TokenRow]:
    """A new token named `name` for `user` (default: the user of that name); the secret is returned once."""
    owner = user or name
    if not NAME.fullmatch(name):
        raise Invalid(f"token name {name!r}: letters, digits and . _ @ + - (up to 128)")
    if identity.get_user(owner) is None:
        raise NotFound(f"no user {owner!r}: add the user first (runbooks users add {owner} --role ROLE)")
    if identity.active_token(name) is not None:
        raise Conflict(f"a token named {name!r} exists: revoke it first, or choose another name")
    if expires_in_days is not None and expires_in_days <= 0:
        raise Invalid("expires_in_days must be positive")
    secret, row = identity.add_token(name, owner, actor, expiry(expires_in_days))
    audit_log.append(actor, "token.create", f"token:{name}", user=owner,
                     expires_at=row.expires_at.isoformat() if row.expires_at else None)
    return secret, row


def revoke_token(identity: IdentityStore, audit_log: AuditLog, actor: str, name: str) -> int:
    count = identity.revoke_token(name)
    if not count:
        raise NotFound(f"no active token named {name!r}")
    audit_log.append(actor, "token.revoke", f"token:{name}")
    return count


def ensure_admin(identity: IdentityStore, audit_log: AuditLog, settings: Settings) -> str | None:
    """On the first start (no users at all): an admin with a token, written to DATA_DIR/admin-token (0600).

    Returns the token when it was made now (to be printed once), else None.
    """
    if identity.count_users():
        return None
    try:
        add_user(identity, audit_log, "operator", ADMIN, [Role.admin.value], [DEFAULT_TEAM])
    except Conflict:  # another process made it a moment ago
        return None
    secret, _ = create_token(identity, audit_log, "operator", ADMIN)
    path = settings.data_dir / "admin-token"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    log.warning("first start: made user %r (admin) and its token, written to %s", ADMIN, path)
    return secret
