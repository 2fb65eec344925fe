"""Every route of the app x no token, a bad token and each role: the status each one gets.

The routes come from the app itself (api/auth.py `api_routes`), with the rule each declares, so a
route added later is in the matrix by construction; a route with no rule stops the app from
starting at all (`check_rules`), which the last test shows.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import APIRouter

from api.app import create_app
from api.auth import api_routes, rule_of
from api.web.session import PageRule
from runbooks.access import Permission, Role, granted
from support.harness import Harness, make_settings, running_product
from support.web import sign_in

BODIES = {"POST": {}, "PATCH": {}, "DELETE": None, "GET": None, "OPTIONS": None}


@pytest.fixture
async def product(temporal, temporal_address: str, tmp_path: Path) -> AsyncIterator[Harness]:
    settings = make_settings(tmp_path, temporal_address)
    async with running_product(temporal.client, settings, tmp_path, with_worker=False) as h:
        yield h


def _url(path: str) -> str:
    """A concrete URL for a route path: every parameter filled with a value that names nothing."""
    return re.sub(r"\{[^}]+\}", lambda m: "7" if m.group(0) == "{version}" else "no-such-thing", path)


async def _call(h: Harness, method: str, path: str, headers: dict[str, str]) -> int:
    body = BODIES[method]
    resp = await h.http.request(method, _url(path), headers=headers, **({"json": body} if body is not None else {}))
    return resp.status_code


def _routes(h: Harness) -> list:
    app = h.http._transport.app  # type: ignore[attr-defined]
    return [(m, r.path, rule_of(r)) for r in api_routes(app) for m in sorted(r.methods)]


async def test_every_route_answers_each_identity_as_its_rule_says(product: Harness) -> None:
    routes = _routes(product)
    assert len(routes) >= 40, "the matrix is built from the app's own routes"
    users = {role: product.auth(f"matrix-{role.value}", role.value) for role in Role}
    anonymous = {"Authorization": ""}
    bad = {"Authorization": "Bearer lrb_not-a-token-anyone-was-given"}
    wrong_scheme = {"Authorization": "Basic YWRtaW46YWRtaW4="}
    seen: list[str] = []
    for method, path, rule in routes:
        if isinstance(rule, PageRule):  # the cockpit's pages: a session cookie, not a token (the next test)
            continue
        if not isinstance(rule, Permission):  # public: what it answers does not depend on our tokens
            assert rule.startswith("public: ")
            statuses = {await _call(product, method, path, h) for h in (anonymous, bad, users[Role.admin])}
            assert len(statuses) == 1, (method, path, statuses)
            continue
        assert isinstance(rule, Permission), f"{method} {path} has no rule"
        for headers in (anonymous, bad, wrong_scheme):
            assert await _call(product, method, path, headers) == 401, (method, path, headers)
        for role, headers in users.items():
            status = await _call(product, method, path, headers)
            if rule in granted([role]):
                assert status not in (401, 403), (method, path, role, status)
            else:
                assert status == 403, (method, path, role, status)
        seen.append(f"{method} {path}")
    assert {"POST /api/v1/runbooks", "POST /api/v1/executions/{execution_id}/steps/{step_id}/approve",
            "GET /api/v1/audit", "POST /codec/decode", "GET /metrics"} <= set(seen)


async def _page(h: Harness, method: str, path: str, headers: dict[str, str], csrf: str | None = None) -> int:
    """A page's status; a live stream that opens (its rule passed) is cut after a moment and counts as 200."""
    data = {"csrf": csrf} if csrf is not None and method == "POST" else {}
    call = h.http.request(method, _url(path), headers=headers, **({"data": data} if method == "POST" else {}))
    try:
        return (await asyncio.wait_for(call, 3)).status_code
    except asyncio.TimeoutError:
        assert path.startswith("/live/"), f"{method} {path} did not answer"
        return 200


async def test_every_page_answers_each_signed_in_role_as_its_rule_says(product: Harness) -> None:
    pages = sorted(((m, p, r) for m, p, r in _routes(product) if isinstance(r, PageRule)),
                   key=lambda page: page[1] == "/logout")  # signing out ends the session: last
    assert len(pages) >= 15, "the cockpit's pages are in the matrix by construction"
    browsers = {role: await sign_in(product, f"page-{role.value}", role.value) for role in Role}
    stranger = {"Authorization": "", "Cookie": "lrb_session=not-a-session"}
    for method, path, rule in pages:
        for headers in ({"Authorization": ""}, stranger, {"Authorization": f"Bearer {product.tokens['page-admin']}"}):
            status = await _page(product, method, path, headers)
            # no session: a page sends the browser to sign in; a change (or a live stream) is refused
            assert status == (303 if method == "GET" and not path.startswith("/live/") else 401), (method, path, status)
        for role, browser in browsers.items():
            if method == "POST":  # the session alone is not enough: a form from elsewhere carries no CSRF value
                assert await _page(product, method, path, browser.headers) == 403, (method, path, role)
            status = await _page(product, method, path, browser.headers, browser.csrf)
            if rule.permission in granted([role]):
                assert status not in (401, 403), (method, path, role, status)
            else:
                assert status == 403, (method, path, role, status)


async def test_a_refused_token_is_told_why_and_audited(product: Harness) -> None:
    resp = await product.http.get("/api/v1/executions", headers={"Authorization": "Bearer lrb_forged"})
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"].startswith("Bearer")
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["detail"] == "unknown token"
    missing = await product.http.get("/api/v1/executions", headers={"Authorization": ""})
    assert "Authorization: Bearer" in missing.json()["detail"]
    failed = product.services.audit_log.query(action="auth.failed")
    assert [e.detail["reason"] for e in failed][-2:] == ["unknown token", missing.json()["detail"]]
    assert failed[-1].target == "GET /api/v1/executions"


async def test_a_role_that_may_not_is_told_which_role_it_needs(product: Harness) -> None:
    resp = await product.http.post("/api/v1/runbooks", json={"text": "# x"}, headers=product.auth("vera", "viewer"))
    assert resp.status_code == 403
    assert resp.json()["detail"] == "vera may not edit: it needs the role author, admin (yours: viewer)"


async def test_metrics_can_be_opened_by_a_setting(temporal, temporal_address: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, temporal_address, metrics_public=True)
    async with running_product(temporal.client, settings, tmp_path, with_worker=False) as h:
        assert (await h.http.get("/metrics", headers={"Authorization": ""})).status_code == 200
        assert (await h.http.get("/api/v1/executions", headers={"Authorization": ""})).status_code == 401


def test_an_app_with_a_route_that_declares_no_rule_does_not_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from api.routes import health

    extra = APIRouter()

    @extra.get("/api/v1/forgotten")
    async def forgotten() -> dict:
        return {}

    monkeypatch.setattr(health, "router", _merged(health.router, extra))
    with pytest.raises(RuntimeError, match=r"routes without an access rule.*/api/v1/forgotten"):
        create_app()


def _merged(first: APIRouter, second: APIRouter) -> APIRouter:
    router = APIRouter()
    router.include_router(first)
    router.include_router(second)
    return router

