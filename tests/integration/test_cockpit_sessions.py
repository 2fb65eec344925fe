"""The cockpit's doors without a browser: sessions that end when they should, single sign-on through
the trusted proxy only, no open redirect, and forms that say what is wrong and keep what was typed.
(tests/integration/test_cockpit_browser.py walks the same pages in Chromium.)"""

from __future__ import annotations

from pathlib import Path

from api.web.session import SESSION_COOKIE
from services import accounts
from support.alerts import alert_payload, fire
from support.harness import Harness, make_settings, running_product
from support.web import sign_in


async def test_the_session_cookie_is_httponly_samesite_and_ends_with_its_token(harness: Harness) -> None:
    resp = await harness.http.post("/login", data={"token": harness.auth("tia", "viewer")["Authorization"][7:],
                                                   "next": "/runbooks"}, headers={"Authorization": ""})
    assert resp.status_code == 303 and resp.headers["location"] == "/runbooks"
    cookie = resp.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie, "WEB_COOKIE_SECURE is off by default (plain http on loopback)"
    session = resp.cookies[SESSION_COOKIE]
    harness.http.cookies.clear()
    headers = {"Authorization": "", "Cookie": f"{SESSION_COOKIE}={session}"}
    assert (await harness.http.get("/runbooks", headers=headers)).status_code == 200
    assert harness.services is not None
    accounts.revoke_token(harness.services.identity, harness.services.audit_log, "test", "tia")
    gone = await harness.http.get("/runbooks", headers=headers)
    assert gone.status_code == 303 and gone.headers["location"] == "/login?next=/runbooks"
    logins = harness.services.audit_log.query(action="web.login")
    assert [e.actor for e in logins][-1] == "tia"


async def test_signing_out_ends_the_session_on_the_server(harness: Harness) -> None:
    browser = await sign_in(harness, "otto", "viewer")
    out = await harness.http.post("/logout", data={"csrf": browser.csrf}, headers=browser.headers)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert (await harness.http.get("/", headers=browser.headers)).status_code == 303, "a copied cookie is dead too"


async def test_a_secure_cookie_where_the_setting_asks(temporal, temporal_address: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, temporal_address, web_cookie_secure=True)
    async with running_product(temporal.client, settings, tmp_path, with_worker=False) as h:
        token = h.auth("sec", "viewer")["Authorization"][7:]
        resp = await h.http.post("/login", data={"token": token}, headers={"Authorization": ""})
        assert "Secure" in resp.headers["set-cookie"]


async def test_single_sign_on_is_believed_only_from_a_trusted_proxy(temporal, temporal_address: str,
                                                                      tmp_path: Path) -> None:
    settings = make_settings(tmp_path, temporal_address, trusted_proxies="127.0.0.1/32")
    async with running_product(temporal.client, settings, tmp_path, with_worker=False) as h:
        h.auth("pia", "viewer")
        proxied = {"Authorization": "", "X-Forwarded-User": "pia"}
        resp = await h.http.get("/login?next=/alerts", headers=proxied)
        assert resp.status_code == 303 and resp.headers["location"] == "/alerts"
        assert SESSION_COOKIE in resp.cookies
        h.http.cookies.clear()
        stranger = await h.http.get("/login", headers={**proxied, "X-Forwarded-User": "nobody-here"})
        assert stranger.status_code == 200 and 'name="token"' in stranger.text, "an unknown user is not signed in"
    settings = make_settings(tmp_path / "other", temporal_address, trusted_proxies="10.9.9.9/32")
    async with running_product(temporal.client, settings, tmp_path / "other", with_worker=False) as h:
        h.auth("pia", "viewer")
        resp = await h.http.get("/login", headers={"Authorization": "", "X-Forwarded-User": "pia"})
        assert resp.status_code == 200 and SESSION_COOKIE not in resp.cookies, "not from a trusted address"


async def test_signing_in_never_redirects_to_another_site(harness: Harness) -> None:
    token = harness.auth("rex", "viewer")["Authorization"][7:]
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        resp = await harness.http.post("/login", data={"token": token, "next": evil}, headers={"Authorization": ""})
        assert resp.headers["location"] == "/", evil
        harness.http.cookies.clear()


