"""Issue 18 in Chromium: the scenario's map layers drawn and listed on a replayed run's page,
and a track's whole history on demand in a page that joined a live picture late."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airpicture.web.app import ServerSettings
from airpicture.web.session import PlaybackSettings
from airpicture.web.sources import RunFolderSource
from airpicture.web.synthetic import SyntheticSource
from tests.conftest import REPO
from tests.web.browser import Page
from tests.web.helpers import PASSWORDS, ServerThread, make_app

pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCENARIO = REPO / "scenarios" / "okinawa-exercise-area.yaml"


@pytest.fixture(scope="module")
def okinawa_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from airpicture.cli import main as airpicture

    out = tmp_path_factory.mktemp("okinawa-run")
    args = ["run", str(SCENARIO), "--out", str(out), "--duration-s", "120", "--no-report"]
    assert airpicture(args) == 0
    return out


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[Page]:
    p = Page(browser, "", PASSWORDS, artifacts=tmp_path)
    try:
        yield p
    finally:
        p.close()


def js(page: Page, expression: str, arg: Any = None) -> Any:
    return page.page.evaluate(expression, arg)


def test_the_run_output_holds_the_scenarios_layer_and_the_page_draws_and_lists_it(
    okinawa_run: Path, page: Page
) -> None:
    copied = json.loads((okinawa_run / "layers" / "exercise-area.geojson").read_text())
    assert copied["color"] == "#ffb86b" and copied["type"] == "FeatureCollection"
    srv = ServerThread(make_app(RunFolderSource(okinawa_run, SCENARIO))).start()
    try:
        page.base_url = srv.url
        page.sign_in("jpn")
        layers = js(page, "window.__cop.hello().layers.map((l) => [l.name, l.color])")
        assert layers == [["exercise-area", "#ffb86b"]]
        # Listed in the layers panel, with its switch.
        toggle = page.page.locator("#layers label[data-geo]")
        assert "exercise-area" in toggle.inner_text()
        # Drawn: one outline primitive and its name at the area's first corner.
        drawn = js(
            page,
            """() => { const g = window.__cop.globe();
            const labels = [];
            for (let i = 0; i < g.geoLabels.length; i++) labels.push(g.geoLabels.get(i).text);
            return { lines: g.geoLayers.length, show: g.geoLayers.show, labels }; }""",
        )
        assert drawn == {
            "lines": 1,
            "show": True,
            "labels": ["exercise-area · Okinawa exercise area (fictional)"],
        }
        js(page, "window.__cop.globe().flyTo(26.5, 130.0, 1.5e6)")
        page.page.wait_for_timeout(2500)
        page.screenshot("okinawa-exercise-area.png")
        # Switched off and on again from the panel.
        toggle.locator("input").uncheck()
        assert js(page, "window.__cop.globe().geoLayers.show") is False
        toggle.locator("input").check()
        assert js(page, "window.__cop.globe().geoLayers.show") is True
    finally:
        srv.stop()


def test_a_page_that_joins_late_gets_a_tracks_whole_history(page: Page) -> None:
    # A live picture already 300 s old when the page connects: the page is sent only the
    # frames it needs to draw trails; the history before them is the server's.
    source = SyntheticSource(24, interval_s=1.0, duration_s=3600.0, nations=("USA", "JPN"))
    t0 = time.monotonic()
    app = make_app(
        source,
        ServerSettings(playback=PlaybackSettings(speed=1.0)),
        clock_s=lambda: 300.0 + time.monotonic() - t0,
    )
    srv = ServerThread(app).start()
    try:
        page.base_url = srv.url
        page.sign_in("jpn")
        page.wait_time(300.0)
        tid = page.page.locator("#track-table tbody tr[data-id]").first.get_attribute("data-id")
        seen_here = js(page, "(id) => window.__cop.globe().tracks.get(id).hist[0][0]", tid)
        assert seen_here > 250.0, "the page itself saw only the last frames"
        page.page.click(f'#track-table tbody tr[data-id="{tid}"]')
        page.page.click('#detail [data-act="history"]')
        page.page.wait_for_function(
            "(id) => window.__cop.globe().tracks.get(id).serverHist", arg=tid, timeout=20_000
        )
        history = js(
            page, "(id) => window.__cop.globe().historyOf(window.__cop.globe().tracks.get(id))", tid
        )
        times = [h[0] for h in history]
        assert times[0] == 0.0, "from the track's start, long before the page joined"
        assert times == sorted(times) and times[-1] >= 300.0
        assert len(history) > 300 // 2
        # The panel says so; the trail is on the map and the altitude/speed plot is drawn.
        start = page.page.inner_text("#detail [data-field=start]")
        assert re.search(r"\b\d{3} positions since its start", start), start
        assert page.page.inner_text('#detail [data-act="history"]') == "Hide history"
        assert js(page, "Boolean(window.__cop.globe().historyLine)") is True
        painted = js(
            page,
            """() => { const c = document.querySelector('#detail canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }""",
        )
        assert painted > 200
        page.screenshot("late-page-history.png")
        # Hidden again on a second click (in the page: the live panel is redrawn as frames
        # arrive, so the button is never "stable" for Playwright's click under load).
        js(page, """() => document.querySelector('#detail [data-act="history"]').click()""")
        page.page.wait_for_function("() => window.__cop.globe().historyLine == null")
    finally:
        srv.stop()
