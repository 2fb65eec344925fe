"""Signing in to the web cockpit from a test: a session made through the real /login form."""

from __future__ import annotations

from dataclasses import dataclass

from api.web.session import SESSION_COOKIE
from support.harness import Harness


@dataclass(frozen=True)
class Browser:
    """What a signed-in browser sends: its session cookie, and the CSRF value its pages carry."""

    cookie: str
    csrf: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": "", "Cookie": f"{SESSION_COOKIE}={self.cookie}"}


async def sign_in(h: Harness, name: str, *roles: str, teams: tuple[str, ...] = ("default",)) -> Browser:
    token = h.auth(name, *roles, teams=teams)["Authorization"].removeprefix("Bearer ")
    resp = await h.http.post("/login", data={"token": token, "next": "/"}, headers={"Authorization": ""})
    assert resp.status_code == 303, resp.text
    cookie = resp.cookies[SESSION_COOKIE]
    h.http.cookies.clear()  # the shared client stays cookie-less: each test browser sends its own
    assert h.services is not None
    found = h.services.identity.session_user(cookie)
    assert not isinstance(found, str), found
    return Browser(cookie, found[0].csrf)
