"""What the services refuse, and why, in words a person can act on.

Every door maps these the same way: REST answers `status` with `{"detail": detail}` (one exception
handler in api/app.py), Slack says `reason` to the person, the CLI prints it. The statuses are
HTTP's numbers because they are the vocabulary everyone reads; the services know nothing else of HTTP.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    status = 400

    def __init__(self, reason: str, *, detail: Any = None, status: int | None = None):
        self.reason = reason
        self.detail = reason if detail is None else detail
        if status is not None:
            self.status = status
        super().__init__(reason)


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    """The thing exists but is not in a state that allows this (a step already decided, an execution ended)."""

    status = 409


class Unauthenticated(ServiceError):
    """No identity, or one we cannot accept (unknown, revoked or expired token, a disabled user)."""

    status = 401


class Forbidden(ServiceError):
    """Known, but this identity's roles or teams do not allow it."""

    status = 403


class Invalid(ServiceError):
    status = 422


class TooLarge(ServiceError):
    status = 413


class Unsupported(ServiceError):
    status = 415


class Unavailable(ServiceError):
    """Temporal (or another part the engine needs) did not answer: nothing changed, try again."""

    status = 503


class MissingValues(Invalid):
    """A manual start lacks values (or carries unsafe ones) that steps need: `steps` says which, per step."""

    def __init__(self, steps: dict[str, str]):
        self.steps = steps
        super().__init__("missing or unsafe values for this runbook: pass them in `params`",
                         detail={"message": "missing or unsafe values for this runbook: pass them in `params`",
                                 "steps": steps})
