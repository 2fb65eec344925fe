"""Identity on every door: each route declares its rule, and nothing serves a route without one.

A route either `needs(Permission.X)`, which authenticates the request (`Authorization: Bearer
<token>`, or the user header of a trusted single sign-on proxy) and checks the roles, or is
`public(why)`: health, the alert webhooks (their own signatures and tokens) and Slack (signed by
Slack). `/metrics` needs `read` unless METRICS_PUBLIC opens it. `check_rules` refuses to build an
app with a route that has no rule; the route matrix test reads the same rules.

A team-scoped check (deciding, editing) happens in the service, which knows the runbook's team.
Every refused authentication is in the audit trail.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute, iter_route_contexts

from api.deps import services
from runbooks.access import Permission, Principal
from services.context import Services
from services.errors import Forbidden, Unauthenticated
from services.identity import from_proxy, from_token

log = logging.getLogger("runbooks.auth")
RULE = "__access__"  # the attribute a rule's dependency carries: a Permission, or "public: why"


def trusted_proxy(svc: Services, request: Request) -> bool:
    networks = svc.settings.proxy_networks
    if not networks or request.client is None:
        return False
    try:
        address = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    return any(address in n for n in networks)


async def authenticate(request: Request, svc: Services) -> Principal:
    """The principal of this request, or Unauthenticated (audited) with what was wrong."""
    try:
        proxied = request.headers.get(svc.settings.proxy_user_header)
        if proxied and trusted_proxy(svc, request):
            return await from_proxy(svc, proxied.strip())
        header = request.headers.get("authorization")
        if not header:
            raise Unauthenticated("send `Authorization: Bearer <token>` (`runbooks tokens create NAME` makes one)")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthenticated("the Authorization header must be `Bearer <token>`")
        return await from_token(svc, secret.strip())
    except Unauthenticated as exc:
        await svc.audit("anonymous", "auth.failed", f"{request.method} {request.url.path}", reason=exc.reason,
                        client=request.client.host if request.client else None)
        raise


async def principal(request: Request, svc: Services = Depends(services)) -> Principal:
    """The request's principal, as a dependency (one place: a unit test of a route may override it)."""
    who = await authenticate(request, svc)
    request.state.principal = who
    return who


def needs(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A route's rule: an authenticated principal whose roles grant `permission`."""
    async def dependency(who: Principal = Depends(principal)) -> Principal:
        if (refused := who.refusal(permission, None, permission.value.replace("_", " "))) is not None:
            raise Forbidden(refused)
        return who

    setattr(dependency, RULE, permission)
    return dependency


def public(why: str) -> Callable[[], Awaitable[None]]:
    """A route's rule: no identity, for the reason given (it authenticates otherwise, or shows nothing)."""
    async def dependency() -> None:
        return None

    setattr(dependency, RULE, f"public: {why}")
    return dependency


def metrics_rule() -> Callable[..., Awaitable[Principal | None]]:
    async def dependency(request: Request, svc: Services = Depends(services)) -> Principal | None:
        if svc.settings.metrics_public:
            return None
        return await needs(Permission.read)(await principal(request, svc))

    setattr(dependency, RULE, Permission.read)  # by default; METRICS_PUBLIC=true opens it
    return dependency


def api_routes(app: FastAPI) -> Iterator[Any]:
    """Every API route as served (its path with the router's prefix, its methods, its dependant)."""
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute):
            yield route


def rule_of(route: Any) -> Any:
    """The rule a route declares (a Permission or "public: ..."), or None."""
    pending = list(route.dependant.dependencies)
    while pending:
        dep = pending.pop()
        if dep.call is not None and hasattr(dep.call, RULE):
            return getattr(dep.call, RULE)
        pending.extend(dep.dependencies)
    return None


def check_rules(app: FastAPI) -> None:
    """Refuse to serve an app with a route that declares no rule: a new route is closed or explained."""
    missing = [f"{sorted(r.methods)} {r.path}" for r in api_routes(app) if rule_of(r) is None]
    if missing:
        raise RuntimeError(f"routes without an access rule (api/auth.py: needs or public): {', '.join(missing)}")
