"""`runbooks users`, `runbooks tokens`, `runbooks audit`: identity and the audit trail from a shell
on the server, honouring DATA_DIR / DATABASE_URL like the server (acts are recorded as `operator`).

    runbooks users add NAME --role ROLE [--role ROLE] [--team TEAM] [--slack-id ID]
    runbooks users list
    runbooks tokens create NAME [--user USER] [--expires-in-days N]   the token alone on the last line
    runbooks tokens revoke NAME
    runbooks audit verify                                             exit 0 intact, 1 not, naming the entry
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from runbooks.access import OPERATOR, Role
from runbooks.settings import Settings
from runbooks.storage.audit import AuditLog, audit_key
from runbooks.storage.engine import make_engine
from runbooks.storage.identity import IdentityStore
from runbooks.storage.migrate import create_schema
from services import accounts
from services.errors import ServiceError

console = Console(stderr=True)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    users = sub.add_parser("users", help="add and list users (people and services)")
    ua = users.add_subparsers(dest="users_command", required=True)
    add = ua.add_parser("add", help="add a user")
    add.add_argument("name")
    add.add_argument("--role", action="append", required=True, choices=[r.value for r in Role],
                     help="repeat for several roles")
    add.add_argument("--team", action="append", help="repeat for several teams (default: default)")
    add.add_argument("--slack-id", help="the user's Slack id (U...): clicks in Slack act as this user")
    ua.add_parser("list", help="list users")
    tokens = sub.add_parser("tokens", help="create and revoke API tokens")
    ta = tokens.add_subparsers(dest="tokens_command", required=True)
    create = ta.add_parser("create", help="create a token; prints it once, alone on the last line")
    create.add_argument("name", help="the token's name; also the user it belongs to unless --user is given")
    create.add_argument("--user", help="the user who holds it (default: NAME)")
    create.add_argument("--expires-in-days", type=float)
    revoke = ta.add_parser("revoke", help="revoke the token of this name")
    revoke.add_argument("name")
    ta.add_parser("list", help="list tokens (never their secrets)")
    audit = sub.add_parser("audit", help="check the audit trail")
    aa = audit.add_subparsers(dest="audit_command", required=True)
    aa.add_parser("verify", help="exit 0 when the log is intact, 1 naming the first edited, deleted or "
                                 "reordered entry")


@dataclass
class _Stores:
    identity: IdentityStore
    audit: AuditLog


@contextmanager
def _stores(settings: Settings, create_key: bool = True) -> Iterator[_Stores]:
    engine = make_engine(settings.resolved_database_url)
    try:
        create_schema(engine, auto_migrate=settings.auto_migrate)
        yield _Stores(IdentityStore(engine), AuditLog(engine, audit_key(settings, create=create_key)))
    finally:
        engine.dispose()


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        if args.command == "users":
            return _users(args, settings)
        if args.command == "tokens":
            return _tokens(args, settings)
        return _audit(settings)
    except ServiceError as exc:
        console.print(f"[red]{exc.reason}[/red]")
        return 1 if exc.status != 404 else 2


def _users(args: argparse.Namespace, settings: Settings) -> int:
    with _stores(settings) as st:
        if args.users_command == "add":
            row = accounts.add_user(st.identity, st.audit, OPERATOR.name, args.name, args.role, args.team,
                                    args.slack_id)
            print(f"added {row.name}: roles {', '.join(row.roles)}; teams {', '.join(row.teams)}"
                  + (f"; Slack {row.slack_id}" if row.slack_id else ""))
            return 0
        table = Table(title="users")
        for name in ("name", "roles", "teams", "slack id", "disabled"):
            table.add_column(name)
        for u in st.identity.users():
            table.add_row(u.name, ", ".join(u.roles), ", ".join(u.teams), u.slack_id or "", "yes" if u.disabled else "")
        Console().print(table)
        return 0


def _tokens(args: argparse.Namespace, settings: Settings) -> int:
    with _stores(settings) as st:
        if args.tokens_command == "create":
            secret, row = accounts.create_token(st.identity, st.audit, OPERATOR.name, args.name, args.user,
                                                args.expires_in_days)
            expires = f", expires {row.expires_at:%Y-%m-%d %H:%M} UTC" if row.expires_at else ""
            console.print(f"token {row.name} for user {row.user}{expires}; it is shown this once:")
            print(secret)
            return 0
        if args.tokens_command == "revoke":
            accounts.revoke_token(st.identity, st.audit, OPERATOR.name, args.name)
            print(f"revoked {args.name}")
            return 0
        table = Table(title="tokens")
        for name in ("name", "user", "prefix", "created", "expires", "revoked", "last used"):
            table.add_column(name)
        for t in st.identity.tokens():
            table.add_row(t.name, t.user, t.prefix, f"{t.created_at:%Y-%m-%d}" if t.created_at else "",
                          f"{t.expires_at:%Y-%m-%d}" if t.expires_at else "",
                          f"{t.revoked_at:%Y-%m-%d}" if t.revoked_at else "",
                          f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "")
        Console().print(table)
        return 0


def _audit(settings: Settings) -> int:
    with _stores(settings, create_key=False) as st:
        verdict = st.audit.verify()
    print(str(verdict))
    if verdict.ok and not verdict.keyed:
        console.print("[yellow]no audit key (AUDIT_KEY, AUDIT_KEY_FILE or DATA_DIR/audit.key): a rewritten chain "
                      "would not show[/yellow]")
        return 3
    return 0 if verdict.ok else 1
