"""Who is at the browser: sign-in with a token (or the trusted single sign-on proxy), a session
cookie, CSRF on every form, sign-out.

The cookie holds a random secret (HttpOnly, SameSite=Lax, Secure where WEB_COOKIE_SECURE says);
the database keeps only its hash, and a session ends with the token it signed in with. Every
request that changes something echoes the session's CSRF value (a form field, or the header htmx
sends), so another site cannot act through a signed-in browser. Each page declares its rule with
`page(permission)`, which the route matrix reads like the API's.
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.auth import RULE, public, trusted_proxy
from api.deps import services
from api.web.render import render
from runbooks.access import Permission, Principal
from services.context import Services
from services.errors import Forbidden, Unauthenticated
from services.identity import principal_of

SESSION_COOKIE = "lrb_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class PageRule:
    """A page's rule: a signed-in browser whose roles grant `permission` (GET without one: to /login)."""

    permission: Permission


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    csrf: str

    @property
    def name(self) -> str:
        return self.principal.name

    def may(self, permission: Permission, team: str | None = None) -> bool:
        return self.principal.may(permission, team)


class LoginRequired(Exception):
    """A page asked for without a session: the browser is sent to sign in, and back afterwards."""

    def __init__(self, next_url: str):
        self.next_url = next_url


async def viewer_of(request: Request, svc: Services) -> Viewer | None:
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    found = await asyncio.to_thread(svc.identity.session_user, secret)
    if isinstance(found, str):
        return None
    session, user = found
    return Viewer(principal_of(user, "web"), session.csrf)


async def _check_csrf(request: Request, viewer: Viewer) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = (await request.form()).get(CSRF_FIELD)  # cached by Starlette: the route reads the form again
    if not isinstance(sent, str) or not hmac.compare_digest(sent, viewer.csrf):
        raise Forbidden("this form is stale or did not come from this site (CSRF check failed): reload the page")


def page(permission: Permission, *, stream: bool = False):  # noqa: ANN201
    """A page's rule: the signed-in viewer, with `permission`; a change also needs the CSRF value.
    Without a session a page sends the browser to sign in; a live stream (`stream`) is refused."""
    async def dependency(request: Request, svc: Services = Depends(services)) -> Viewer:
        viewer = await viewer_of(request, svc)
        if viewer is None:
            if request.method in SAFE_METHODS and not stream and "hx-request" not in request.headers:
                raise LoginRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
            raise Unauthenticated("sign in first (/login): your session is missing or has ended")
        if request.method not in SAFE_METHODS:
            await _check_csrf(request, viewer)
        what = permission.value.replace("_", " ")
        if (refused := viewer.principal.refusal(permission, None, what)) is not None:
            raise Forbidden(refused)
        request.state.principal = viewer.principal
        return viewer

    setattr(dependency, RULE, PageRule(permission))
    return dependency


def _safe_next(next_url: str | None) -> str:
    """Only a path of this site (never `//elsewhere` or a scheme): no open redirect through sign-in."""
    if not next_url or not next_url.startswith("/") or next_url.startswith("//") or "\\" in next_url:
        return "/"
    return next_url


def _signed_in(svc: Services, secret: str, next_url: str) -> Response:
    response = RedirectResponse(_safe_next(next_url), status_code=303)
    response.set_cookie(SESSION_COOKIE, secret, max_age=int(svc.settings.web_session_hours * 3600), path="/",
                        httponly=True, samesite="lax", secure=svc.settings.web_cookie_secure)
    return response


def _lifetime(svc: Services) -> timedelta:
    return timedelta(hours=svc.settings.web_session_hours)


@router.get("/login", dependencies=[Depends(public("the sign-in page"))])
async def login_page(request: Request, next: str = "/", svc: Services = Depends(services)) -> Response:
    """The sign-in form; behind the trusted single sign-on proxy, the proxy's user is signed in at once."""
    proxied = request.headers.get(svc.settings.proxy_user_header)
    if proxied and trusted_proxy(svc, request):
        user = await asyncio.to_thread(svc.identity.get_user, proxied.strip())
        if user is not None and not user.disabled:
            secret, _ = await asyncio.to_thread(svc.identity.open_session, user.name, "proxy", _lifetime(svc))
            await svc.audit(user.name, "web.login", f"user:{user.name}", via="proxy")
            return _signed_in(svc, secret, next)
    return render(request, "login.html", viewer=None, next=_safe_next(next), error=None)


@router.post("/login", dependencies=[Depends(public("sign-in: the token in the form is the identity"))])
async def login(request: Request, token: str = Form(""), next: str = Form("/"),
                svc: Services = Depends(services)) -> Response:
    found = await asyncio.to_thread(svc.identity.authenticate, token.strip()) if token.strip() else "enter a token"
    if isinstance(found, str):
        await svc.audit("anonymous", "auth.failed", "POST /login", reason=found,
                        client=request.client.host if request.client else None)
        return render(request, "login.html", status_code=401, viewer=None, next=_safe_next(next),
                      error=f"Not signed in: {found}.")
    secret, _ = await asyncio.to_thread(svc.identity.open_session, found.user.name, "token", _lifetime(svc),
                                        found.token.id)
    await svc.audit(found.user.name, "web.login", f"user:{found.user.name}", via="token", token=found.token.name)
    return _signed_in(svc, secret, next)


@router.post("/logout")
async def logout(request: Request, viewer: Viewer = Depends(page(Permission.read)),
                 svc: Services = Depends(services)) -> Response:
    secret = request.cookies.get(SESSION_COOKIE, "")
    await asyncio.to_thread(svc.identity.close_session, secret)
    await svc.audit(viewer.name, "web.logout", f"user:{viewer.name}")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def login_redirect(exc: LoginRequired) -> Response:
    return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/')}", status_code=303)
