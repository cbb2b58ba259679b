"""A node's own page shows its links to its partner nations, as the node sees them: a partner
going down and coming back appears in the top bar, apart from the page's own server link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airpicture.network.liveness import LinkMonitor
from airpicture.tables import PICTURE_SCHEMA, empty_table
from airpicture.web.node_source import NodeLiveSource
from tests.network.netscen import network_scenario
from tests.web.browser import Page
from tests.web.helpers import PASSWORDS, make_app, running

pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _wait_chip(page: Page, nation: str, text: str) -> None:
    page.page.wait_for_function(
        "([n, t]) => { const c = document.querySelector(`#top-partners [data-nation='${n}']`);"
        " return c && c.textContent === t; }",
        arg=[nation, text],
        timeout=30_000,
    )


def _chips(page: Page) -> dict[str, tuple[str, str]]:
    """Nation → (state, text) of each partner chip the page shows."""
    chips = page.page.evaluate(
        "[...document.querySelectorAll('#top-partners .partner')]"
        ".map((c) => [c.dataset.nation, c.dataset.state, c.textContent])"
    )
    return {nation: (state, text) for nation, state, text in chips}


def test_a_partner_going_down_and_back_shows_on_the_page(browser: Any, tmp_path: Path) -> None:
    loaded = network_scenario(duration_s=120.0)
    source = NodeLiveSource(loaded, "JPN")
    monitor = LinkMonitor("JPN", ["AUS", "USA"], down_after_s=15.0)
    now = {"s": 5.0}
    picture = empty_table(PICTURE_SCHEMA)

    def node_at(time_s: float, heard: tuple[str, ...]) -> None:
        now["s"] = time_s
        for partner in heard:
            monitor.heard(partner, time_s)
        monitor.check(time_s)
        source.push(time_s, picture, [], monitor)

    node_at(5.0, ("AUS", "USA"))
    with running(make_app(source, clock_s=lambda: now["s"])) as server:
        page = Page(browser, server.url, PASSWORDS, tmp_path)
        try:
            page.sign_in("jpn")
            _wait_chip(page, "USA", "USA UP 0 s")
            assert _chips(page) == {"AUS": ("up", "AUS UP 0 s"), "USA": ("up", "USA UP 0 s")}
            assert page.page.inner_text("#top-link") == "CONNECTED"
            # USA falls silent after 5 s; at 25 s JPN has marked it down (since 20 s).
            for t in (10.0, 15.0, 20.0, 25.0):
                node_at(t, ("AUS",))
            _wait_chip(page, "USA", "USA DOWN 20 s")  # last heard 20 s ago
            chips = _chips(page)
            assert chips["USA"] == ("down", "USA DOWN 20 s")  # last heard 20 s ago
            assert chips["AUS"][0] == "up"
            title = page.page.get_attribute("#top-partners .partner[data-nation='USA']", "title")
            assert title is not None and "last heard 20 s ago" in title
            page.screenshot("partner-down.png")
            # The server link is the page's own: still connected all along.
            assert page.page.inner_text("#top-link") == "CONNECTED"
            node_at(30.0, ("AUS", "USA"))
            _wait_chip(page, "USA", "USA UP 0 s")
        finally:
            page.close()
    source.finish()
