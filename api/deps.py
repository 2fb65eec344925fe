"""What route handlers need, taken from the application state set up at start."""

from __future__ import annotations

from fastapi import Request

from services.context import Services


def services(request: Request) -> Services:
    return request.app.state.services
