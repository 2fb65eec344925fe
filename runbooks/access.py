"""Who may do what: roles, the permissions they grant, teams, and the principal a door authenticated.

Pure and small, like `policy.py`: every door (REST, Slack, the web pages, the CLI) asks the same
table, so a role means one thing everywhere. A person may hold several roles; each adds to what
the others grant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from runbooks.model import DEFAULT_TEAM

ALL_TEAMS = "*"  # the deprecated SLACK_APPROVERS fallback acts for every team, as it always did


class Role(str, Enum):
    viewer = "viewer"
    responder = "responder"
    approver = "approver"
    author = "author"
    admin = "admin"


class Permission(str, Enum):
    read = "read"  # executions, runbooks, alerts, the catalogue
    start = "start"  # start an execution by hand (copilot or dry run)
    start_autopilot = "start_autopilot"  # autopilot runs yellow steps unasked: starting it is an approval
    decide = "decide"  # approve green and yellow steps, reject any step, supply missing values
    decide_red = "decide_red"  # approve red steps
    cancel = "cancel"
    edit = "edit"  # import, upload, revert runbooks
    review = "review"  # approve or reject another person's runbook change
    admin = "admin"  # users, teams, tokens, the audit log


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.viewer: frozenset({Permission.read}),
    Role.responder: frozenset({Permission.read, Permission.start, Permission.decide, Permission.cancel}),
    Role.approver: frozenset({Permission.read, Permission.start, Permission.start_autopilot, Permission.decide,
                              Permission.decide_red, Permission.cancel}),
    Role.author: frozenset({Permission.read, Permission.edit, Permission.review}),
    Role.admin: frozenset(Permission),
}


def granted(roles: Iterable[Role | str]) -> frozenset[Permission]:
    out: frozenset[Permission] = frozenset()
    for role in roles:
        out |= _GRANTS[Role(role)]
    return out


def roles_granting(permission: Permission) -> list[Role]:
    return [r for r in Role if permission in _GRANTS[r]]


@dataclass(frozen=True)
class Principal:
    """An authenticated identity: a user (a person or a service) and how the door knew them."""

    name: str
    roles: frozenset[Role]
    teams: frozenset[str] = field(default_factory=lambda: frozenset({DEFAULT_TEAM}))
    via: str = "token"  # token | proxy | slack | slack-allowlist | operator
    token: str | None = None  # the name of the token used, for the audit trail

    @property
    def permissions(self) -> frozenset[Permission]:
        return granted(self.roles)

    @property
    def is_admin(self) -> bool:
        return Role.admin in self.roles

    def may(self, permission: Permission, team: str | None = None) -> bool:
        """Whether the roles grant it and, for a team's runbook (`Runbook.owning_team`), the principal is in
        that team (admins aside). `team=None` checks the role alone (a door's first, coarse check)."""
        if permission not in self.permissions:
            return False
        return team is None or self.is_admin or ALL_TEAMS in self.teams or (team or DEFAULT_TEAM) in self.teams

    def refusal(self, permission: Permission, team: str | None = None, what: str = "do this") -> str | None:
        """Why not, in words a person can act on; None when allowed."""
        if permission not in self.permissions:
            needed = ", ".join(r.value for r in roles_granting(permission))
            mine = ", ".join(sorted(r.value for r in self.roles)) or "none"
            return f"{self.name} may not {what}: it needs the role {needed} (yours: {mine})"
        if not self.may(permission, team):
            return (f"{self.name} may not {what}: the runbook belongs to team {team or DEFAULT_TEAM!r}, "
                    f"and {self.name} is in {', '.join(sorted(self.teams)) or 'no team'}")
        return None


OPERATOR = Principal(name="operator", roles=frozenset({Role.admin}), via="operator")
