"""Users, teams and API tokens in the application database.

A token is `lrb_` and 43 characters of `secrets.token_urlsafe(32)`: shown once, kept only as its
SHA-256 (256 random bits need no slow hash: there is nothing to guess), found by that hash.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from runbooks.storage.tables import TeamRow, TokenRow, UserRow, WebSessionRow, utcnow

TOKEN_PREFIX = "lrb_"
_TOUCH_EVERY = timedelta(seconds=60)  # last_used_at is a hint: one write a minute per token, not per request


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Authenticated:
    user: UserRow
    token: TokenRow


class IdentityStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # -- teams ------------------------------------------------------------------------------------

    def add_team(self, name: str) -> bool:
        """Create a team; False when it already exists."""
        with self.session() as s:
            if s.get(TeamRow, name) is not None:
                return False
            s.add(TeamRow(name=name, created_at=utcnow()))
            try:
                s.commit()
            except IntegrityError:
                return False
            return True

    def teams(self) -> list[TeamRow]:
        with self.session() as s:
            return list(s.exec(select(TeamRow).order_by(TeamRow.name)))

    # -- users ------------------------------------------------------------------------------------

    def add_user(self, name: str, roles: list[str], teams: list[str], slack_id: str | None = None) -> UserRow:
        """Raises IntegrityError when the name (or the Slack id) is taken."""
        row = UserRow(name=name, roles=roles, teams=teams, slack_id=slack_id or None, created_at=utcnow())
        with self.session() as s:
            s.add(row)
            s.commit()
        return row

    def update_user(self, name: str, *, roles: list[str] | None = None, teams: list[str] | None = None,
                    slack_id: str | None = None, disabled: bool | None = None) -> UserRow | None:
        with self.session() as s:
            row = s.get(UserRow, name)
            if row is None:
                return None
            if roles is not None:
                row.roles = roles
            if teams is not None:
                row.teams = teams
            if slack_id is not None:
                row.slack_id = slack_id or None
            if disabled is not None:
                row.disabled = disabled
            s.add(row)
            s.commit()
            return row

    def get_user(self, name: str) -> UserRow | None:
        with self.session() as s:
            return s.get(UserRow, name)

    def user_by_slack(self, slack_id: str) -> UserRow | None:
        with self.session() as s:
            return s.exec(select(UserRow).where(UserRow.slack_id == slack_id)).first()

    def users(self) -> list[UserRow]:
        with self.session() as s:
            return list(s.exec(select(UserRow).order_by(UserRow.name)))

    def count_users(self) -> int:
        with self.session() as s:
            return len(list(s.exec(select(UserRow.name).limit(1))))

    # -- tokens -----------------------------------------------------------------------------------

    def add_token(self, name: str, user: str, created_by: str, expires_at: datetime | None = None) -> tuple[str, TokenRow]:
        """A new token for `user`; returns the secret (shown once) and the stored row."""
        secret = new_secret()
        row = TokenRow(name=name, user=user, token_hash=token_digest(secret), prefix=secret[:10],
                       created_by=created_by, created_at=utcnow(), expires_at=expires_at)
        with self.session() as s:
            s.add(row)
            s.commit()
        return secret, row

    def active_token(self, name: str) -> TokenRow | None:
        with self.session() as s:
            return s.exec(select(TokenRow).where(TokenRow.name == name, col(TokenRow.revoked_at).is_(None))).first()

    def revoke_token(self, name: str) -> int:
        """Revoke the active tokens of this name; how many were revoked."""
        with self.session() as s:
            done = s.exec(update(TokenRow).where(TokenRow.name == name, col(TokenRow.revoked_at).is_(None))
                          .values(revoked_at=utcnow()))  # type: ignore[call-overload]
            s.commit()
            return done.rowcount or 0

    def tokens(self) -> list[TokenRow]:
        with self.session() as s:
            return list(s.exec(select(TokenRow).order_by(TokenRow.id)))

    def authenticate(self, secret: str, now: datetime | None = None) -> Authenticated | str:
        """The user and token a secret belongs to, or why it is refused (unknown, revoked, expired, disabled)."""
        now = now or utcnow()
        with self.session() as s:
            found = s.exec(select(TokenRow, UserRow).join(UserRow, col(UserRow.name) == col(TokenRow.user))
                           .where(TokenRow.token_hash == token_digest(secret))).first()
            if found is None:
                return "unknown token"
            token, user = found
            if (refused := _refusal(token, user, now)) is not None:
                return refused
            if token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY:
                s.exec(update(TokenRow).where(TokenRow.id == token.id).values(last_used_at=now))  # type: ignore[call-overload]
                s.commit()
            return Authenticated(user=user, token=token)

    # -- browser sessions (the web cockpit) --------------------------------------------------------

    def open_session(self, user: str, via: str, lifetime: timedelta, token_id: int | None = None) -> tuple[str, WebSessionRow]:
        """A new browser session; returns the cookie's secret (kept here only as its hash) and the row."""
        secret = secrets.token_urlsafe(32)
        now = utcnow()
        row = WebSessionRow(id=token_digest(secret), user=user, token_id=token_id, via=via,
                            csrf=secrets.token_urlsafe(24), created_at=now, expires_at=now + lifetime)
        with self.session() as s:
            s.add(row)
            s.commit()
        return secret, row

    def session_user(self, secret: str, now: datetime | None = None) -> tuple[WebSessionRow, UserRow] | str:
        """The session and user a cookie belongs to, or why not: unknown, expired, its token revoked or
        expired, its user disabled."""
        now = now or utcnow()
        with self.session() as s:
            found = s.exec(select(WebSessionRow, UserRow).join(UserRow, col(UserRow.name) == col(WebSessionRow.user))
                           .where(WebSessionRow.id == token_digest(secret))).first()
            if found is None:
                return "no such session (signed out?)"
            session, user = found
            if session.expires_at is not None and session.expires_at <= now:
                return "the session expired"
            token = s.get(TokenRow, session.token_id) if session.token_id is not None else None
            if session.token_id is not None and token is None:
                return "the token this session signed in with is gone"
            if (refused := _refusal(token, user, now)) is not None:
                return f"the session ended: {refused}"
            return session, user

    def close_session(self, secret: str) -> None:
        with self.session() as s:
            row = s.get(WebSessionRow, token_digest(secret))
            if row is not None:
                s.delete(row)
                s.commit()


def _refusal(token: TokenRow | None, user: UserRow, now: datetime) -> str | None:
    """Why a token (or a session signed in with it) no longer stands for its user."""
    if token is not None and token.revoked_at is not None:
        return f"token {token.name!r} was revoked"
    if token is not None and token.expires_at is not None and token.expires_at <= now:
        return f"token {token.name!r} expired at {token.expires_at:%Y-%m-%d %H:%M} UTC"
    if user.disabled:
        return f"user {user.name!r} is disabled"
    return None


def expiry(days: float | None) -> datetime | None:
    return None if not days else datetime.now(timezone.utc) + timedelta(days=days)
