"""A real browser for the cockpit's tests: Debian's Chromium driven by Playwright.

Every page a test opens is watched: console errors, failed requests and any request to an address
other than the product's own are collected, so a test can say "nothing went wrong, nothing was
loaded from elsewhere". Screenshots go to ARTIFACTS_DIR (default `.artifacts/cockpit`).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, Request

from support.paths import REPO

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", REPO / ".artifacts")) / "cockpit"


def chromium_available() -> bool:
    return Path(CHROMIUM).exists()


@dataclass
class Watched:
    """A browser tab on the product, with what went wrong in it."""

    page: Page
    context: BrowserContext
    base: str
    problems: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    async def goto(self, path: str) -> None:
        await self.page.goto(self.url(path))

    async def shot(self, name: str, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def refused(self, status: int) -> None:
        """The page just loaded was a refusal on purpose (a form shown again with its reason): Chromium
        logs its status as a console error, which is that and nothing else."""
        expected = f"console: Failed to load resource: the server responded with a status of {status}"
        assert self.problems and all(p.startswith(expected) for p in self.problems), self.problems
        self.problems.clear()

    def assert_clean(self) -> None:
        assert not self.problems, f"console errors or failed requests: {self.problems}"
        assert not self.elsewhere, f"loaded from elsewhere: {self.elsewhere}"


async def open_tab(browser: Browser, base: str, *, viewport: dict | None = None,
                   color_scheme: str = "light") -> Watched:
    context = await browser.new_context(viewport=viewport or {"width": 1280, "height": 900},
                                        color_scheme=color_scheme, timezone_id="Europe/Paris")  # type: ignore[arg-type]
    page = await context.new_page()
    tab = Watched(page, context, base)

    def console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            tab.problems.append(f"console: {msg.text}")

    def request(req: Request) -> None:
        if not req.url.startswith((base, "data:", "about:")):
            tab.elsewhere.append(req.url)

    def failed(req: Request) -> None:
        # a live stream cut, or a request the browser dropped because the tab moved on, is no failure
        if "/live/" not in req.url and req.failure != "net::ERR_ABORTED":
            tab.problems.append(f"failed: {req.url} {req.failure}")

    page.on("console", console)
    page.on("pageerror", lambda exc: tab.problems.append(f"page error: {exc}"))
    page.on("request", request)
    page.on("requestfailed", failed)
    return tab


async def sign_in(tab: Watched, token: str, then: str = "/") -> None:
    await tab.goto(f"/login?next={then}")
    await tab.page.get_by_label("Token").fill(token)
    await tab.page.get_by_role("button", name="Sign in").click()
    await tab.page.wait_for_url(tab.url(then))
