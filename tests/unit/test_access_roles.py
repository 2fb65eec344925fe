"""Who may do what: what each role grants, how roles add up, and how teams scope them."""

from __future__ import annotations

import pytest

from runbooks.access import (
    ALL_TEAMS,
    DEFAULT_TEAM,
    Permission,
    Principal,
    Role,
    granted,
)
from runbooks.authoring.reader import parse_markdown

P = Permission
EVERYTHING = frozenset(Permission)


def who(*roles: Role, teams: tuple[str, ...] = (DEFAULT_TEAM,), name: str = "alice") -> Principal:
    return Principal(name=name, roles=frozenset(roles), teams=frozenset(teams))


def test_a_viewer_only_reads() -> None:
    assert granted([Role.viewer]) == {P.read}


def test_a_responder_starts_decides_green_and_yellow_and_cancels() -> None:
    assert granted([Role.responder]) == {P.read, P.start, P.decide, P.cancel}


@pytest.mark.parametrize("perm", [P.decide_red, P.start_autopilot, P.edit, P.review, P.admin])
def test_a_responder_may_not(perm: Permission) -> None:
    assert not who(Role.responder).may(perm)


def test_an_approver_adds_red_steps_and_autopilot_to_a_responder() -> None:
    assert granted([Role.approver]) == granted([Role.responder]) | {P.decide_red, P.start_autopilot}
    assert P.edit not in granted([Role.approver]) and P.admin not in granted([Role.approver])


def test_an_author_reads_edits_and_reviews_but_does_not_decide_or_start() -> None:
    assert granted([Role.author]) == {P.read, P.edit, P.review}


def test_an_admin_has_every_permission() -> None:
    assert granted([Role.admin]) == EVERYTHING and who(Role.admin).is_admin


def test_roles_add_up() -> None:
    both = who(Role.responder, Role.author)
    assert both.permissions == {P.read, P.start, P.decide, P.cancel, P.edit, P.review}
    assert granted(["viewer", "approver"]) == granted([Role.approver])  # names work as well as roles
    assert granted([]) == frozenset()


# Teams


def test_a_principal_is_in_the_default_team_unless_told_otherwise() -> None:
    assert Principal(name="bob", roles=frozenset({Role.responder})).teams == {DEFAULT_TEAM}


def test_a_team_member_may_act_on_the_team_runbooks_only() -> None:
    payments = who(Role.responder, teams=("payments",))
    assert payments.may(P.decide, "payments")
    assert not payments.may(P.decide, "checkout") and not payments.may(P.decide, DEFAULT_TEAM)


def test_the_team_never_grants_what_the_role_does_not() -> None:
    assert not who(Role.viewer, teams=("payments",)).may(P.decide, "payments")


def test_admins_and_all_teams_act_for_every_team() -> None:
    assert who(Role.admin, teams=()).may(P.decide_red, "checkout")
    assert who(Role.approver, teams=(ALL_TEAMS,)).may(P.decide_red, "checkout")


def test_without_a_team_only_the_role_is_checked() -> None:
    assert who(Role.author, teams=("payments",)).may(P.edit, None)


def test_an_empty_team_name_is_the_default_team() -> None:
    assert who(Role.responder).may(P.decide, "")
    assert not who(Role.responder, teams=("payments",)).may(P.decide, "")


def test_a_runbook_without_team_belongs_to_the_default_team() -> None:
    rb = parse_markdown("---\nid: disk-full\nmatch:\n  alertname: DiskFull\n---\n## Steps\n\n"
                        "1. **Free space**\n   ```bash\n   journalctl --vacuum-size=500M\n   ```\n")
    assert rb.team is None
    assert rb.owning_team == DEFAULT_TEAM  # what the services ask about before a decision on its steps
    assert who(Role.responder).refusal(P.decide, rb.owning_team) is None
    assert who(Role.responder, teams=("payments",)).refusal(P.decide, rb.owning_team) is not None


# Refusals


def test_a_refusal_names_the_roles_needed_and_the_roles_held() -> None:
    text = who(Role.responder, name="bob").refusal(P.decide_red, what="approve red steps")
    assert text == "bob may not approve red steps: it needs the role approver, admin (yours: responder)"
    assert "(yours: none)" in who(name="eve").refusal(P.read)


def test_a_refusal_names_the_team() -> None:
    text = who(Role.responder, teams=("payments",), name="bob").refusal(P.cancel, "checkout", "cancel executions")
    assert text == ("bob may not cancel executions: the runbook belongs to team 'checkout', "
                    "and bob is in payments")
    assert "no team" in who(Role.responder, teams=(), name="bob").refusal(P.cancel, "checkout")


def test_no_refusal_when_allowed() -> None:
    assert who(Role.approver, teams=("payments",)).refusal(P.decide_red, "payments") is None
