"""How the whole-command rules (security.py, exposure.py) raise a verdict.

Each rule only ever *raises* the verdict of the per-command classifier, and its reason names the
rule and quotes the part of the command that decided it. A command with URL-encoded parts
(`query=count(%7B__name__%3D~%22.%2B%22%7D)`) is read decoded as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from runbooks.model import Risk
from runbooks.risk.base import R, RiskAssessment

WORLD = r"(?:0\.0\.0\.0/0|::/0)"
_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")


@dataclass(frozen=True)
class SecurityRule:
    name: str
    risk: Risk
    pattern: re.Pattern[str]
    what: str


def rule(name: str, risk: Risk, pattern: str, what: str) -> SecurityRule:
    return SecurityRule(name, risk, re.compile(pattern, re.IGNORECASE | re.DOTALL), what)


# A pattern searched for (`grep -n NOPASSWD /etc/sudoers`, `history | grep FLUSHALL`) is not a change made:
# the red rules read the command with search patterns blanked; the yellow ones (reads of secrets) need them.
SEARCH_PATTERN = re.compile(r"\b(?:grep|egrep|fgrep|zgrep|rg|ag)\b((?:\s+-[\w-]+(?:=\S+)?)*)\s+('[^']*'|\"[^\"]*\"|[^\s|;&]+)")


def raise_for_security(verdict: RiskAssessment, command: str, rules: tuple[SecurityRule, ...]) -> RiskAssessment:
    """The verdict, raised to the worst rule the command matches (never lowered)."""
    if _ENCODED.search(command):
        command = f"{command}\n{unquote(command)}"
    searched = SEARCH_PATTERN.sub(lambda m: f"grep{m.group(1)} PATTERN", command)
    for rule in rules:
        if Risk.worst([verdict.risk, rule.risk]) == verdict.risk:
            continue
        found = rule.pattern.search(searched if rule.risk == R else command)
        if found is not None:
            part = " ".join(found.group(0).split())
            part = part if len(part) <= 60 else part[:57] + "..."
            verdict = RiskAssessment(risk=rule.risk, reason=f"rule {rule.name}: `{part}` {rule.what}")
    return verdict

