"""The browser side of the web tests: Debian's Chromium under Playwright, every request checked.

A `Page` is a fresh browser context (fresh profile) whose every request must stay on
this machine: anything addressed elsewhere is aborted and fails the test when the page
closes, and so does any error thrown in the page. Screenshots go under the test's tmp
folder (kept by pytest as the run's artifacts) and, for a look after the run, under
out/test-artifacts/web/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = REPO / "out" / "test-artifacts" / "web"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
NATION = {"usa": "USA", "jpn": "JPN", "aus": "AUS", "control": "ALL"}


class Page:
    """A fresh browser context on `base_url` whose every request must stay on this machine."""

    def __init__(
        self,
        browser: Any,
        base_url: str,
        passwords: dict[str, str],
        artifacts: Path | None = None,
        viewport: tuple[int, int] = (1440, 810),
    ) -> None:
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        self.base_url = base_url
        self.passwords = passwords
        self.artifacts = artifacts
        self.external: list[str] = []
        self.local: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("websocket", self._websocket)
        self.page.on("response", self._response)

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname in LOCAL_HOSTS:
            self.local.append(url)
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def _response(self, response: Any) -> None:
        if response.status >= 400 and not response.url.endswith("/api/session"):
            self.failed.append(f"{response.status} {response.url}")

    def _websocket(self, ws: Any) -> None:
        if urlsplit(ws.url).hostname not in LOCAL_HOSTS:
            self.external.append(ws.url)

    def sign_in(self, user: str, nation: str | None = None) -> None:
        page = self.page
        page.goto(self.base_url + "/")
        page.fill("#signin-user", user)
        page.fill("#signin-password", self.passwords[user])
        page.click("#signin-submit")
        page.wait_for_function("window.__cop && window.__cop.ready", timeout=60_000)
        viewer = nation or NATION[user]
        page.wait_for_function(f"window.__cop.viewer() === {viewer!r}", timeout=30_000)

    def sign_out(self) -> None:
        self.page.click("#signout")
        self.page.wait_for_selector("#signin-form", state="visible", timeout=30_000)

    def seek(self, time_s: float) -> None:
        # One evaluate: a clock message in between would move the slider back.
        self.page.evaluate(
            "(t) => { const s = document.getElementById('tc-slider'); s.value = String(t);"
            " s.dispatchEvent(new Event('change')); }",
            time_s,
        )

    def wait_time(self, time_s: float, timeout_ms: int = 60_000) -> None:
        self.page.wait_for_function(f"window.__cop.stats.lastTime >= {time_s}", timeout=timeout_ms)

    def pause(self) -> None:
        if self.page.inner_text("#tc-state") != "PAUSED":
            self.page.click("#tc-play")
        self.page.wait_for_function("document.getElementById('tc-state').textContent === 'PAUSED'")

    def tracks(self) -> dict[str, dict[str, Any]]:
        return {t["id"]: t for t in self.page.evaluate("window.__cop.snapshot()")}

    def screenshot(self, name: str) -> Path:
        """The page as shown, under the test's artifacts folder and out/test-artifacts/web/."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), timeout=180_000)
        if self.artifacts is not None:
            self.artifacts.mkdir(parents=True, exist_ok=True)
            (self.artifacts / name).write_bytes(path.read_bytes())
        return path

    def close(self) -> None:
        self.context.close()
        assert not self.external, f"requests left the machine: {self.external}"
        assert not self.errors, f"errors in the page: {self.errors}"
        assert not self.failed, f"requests the server could not answer: {self.failed}"