async def test_forms_say_what_is_wrong_beside_the_field_and_keep_what_was_typed(harness: Harness,
                                                                                 tmp_path: Path) -> None:
    execution_id = await fire(harness, "E2EChange", tmp_path / "run.log")
    await harness.wait_for(execution_id, "waiting_approval", step="change-a")
    browser = await sign_in(harness, "fay", "approver")
    url = f"/executions/{execution_id}/steps/change-a/reject"
    resp = await harness.http.post(url, data={"csrf": browser.csrf, "reason": "  "}, headers=browser.headers)
    assert resp.status_code == 422 and "say why you reject this step" in resp.text

    start = await harness.http.post("/runbooks/needs-value/start",
                                    data={"csrf": browser.csrf, "mode": "copilot", "param:pod": "eu-west-1b"},
                                    headers=browser.headers)
    assert start.status_code == 422 and 'role="alert"' in start.text
    assert 'value="eu-west-1b"' in start.text, "what was typed is still in the form"


async def test_a_red_step_approved_from_a_page_needs_the_confirmation_box(harness: Harness, tmp_path: Path) -> None:
    execution_id = await fire(harness, "E2EChange", tmp_path / "red.log")
    for step in ("change-a", "change-b"):
        await harness.wait_for(execution_id, "waiting_approval", step=step)
        assert (await harness.http.post(f"/api/v1/executions/{execution_id}/steps/{step}/approve", json={})).status_code == 202
    await harness.wait_for(execution_id, "waiting_approval", step="risky-change")
    browser = await sign_in(harness, "gus", "approver")
    url = f"/executions/{execution_id}/steps/risky-change/approve"
    unconfirmed = await harness.http.post(url, data={"csrf": browser.csrf, "comment": "go"}, headers=browser.headers)
    assert unconfirmed.status_code == 422 and "tick the box" in unconfirmed.text
    assert 'value="go"' in unconfirmed.text
    done = await harness.http.post(url, data={"csrf": browser.csrf, "confirm": "yes"}, headers=browser.headers)
    assert done.status_code == 303
    body = await harness.wait_for(execution_id, "succeeded")
    assert next(s for s in body["steps"] if s["id"] == "risky-change")["approval"]["actor"] == "gus"
    assert harness.services is not None
    decided = harness.services.audit_log.query(action="step.approve", target=f"execution:{execution_id}")
    assert decided[-1].actor == "gus" and decided[-1].detail["via"] == "web"


async def test_a_page_address_that_makes_no_sense_is_a_page_that_says_so(harness: Harness) -> None:
    browser = await sign_in(harness, "ida", "viewer")
    for path, status in (("/alerts/not-a-number", 422), ("/executions/no-such-execution", 404),
                         ("/runbooks/no-such-runbook", 404), ("/nowhere", 404)):
        resp = await harness.http.get(path, headers=browser.headers)
        assert resp.status_code == status, (path, resp.text)
        assert resp.headers["content-type"].startswith("text/html") and 'role="alert"' in resp.text, path
    api = await harness.http.get("/api/v1/executions/no-such-execution")
    assert api.headers["content-type"] == "application/problem+json", "the API keeps its problem details"


async def test_disabling_a_user_ends_their_browser_sessions(harness: Harness) -> None:
    browser = await sign_in(harness, "dora", "responder")
    assert (await harness.http.get("/", headers=browser.headers)).status_code == 200
    assert harness.services is not None
    accounts.update_user(harness.services.identity, harness.services.audit_log, "test", "dora", disabled=True)
    assert (await harness.http.get("/", headers=browser.headers)).status_code == 303
    assert harness.services.identity.session_user(browser.cookie) == "the session ended: user 'dora' is disabled"


async def test_alert_values_are_shown_as_text_never_as_markup(harness: Harness, tmp_path: Path) -> None:
    payload = alert_payload("NobodyAnswersThis", tmp_path / "x.log")
    payload["alerts"][0]["labels"]["pod"] = '<img src=x onerror="alert(1)">'
    assert (await harness.http.post("/api/v1/alerts/alertmanager", json=payload)).status_code == 202
    alert_id = (await harness.http.get("/api/v1/alerts?limit=1")).json()["alerts"][0]["id"]
    browser = await sign_in(harness, "xena", "viewer")
    page = (await harness.http.get(f"/alerts/{alert_id}", headers=browser.headers)).text
    assert "<img src=x" not in page and "&lt;img src=x onerror=" in page
