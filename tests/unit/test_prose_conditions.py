"""A prose runbook's "If ..." steps: an `If:` when the words say what to test, else a person's choice."""

from __future__ import annotations

from runbooks.authoring.reader import parse_markdown
from runbooks.conditions import ConditionContext, StepOutcome, parse_condition

PROSE = """# Pod keeps restarting

## Diagnosis

Check why it stopped:

```bash
kubectl describe pod {{ $labels.pod }} -n {{ $labels.namespace }}
```

If the output shows `OOMKilled`, raise the memory limit:

```bash
kubectl set resources deployment/{{ $labels.deployment }} --limits=memory=2Gi
```

If the previous command fails, look at the events:

```bash
kubectl get events -n {{ $labels.namespace }}
```

If you see 401 errors in the logs, rotate the token:

```bash
kubectl rollout restart deployment/{{ $labels.deployment }}
```
"""


def test_a_condition_on_the_previous_output_or_result_becomes_an_if() -> None:
    steps = parse_markdown(PROSE).steps
    raise_limit, events = steps[1], steps[2]
    assert raise_limit.flow.when == f'steps.{steps[0].id}.output =~ "OOMKilled"'
    assert events.flow.when == f"steps.{raise_limit.id}.exit_code != 0"
    holds = parse_condition(raise_limit.flow.when).evaluate(ConditionContext(steps={
        steps[0].id: StepOutcome(0, "Last State: Terminated\n  Reason: OOMKilled")}))
    assert holds


def test_a_judgement_becomes_a_choice_a_person_makes_at_a_breakpoint() -> None:
    rotate = parse_markdown(PROSE).steps[3]
    assert rotate.flow.when is None and rotate.flow.breakpoint
    assert rotate.flow.choice == "you see 401 errors in the logs"


def test_a_step_without_a_condition_keeps_the_plain_flow() -> None:
    first = parse_markdown(PROSE).steps[0]
    assert first.flow.when is None and not first.flow.breakpoint and first.flow.choice is None
