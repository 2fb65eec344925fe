"""HTTP steps (a ```http request block): the method says what the request does to the API.

GET, HEAD and OPTIONS read; POST, PUT and PATCH change state (reversible as far as the API allows);
DELETE destroys. Unlike curl on a command line (http.py), nothing else is in the block to inspect:
the method is the verdict, and the reason names it with the host it goes to.
"""

from __future__ import annotations

import re

from runbooks.risk.base import G, R, RiskAssessment, Y

_READS, _CHANGES = (G, "only reads"), (Y, "changes remote state (reversible as far as the API allows)")
_BY_METHOD = {"GET": _READS, "HEAD": _READS, "OPTIONS": _READS, "POST": _CHANGES, "PUT": _CHANGES, "PATCH": _CHANGES,
              "DELETE": (R, "deletes (treated as destructive)")}
_REQUEST_LINE = re.compile(r"\s*(\S+)\s+(.*?)(?:\s+HTTP/[0-9.]+)?\s*\Z")


def request_risk(request: str) -> RiskAssessment:
    """The verdict of one request block, from its first line (`METHOD URL`)."""
    first = next((line for line in request.splitlines() if line.strip()), "")
    m = _REQUEST_LINE.match(first)
    method, url = (m[1], m[2]) if m else (first.strip(), "")
    host = re.split(r"[/?#]", url.partition("://")[2], maxsplit=1)[0] or url or "an unknown host"
    risk, does = _BY_METHOD.get(method, (Y, "is not known to be read-only"))  # as the parser: capitals only
    return RiskAssessment(risk=risk, reason=f"HTTP {method or '?'} to {host} {does}")
