"""The page in a real browser: Playwright driving Debian's headless Chromium, offline.

A short pacific-shield run (to 420 s: RED-BM-1 launches at 300 s) is replayed
by a real server on a free port. Every request the page makes is intercepted:
anything not addressed to this machine fails the test. Screenshots are kept
under out/test-artifacts/web/.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airpicture.web.app import ServerSettings
from airpicture.web.session import PlaybackSettings
from airpicture.web.sources import RunFolderSource
from tests.web.browser import NATION, Page
from tests.web.conftest import SCENARIO
from tests.web.helpers import PASSWORDS, ServerThread, make_app

pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def run_dir(ps_run: Path) -> Path:
    return ps_run


@pytest.fixture(scope="module")
def server(run_dir: Path) -> Iterator[ServerThread]:
    source = RunFolderSource(run_dir, SCENARIO)
    app = make_app(source, ServerSettings(playback=PlaybackSettings(speed=20.0)))
    srv = ServerThread(app).start()
    yield srv
    srv.stop()


@pytest.fixture
def page(browser: Any, server: ServerThread, tmp_path: Path) -> Iterator[Page]:
    p = Page(browser, server.url, PASSWORDS, artifacts=tmp_path)
    yield p
    p.close()


def test_the_page_loads_offline_and_its_tracks_move(page: Page) -> None:
    page.sign_in("usa")
    page.seek(200)
    page.page.wait_for_function("window.__cop.stats.lastTime >= 200", timeout=30_000)
    before = page.tracks()
    assert len(before) > 10
    t0 = page.page.evaluate("window.__cop.stats.lastTime")
    page.page.wait_for_function(f"window.__cop.stats.lastTime >= {t0 + 20}", timeout=30_000)
    after = page.tracks()
    common = set(before) & set(after)
    moved = [
        i
        for i in common
        if (before[i]["lat"], before[i]["lon"]) != (after[i]["lat"], after[i]["lon"])
    ]
    assert len(moved) > 0.8 * len(common)
    # The table holds every track, and draws the rows in view (and a few around them).
    page.page.wait_for_function(
        "document.getElementById('table-count').textContent"
        " === String(window.__cop.snapshot().length)",
        timeout=10_000,
    )
    rows = page.page.locator("#track-table tbody tr[data-id]").count()
    assert 10 < rows <= len(after)
    # The table sorts and filters.
    page.page.click('#track-table th[data-key="alt"]')
    page.page.click('#filters .chip[data-filter="neutral"]')
    page.page.wait_for_timeout(500)
    page.screenshot("usa-replay.png")


def test_clicking_a_track_on_the_globe_opens_its_detail(page: Page) -> None:
    # Symbols are point sprites, without a pick colour: a click takes the track nearest on screen.
    page.sign_in("usa")
    page.seek(200)
    page.page.wait_for_function("window.__cop.stats.lastTime >= 200", timeout=30_000)
    page.page.click("#tc-play")
    page.page.wait_for_function("document.getElementById('tc-state').textContent === 'PAUSED'")
    target = page.page.evaluate(
        """() => {
        const g = window.__cop.globe(), C = g.constructor.C;
        const box = g.scene.canvas.getBoundingClientRect();
        for (const t of g.tracks.values()) {
          const xy = C.SceneTransforms.worldToWindowCoordinates(g.scene, t.pos);
          // Clear of the legend (top left) and the layers panel (top right).
          if (xy && xy.x > 260 && xy.x < box.width - 200 && xy.y > 260 && xy.y < box.height - 20)
            return { id: t.id, x: box.left + xy.x, y: box.top + xy.y };
        }
        return null;
      }"""
    )
    assert target, "no track on screen to click"
    page.page.mouse.click(target["x"], target["y"])
    page.page.wait_for_selector("#detail .detail-id", state="visible", timeout=10_000)
    # One track-number format everywhere: "TN" and five digits.
    assert page.page.inner_text("#detail .detail-id") == f"TN{target['id']:0>5}"


def test_signing_in_as_another_nation_changes_what_is_shown(page: Page) -> None:
    shown: dict[str, tuple[set[str], set[str]]] = {}
    for user in ("usa", "aus"):
        page.sign_in(user)
        page.seek(380)
        page.page.wait_for_function("window.__cop.stats.lastTime >= 380", timeout=30_000)
        assert page.page.inner_text("#top-viewer") == NATION[user]
        assert f"{NATION[user]} NATIONAL PICTURE" in page.page.inner_text("#banner")
        tracks = page.tracks()
        sources = {s for t in tracks.values() for s in t["sources"]}
        shown[user] = (set(page.page.evaluate("window.__cop.sensors()")), sources)
        page.screenshot(f"{user}-380s.png")
        page.sign_out()
    (usa_sensors, _), (aus_sensors, aus_sources) = shown["usa"], shown["aus"]
    # SBIRS is not released to Australia: the satellite is not drawn for AUS, and no AUS
    # track says SBIRS contributed to it.
    assert "USA-SBIRS-GEO" in usa_sensors and "USA-SBIRS-GEO" not in aus_sensors
    assert aus_sources and "USA-SBIRS-GEO" not in aus_sources
    assert aus_sources <= aus_sensors


def test_an_alert_appears_when_red_bm_1_launches(page: Page, run_dir: Path) -> None:
    # The first nation that the run warns of the launch (the run's own warnings, or the
    # fixture's when the run makes none).
    lines = (run_dir / "warnings.jsonl").read_text().splitlines()
    launch = next(w for w in map(json.loads, lines) if w["kind"] == "launch")
    assert 300 < launch["time_s"] < 420
    user = launch["recipients"][0].lower()
    page.sign_in(user)
    # Paused first: at 20x a slow sign-in plays past the launch (and a page that has shown
    # 290 already would pass the wait with the alert up), and from 290 the launch is less
    # than a second of playing away.
    page.pause()
    page.seek(290)
    page.page.wait_for_function(
        f"(t => t >= 290 && t < {launch['time_s']})(window.__cop.stats.lastTime)", timeout=30_000
    )
    assert page.page.locator('.alert[data-kind="launch"]').count() == 0
    page.page.click("#tc-play")
    started = time.monotonic()
    page.page.wait_for_selector(
        '.alert[data-kind="launch"], .alert[data-kind="impact_area"]', timeout=60_000
    )
    assert page.page.is_visible("#threat-banner")
    assert "MISSILE WARNING" in page.page.inner_text("#threat-banner")
    page.page.wait_for_timeout(1500)
    page.screenshot(f"{user}-launch-alert.png")
    assert time.monotonic() - started < 60


def test_the_globe_draws_the_servers_predicted_path(page: Page, run_dir: Path) -> None:
    # The page integrates no trajectory of its own: the dashed path of a ballistic threat is
    # the one its impact warning carried, point for point.
    lines = (run_dir / "warnings.jsonl").read_text().splitlines()
    rows = [w for w in map(json.loads, lines) if w.get("predicted_path")]
    assert rows, "the run to 420 s warns of RED-BM-1's impact area, with its path"
    nation = rows[0]["recipients"][0]
    key = rows[0]["warning_id"]
    # The newest path of that alert for that nation (the run ends at 420 s, in flight).
    sent = [w for w in rows if w["warning_id"] == key and nation in w["recipients"]][-1]
    path = sent["predicted_path"]
    assert 2 <= len(path["lat_deg"]) <= 64
    assert len({len(path[c]) for c in ("lat_deg", "lon_deg", "alt_m", "time_s")}) == 1
    assert path["time_s"] == sorted(path["time_s"]) and path["time_s"][0] >= sent["time_s"] - 5
    page.sign_in(nation.lower())
    page.seek(sent["time_s"] - 5)
    page.page.wait_for_function(f"window.__cop.stats.lastTime >= {sent['time_s']}", timeout=60_000)
    drawn_js = """(key) => {
        const g = window.__cop.globe(), C = g.constructor.C, line = g.paths.get(key);
        return line ? line.positions.map((p) => {
            const c = C.Cartographic.fromCartesian(p);
            return [C.Math.toDegrees(c.latitude), C.Math.toDegrees(c.longitude), c.height];
        }) : null;
    }"""
    page.page.wait_for_function(
        f"(({drawn_js})({key!r}) || []).length === {len(path['lat_deg'])}", timeout=30_000
    )
    drawn = page.page.evaluate(drawn_js, key)
    expected = list(zip(path["lat_deg"], path["lon_deg"], path["alt_m"], strict=True))
    for (lat, lon, alt), (lat0, lon0, alt0) in zip(drawn, expected, strict=True):
        assert lat == pytest.approx(lat0, abs=1e-9)
        assert lon == pytest.approx(lon0, abs=1e-9)
        assert alt == pytest.approx(alt0, abs=1e-3)
    page.screenshot(f"{nation.lower()}-predicted-path.png")
