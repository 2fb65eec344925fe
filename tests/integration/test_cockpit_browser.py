"""The web cockpit in a real browser (Chromium through Playwright) against the product run as it is
deployed: `runbooks api` and `runbooks worker` processes, a Temporal dev server, SQLite.

What an on-call engineer does at 3 a.m.: sign in, see an alert's execution appear, walk it (the
green step ran, approve the yellow ones, reject the red one with a reason, watch the rollback),
see a decision made elsewhere without reloading; what a viewer cannot do; importing a corpus
runbook; and every page free of console errors and of anything loaded from elsewhere.
Screenshots of each page are kept in ARTIFACTS_DIR (default .artifacts/cockpit).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, async_playwright, expect

from support.alerts import alert_payload, lines
from support.browser import ARGS, CHROMIUM, Watched, chromium_available, open_tab, sign_in
from support.harness import grant, make_settings, require
from support.paths import corpus
from support.processes import Fleet

RUNBOOK = "End-to-end change with approvals"  # tests/runbooks/e2e-change.md: green, yellow, yellow, red


class Cockpit:
    def __init__(self, base: str, settings, workdir: Path):  # noqa: ANN001
        self.base, self.settings, self.workdir = base, settings, workdir
        self.tokens: dict[str, str] = {}

    def token(self, name: str, *roles: str) -> str:
        if name not in self.tokens:
            self.tokens[name] = grant(self.settings, name, *roles)["Authorization"].removeprefix("Bearer ")
        return self.tokens[name]

    def api(self, name: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base, headers={"Authorization": f"Bearer {self.tokens[name]}"},
                                 timeout=10)

    async def fire(self, tag: str) -> tuple[str, Path]:
        """An alert for the e2e runbook; its execution id and the file its steps write to."""
        log = self.workdir / f"{tag}.log"
        async with httpx.AsyncClient(base_url=self.base, timeout=10) as http:
            resp = await http.post("/api/v1/alerts/alertmanager", json=alert_payload("E2EChange", log))
        assert resp.status_code == 202, resp.text
        return resp.json()["executions"][0]["id"], log


@pytest.fixture(scope="module")
async def cockpit(temporal, temporal_address: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cockpit]:
    workdir = tmp_path_factory.mktemp("cockpit")
    with Fleet(make_settings(workdir, temporal_address), workdir) as fleet:
        fleet.worker()
        api = fleet.api()
        assert api.url is not None
        yield Cockpit(api.url, fleet.settings, workdir)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    require(chromium_available(), f"Chromium not installed ({CHROMIUM}): apt-get install chromium")
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        await chromium.close()


async def tab_as(browser: Browser, cockpit: Cockpit, name: str, *roles: str, then: str = "/", **kw) -> Watched:
    tab = await open_tab(browser, cockpit.base, **kw)
    await sign_in(tab, cockpit.token(name, *roles), then)
    return tab


def step(tab: Watched, n: int, title: str):  # noqa: ANN201
    return tab.page.get_by_role("listitem", name=f"Step {n}: {title}")


async def test_signing_in_with_a_token_and_a_wrong_one(browser: Browser, cockpit: Cockpit) -> None:
    tab = await open_tab(browser, cockpit.base)
    await tab.goto("/runbooks")
    assert "/login?next=/runbooks" in tab.page.url, "a page without a session sends the browser to sign in"
    await tab.page.get_by_label("Token").fill("lrb_not-a-token")
    await tab.page.get_by_role("button", name="Sign in").click()
    await expect(tab.page.get_by_role("alert")).to_contain_text("Not signed in: unknown token")
    tab.refused(401)
    await tab.page.get_by_label("Token").fill(cockpit.token("sam", "responder"))
    await tab.page.get_by_role("button", name="Sign in").click()
    await tab.page.wait_for_url(tab.url("/runbooks"))
    cookie = next(c for c in await tab.context.cookies() if c["name"] == "lrb_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    await tab.page.get_by_role("button", name="Sign out").click()
    await tab.page.wait_for_url(tab.url("/login"))
    await tab.goto("/")
    assert "/login" in tab.page.url, "signed out means signed out"
    tab.assert_clean()
    await tab.context.close()


async def test_an_alert_appears_on_the_now_page_without_a_reload(browser: Browser, cockpit: Cockpit) -> None:
    tab = await tab_as(browser, cockpit, "nora", "responder")
    await tab.page.evaluate("window.stillThisPage = true")
    execution_id, _ = await cockpit.fire("now")
    item = tab.page.locator(f'a[href="/executions/{execution_id}"]')
    await expect(item).to_be_visible(timeout=10_000)
    assert await tab.page.evaluate("window.stillThisPage === true"), "the page was reloaded"
    await expect(tab.page.get_by_role("heading", name="Waiting for you")).to_contain_text("1")
    await expect(tab.page.locator(".waiting")).to_contain_text("Change A")
    await tab.shot("now")
    tab.assert_clean()
    await tab.context.close()


async def test_walking_an_execution_approve_yellow_reject_red_and_watch_the_rollback(
        browser: Browser, cockpit: Cockpit) -> None:
    execution_id, log = await cockpit.fire("walk")
    tab = await tab_as(browser, cockpit, "ana", "approver", then=f"/executions/{execution_id}")
    await expect(step(tab, 1, "Look before touching")).to_contain_text("succeeded", timeout=10_000)
    await expect(step(tab, 2, "Change A")).to_contain_text("waiting for approval", timeout=10_000)
    await expect(step(tab, 2, "Change A")).to_contain_text("yellow")
    await tab.shot("execution-waiting")

    await step(tab, 2, "Change A").get_by_role("button", name="Approve").click()
    await expect(step(tab, 2, "Change A")).to_contain_text("Approved by ana")
    await expect(step(tab, 2, "Change A")).to_contain_text("succeeded", timeout=10_000)
    await expect(step(tab, 3, "Change B")).to_contain_text("waiting for approval", timeout=10_000)
    await step(tab, 3, "Change B").get_by_role("button", name="Approve").click()
    await expect(step(tab, 3, "Change B")).to_contain_text("succeeded", timeout=10_000)

    red = step(tab, 4, "Risky change")
    await expect(red).to_contain_text("waiting for approval", timeout=10_000)
    await expect(red).to_contain_text("red")
    await expect(red.get_by_label("I confirm: run this red step, which cannot be undone")).to_be_visible()
    await tab.shot("execution-red-step")
    await red.get_by_role("button", name="Reject").click()  # no reason yet: the browser asks for one
    assert await red.get_by_label("Reason to reject").evaluate("el => !el.checkValidity()")
    await red.get_by_label("Reason to reject").fill("not during the peak")
    await red.get_by_role("button", name="Reject").click()
    await expect(tab.page.locator(".statusline")).to_contain_text("rolled back", timeout=15_000)
    await expect(step(tab, 4, "Risky change")).to_contain_text("Rejected by ana")
    await expect(step(tab, 4, "Risky change")).to_contain_text("not during the peak")
    for n, title in ((2, "Change A"), (3, "Change B")):
        await expect(step(tab, n, title).locator(".rollback")).to_contain_text("succeeded")
    assert lines(log) == ["check", "change-a", "change-b", "undo-b", "undo-a"]
    await tab.shot("execution-rolled-back")
    tab.assert_clean()
    await tab.context.close()


async def test_a_decision_made_by_rest_shows_on_an_open_page_and_a_stale_page_is_told_who_decided(
        browser: Browser, cockpit: Cockpit) -> None:
    execution_id, _ = await cockpit.fire("elsewhere")
    cockpit.token("rita", "approver")
    live = await tab_as(browser, cockpit, "lou", "responder", then=f"/executions/{execution_id}")
    stale = await tab_as(browser, cockpit, "max", "responder", then=f"/executions/{execution_id}")
    await stale.page.route("**/live/**", lambda route: route.abort())  # this one hears nothing
    await stale.page.reload()
    for tab in (live, stale):
        await expect(step(tab, 2, "Change A")).to_contain_text("waiting for approval", timeout=10_000)
    await live.page.evaluate("window.stillThisPage = true")

    async with cockpit.api("rita") as rest:
        began = time.monotonic()
        resp = await rest.post(f"/api/v1/executions/{execution_id}/steps/change-a/approve", json={"comment": "via REST"})
        assert resp.status_code == 202, resp.text
    await expect(step(live, 2, "Change A")).to_contain_text("Approved by rita", timeout=5_000)
    shown_after = time.monotonic() - began
    assert await live.page.evaluate("window.stillThisPage === true"), "the page was reloaded"
    assert shown_after < 2.0, f"the decision took {shown_after:.2f}s to show (bench/cockpit.py measures it)"

    await step(stale, 2, "Change A").get_by_role("button", name="Approve").click()
    await expect(stale.page.get_by_role("alert")).to_contain_text("already approved by rita")
    live.assert_clean()
    for tab in (live, stale):
        await tab.context.close()


async def test_a_viewer_sees_no_decision_buttons_and_a_forged_post_is_refused(
        browser: Browser, cockpit: Cockpit) -> None:
    execution_id, log = await cockpit.fire("viewer")
    tab = await tab_as(browser, cockpit, "vic", "viewer", then=f"/executions/{execution_id}")
    await expect(step(tab, 2, "Change A")).to_contain_text("waiting for approval", timeout=10_000)
    await expect(step(tab, 2, "Change A")).to_contain_text("You cannot decide this step")
    for name in ("Approve", "Reject", "Cancel execution"):
        assert await tab.page.get_by_role("button", name=name).count() == 0, name
    csrf = await tab.page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")
    forged = """async ([url, csrf]) => (await fetch(url, {method: 'POST', body: new URLSearchParams(csrf ? {csrf} : {})})).status"""
    url = f"/executions/{execution_id}/steps/change-a/approve"
    assert await tab.page.evaluate(forged, [url, csrf]) == 403, "a viewer may not approve, CSRF value or not"
    assert await tab.page.evaluate(forged, [url, ""]) == 403
    assert lines(log) == ["check"], "nothing ran"
    await tab.context.close()


async def test_paste_importing_a_corpus_runbook_shows_its_steps_and_risks_before_saving(
        browser: Browser, cockpit: Cockpit) -> None:
    root = corpus()
    require(root is not None, "the shared corpus is not on this machine")
    assert root is not None
    text = (root / "prometheus-operator-runbooks/kubernetes/KubePersistentVolumeFillingUp.md").read_text()
    tab = await tab_as(browser, cockpit, "alma", "author", then="/import")
    await tab.page.get_by_label("Runbook text").fill(text)
    began = time.monotonic()
    await tab.page.get_by_role("button", name="Preview").click()
    preview = tab.page.locator("#preview")
    await expect(preview.get_by_role("heading", name="Preview: Kube Persistent Volume Filling Up")).to_be_visible()
    took = time.monotonic() - began
    for risk in ("green", "yellow", "red"):
        await expect(preview.locator(f".risk-{risk}").first).to_be_visible()
    await expect(preview).to_contain_text("Saving waits for review")
    assert took < 1.0, f"the preview took {took:.2f}s"
    await tab.shot("import-preview")
    await tab.page.get_by_role("button", name="Save").click()
    await tab.page.wait_for_url("**/runbooks/**")
    await expect(tab.page.get_by_role("heading", name="Kube Persistent Volume Filling Up")).to_be_visible()
    await expect(tab.page.locator("table.grid").first).to_contain_text("pending review")

    await tab.page.goto(tab.url("/import"))  # a broken runbook is refused with its line, the text kept
    broken = "---\nid: broken\nmode: turbo\n---\n# Broken\n\n1. **Look**\n   ```sh\n   uptime\n   ```\n"
    await tab.page.get_by_label("Runbook text").fill(broken)
    await tab.page.get_by_role("button", name="Save").click()
    await expect(tab.page.get_by_role("alert").first).to_contain_text("line 3: mode: 'turbo' is not one of")
    assert await tab.page.get_by_label("Runbook text").input_value() == broken
    tab.refused(422)
    tab.assert_clean()
    await tab.context.close()


async def test_every_page_is_clean_on_a_desktop_and_a_phone_in_light_and_dark(
        browser: Browser, cockpit: Cockpit) -> None:
    execution_id, _ = await cockpit.fire("pages")
    async with httpx.AsyncClient(base_url=cockpit.base, timeout=10) as http:  # an alert no runbook answers
        await http.post("/api/v1/alerts/alertmanager", json=alert_payload("NobodyWroteThisOne", cockpit.workdir / "x"))
    cockpit.token("adam", "admin")
    async with cockpit.api("adam") as rest:
        alert_id = (await rest.get("/api/v1/alerts?limit=1")).json()["alerts"][0]["id"]
        incident_id = (await rest.get("/api/v1/incidents?limit=1")).json()[0]["id"]
        drill = await rest.post("/api/v1/drills", json={"runbook_id": "e2e-change",
                                                        "labels": {"log": str(cockpit.workdir / "drill.log")}})
        assert drill.status_code == 201, drill.text
    pages = {"now": "/", "execution": f"/executions/{execution_id}", "runbooks": "/runbooks",
             "runbook": "/runbooks/e2e-change", "import": "/import", "alerts": "/alerts", "alert": f"/alerts/{alert_id}",
             "incidents": "/incidents", "incident": f"/incidents/{incident_id}", "agents": "/agents",
             "connections": "/connections",
             "replay": f"/executions/{execution_id}/replay?step=2", "drill": f"/drills/{drill.json()['id']}"}
    for label, viewport, scheme in (("desktop", {"width": 1280, "height": 900}, "light"),
                                    ("phone", {"width": 390, "height": 844}, "dark")):
        tab = await tab_as(browser, cockpit, "adam", "admin", viewport=viewport, color_scheme=scheme)
        for name, path in pages.items():
            await tab.goto(path)
            await expect(tab.page.get_by_role("heading", level=1)).to_be_visible()
            await tab.shot(f"{name}-{label}-{scheme}")
            if label == "phone":  # nothing wider than the screen
                wide = await tab.page.evaluate("document.documentElement.scrollWidth")
                assert wide <= 390 + 1, f"{path} is {wide}px wide on a phone"
        await tab.goto("/")
        times = tab.page.locator("time").first
        if await times.count():  # shown relative and in the viewer's zone (the tab is in Europe/Paris)
            assert "UTC" not in (await times.inner_text())
        tab.assert_clean()
        await tab.context.close()
