"""The learned second opinion (runbooks/risk/learned.py) raises a generic yellow to red when a
command looks like those people labelled red, names the words that decided, and never lowers a
verdict, touches a read, or second-guesses a yellow the tables decided on purpose."""

from __future__ import annotations

import pytest

from runbooks.model import Risk
from runbooks.risk import classify, classify_by_rules
from runbooks.risk.learned import MODEL, THRESHOLD, red_likeness


def test_the_model_ships_with_the_package() -> None:
    assert MODEL.is_file() and MODEL.stat().st_size < 200_000


@pytest.mark.parametrize(("command", "words"), [
    ("vaultctl purge --all --force", {"purge", "--force"}),
    ("dbtool drop-database orders --yes", {"drop-database"}),
])
def test_an_unknown_tool_that_looks_destructive_is_red_and_says_why(command: str, words: set[str]) -> None:
    assert classify_by_rules(command).risk == Risk.yellow  # the tables do not know the tool
    found = classify(command)
    assert found.risk == Risk.red and found.reason.startswith("learned: ")
    assert all(f"'{w}'" in found.reason for w in words), found.reason
    assert "the tables said: unknown command" in found.reason


def test_an_in_place_edit_that_opens_a_service_is_red_and_a_routine_one_stays_yellow() -> None:
    opened = "sudo sed -i 's/^anonymous_enable=NO/anonymous_enable=YES/' /etc/vsftpd.conf"
    assert classify_by_rules(opened).risk == Risk.yellow  # no rule knows vsftpd
    assert classify(opened).risk == Risk.red and "edits files in place" in classify(opened).reason
    routine = "sed -i 's/worker_processes 4/worker_processes 8/' /etc/nginx/nginx.conf"
    assert classify(routine).risk == Risk.yellow


@pytest.mark.parametrize("command", [
    "kubectl delete pod web-1",  # one pod its controller recreates: yellow by definition
    "psql -c \"UPDATE users SET active = false WHERE id = 42\"",
    "oc scale deploy/a --replicas=0\noc scale deploy/a --replicas=1",
])
def test_a_deliberate_yellow_is_not_second_guessed(command: str) -> None:
    assert classify(command).risk == Risk.yellow


def test_it_would_raise_a_deliberate_yellow_were_it_asked() -> None:
    # the model alone finds `kubectl delete` red-like: the tables' definition is what keeps it yellow
    assert red_likeness("kubectl delete pod web-1") >= THRESHOLD


@pytest.mark.parametrize(("command", "risk"), [
    ("kubectl get secrets -A -o name", Risk.green),  # a read stays a read, however red its words look
    ("terraform plan -destroy", Risk.green),
    ("rm -rf /var/lib/postgresql", Risk.red),  # red stays red
    ("foo-cli list", Risk.yellow),  # an unknown tool that looks harmless stays yellow
])
def test_it_never_lowers_a_verdict_or_touches_a_read(command: str, risk: Risk) -> None:
    assert classify_by_rules(command).risk == risk
    assert classify(command).risk == risk
