"""Planning renders a runbook against one alert: hostile values never change where a step runs."""

from __future__ import annotations

from runbooks.authoring.reader import parse_markdown
from runbooks.rendering.planning import build_context, plan_steps

RUNBOOK = """---
id: remote
target: ssh://ops@{{ labels.host }}:2222
---
# Remote

## Steps

1. **Uptime**
   ```sh
   uptime
   ```
"""


def test_a_host_label_fills_only_the_host_of_an_ssh_target() -> None:
    [step] = plan_steps(parse_markdown(RUNBOOK), build_context(labels={"host": "web-1.example.com"}))
    assert step.target == "ssh://ops@web-1.example.com:2222" and step.render_error is None


def test_a_host_label_cannot_smuggle_in_a_user_port_or_option() -> None:
    for hostile in ("root@evil", "evil:22", "-oProxyCommand=sh", "evil/../x", "a b"):
        [step] = plan_steps(parse_markdown(RUNBOOK), build_context(labels={"host": hostile}))
        assert step.render_error, hostile


def test_a_missing_label_becomes_a_question_instead_of_a_hole() -> None:
    [step] = plan_steps(parse_markdown(RUNBOOK), build_context(labels={}))
    assert step.needs == ["labels.host"] and step.render_error is None


def test_every_missing_value_is_asked_for_at_once() -> None:
    rb = parse_markdown(RUNBOOK.replace("uptime", "kubectl -n {{ labels.namespace }} logs {{ labels.pod }}"))
    [step] = plan_steps(rb, build_context(labels={}))
    assert step.needs == ["labels.host", "labels.namespace", "labels.pod"]
