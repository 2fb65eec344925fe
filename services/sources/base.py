"""What every alert source adapter is: raw delivery in, verified and normalized alerts out.

Adapters are pure (no database, no Temporal): they check the signature or token, parse the body,
and return `Alert`s, or raise `SourceError` with the HTTP status and a reason a person can act on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from runbooks.alert import Alert
from runbooks.settings import Settings
from services.errors import ServiceError


class SourceError(ServiceError):
    """A delivery we refuse: 401 for a wrong or missing signature, 4xx for a malformed body, 500 when
    our own configuration of the source is wrong."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason, status=status)

    def __str__(self) -> str:
        return f"{self.status}: {self.reason}"


@dataclass(frozen=True)
class Delivery:
    source: str
    body: bytes
    headers: Mapping[str, str]  # lower-cased names
    query: Mapping[str, str] = field(default_factory=dict)


Adapter = Callable[[Delivery, Settings], list[Alert]]
