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
