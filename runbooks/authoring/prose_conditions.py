"""A prose step's condition ("If the previous command fails, ...") as an `If:` where the words say
exactly what to test, else as a choice a person makes when the step is reached.

Only sentences about the previous step's result are read, and only two ways: it failed or
succeeded, or its output shows one word (`OOMKilled`) or a quoted text. Anything else ("you see 401
errors", "the pod is running") is a judgement: the step pauses (a breakpoint) with the question,
and a person resumes (it holds: run the step) or steps over it (it does not).
"""

from __future__ import annotations

import re

from runbooks.model import Step, StepFlow

_PREVIOUS = r"(?:the\s+previous\s+(?:step|command)|the\s+(?:above\s+)?command|this|it)"
_FAILS = re.compile(rf"^{_PREVIOUS}\s+(?:fails|failed|returns?\s+an?\s+error|exits?\s+(?:non-?zero|with\s+an?\s+error))$",
                    re.IGNORECASE)
_WORKS = re.compile(rf"^{_PREVIOUS}\s+(?:succeeds|succeeded|works|worked|exits?\s+(?:with\s+)?0)$", re.IGNORECASE)
_SHOWS = re.compile(rf"^(?:{_PREVIOUS}|the\s+output)\s+(?:shows|contains|prints|returns|reports|says)\s+"
                    r"(?:`([^`]{1,80})`|\"([^\"]{1,80})\"|([A-Za-z][\w.:/-]{1,79}))$", re.IGNORECASE)


def condition_flow(condition: str, previous: Step | None) -> StepFlow:
    """The flow a prose condition gives its step: an `If:` on the previous step, or a person's choice."""
    said = " ".join(condition.split()).rstrip(".")
    if previous is not None and previous.command is not None and previous.runs:
        ref = f"steps.{previous.id}"
        if _FAILS.match(said):
            return StepFlow(when=f"{ref}.exit_code != 0")
        if _WORKS.match(said):
            return StepFlow(when=f"{ref}.exit_code == 0")
        if m := _SHOWS.match(said):
            text = m.group(1) or m.group(2) or m.group(3)  # one word (OOMKilled) or a quoted text
            pattern = re.escape(text).replace("\\", "\\\\").replace('"', '\\"')
            return StepFlow(when=f'{ref}.output =~ "{pattern}"')
    return StepFlow(breakpoint=True, choice=condition)


def with_conditions(steps: list[Step]) -> list[Step]:
    """Each conditional step with its flow (the previous step is the one it reads)."""
    return [s.model_copy(update={"flow": condition_flow(s.condition, steps[i - 1] if i else None)})
            if s.condition else s for i, s in enumerate(steps)]
