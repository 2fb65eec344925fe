"""The edits a suggestion proposes: cut one step out of the text, bind a typed value to a label,
and only when the evidence is unanimous over enough runs."""

from __future__ import annotations

from runbooks.authoring.reader import parse_text
from runbooks.suggestions import Supplied, bindings, with_binding, without_step

TEXT = """# Disk full

## Steps

1. **Look**
   ```sh
   df -h {{ labels.mountpoint }}
   ```
2. **Clean the cache**
   Risk: yellow
   ```sh
   rm -rf /var/cache/app/{{labels.pod|lower}}
   ```
3. **Look again**
   ```sh
   df -h
   ```

## Notes
Written by the storage team.
"""


def test_a_step_is_cut_from_its_title_to_the_next_step_and_the_rest_still_parses() -> None:
    rb = parse_text(TEXT, default_id="disk")
    for step_id, left in (("clean-the-cache", ["look", "look-again"]), ("look-again", ["look", "clean-the-cache"])):
        text = without_step(TEXT, rb, step_id)
        assert text is not None and [s.id for s in parse_text(text, default_id="disk").steps] == left
        assert "## Notes\nWritten by the storage team." in text, "what follows the steps stays"
    assert without_step(TEXT, rb, "no-such-step") is None


def test_a_binding_replaces_the_variable_in_every_placeholder_and_nothing_else() -> None:
    text = with_binding(TEXT + "labels.pod in prose stays\n", "labels.pod", "instance")
    assert "{{labels.instance|lower}}" in text and "labels.pod in prose stays" in text
    assert with_binding("{{ labels.podname }}", "labels.pod", "instance") == "{{ labels.podname }}"


def _typed(n: int, value: str, labels: dict[str, str]) -> Supplied:
    return Supplied(f"ex{n}", "clean", {"labels.pod": value}, labels)


def test_a_value_is_bound_only_when_three_runs_agree_on_one_label() -> None:
    runs = [_typed(n, f"web-{n}", {"instance": f"web-{n}", "job": "api"}) for n in range(3)]
    assert bindings(runs[:2]) == {}, "two runs are not enough"
    assert bindings(runs)[("clean", "labels.pod")][0] == "instance"
    odd = runs[:2] + [_typed(9, "web-9", {"instance": "db-1", "job": "api"})]
    assert bindings(odd) == {}, "one run where it was not the instance: no binding"


def test_a_note_names_a_command_run_by_hand_only_when_it_says_so() -> None:
    from runbooks.notes import ran_by_hand

    assert ran_by_hand("I also ran `systemctl  restart nginx` and it came back") == "systemctl restart nginx"
    assert ran_by_hand("we ran: kubectl -n web rollout restart deploy/api") == "kubectl -n web rollout restart deploy/api"
    assert ran_by_hand("Ran ``grep -c ` /var/log/x`` to count") == "grep -c ` /var/log/x"
    assert ran_by_hand("the disk ran out at 3am") is None
    assert ran_by_hand("looked at `df -h`, all fine") is None, "code that was not run is just a note"


def test_a_command_people_ran_in_two_runs_becomes_a_step_after_the_last() -> None:
    from runbooks.suggestions import RanByHand, commands_people_ran, with_step

    ran = [RanByHand("ex1", "ana", "systemctl restart nginx", "I also ran `systemctl restart nginx`"),
           RanByHand("ex1", "bo", "systemctl  restart nginx", "ran it again"),
           RanByHand("ex2", "cy", "journalctl -u nginx", "I ran `journalctl -u nginx`")]
    assert commands_people_ran(ran) == {}, "one run only, however many notes"
    ran.append(RanByHand("ex2", "cy", "systemctl restart nginx", "I also ran `systemctl restart nginx`"))
    assert list(commands_people_ran(ran)) == ["systemctl restart nginx"]
    rb = parse_text(TEXT, default_id="disk")
    text = with_step(TEXT, rb, "Also run systemctl restart nginx", "systemctl restart nginx")
    assert text is not None
    steps = parse_text(text, default_id="disk").steps
    assert [s.id for s in steps][:3] == ["look", "clean-the-cache", "look-again"]
    assert steps[3].command == "systemctl restart nginx" and "## Notes" in text.rsplit("systemctl restart nginx", 1)[1]


def test_a_failing_step_is_fixed_only_by_a_related_command_people_ran_in_two_of_its_failed_runs() -> None:
    from runbooks.suggestions import RanByHand, fixes_for, with_command

    failing = "service nginx restart"
    ran = [RanByHand("ex1", "ana", "systemctl restart nginx", "I ran `systemctl restart nginx`"),
           RanByHand("ex1", "ana", "df -h", "I ran `df -h`"),
           RanByHand("ex2", "bo", "df -h", "we ran: df -h")]
    assert fixes_for(failing, ran) is None, "df is about something else, and the restart was run once"
    ran.append(RanByHand("ex2", "bo", "systemctl  restart nginx", "I also ran `systemctl restart nginx`"))
    command, rows = fixes_for(failing, ran)
    assert command == "systemctl restart nginx" and {r.execution_id for r in rows} == {"ex1", "ex2"}
    rb = parse_text(TEXT, default_id="disk")
    text = with_command(TEXT, rb, "look-again", "df -hT")
    assert text is not None and [s.command for s in parse_text(text, default_id="disk").steps][2] == "df -hT"
    assert text.count("df -h {{ labels.mountpoint }}") == 1, "only that step's command changes"
    assert with_command(TEXT, rb, "no-such-step", "x") is None
