"""The page as an operator uses it, in Chromium: units, MGRS, range and bearing, filters that
say what they hide, the plan view, zooming in, alerts that close and are acknowledged.

One signed-in page (JPN) is reused across the checks of this module, on a copy of the
short pacific-shield run whose warnings end with the close of the first impact-area alert
JPN receives — addressed to USA alone, so that JPN learns of it as a closing notice
(web/views.py) — and with one GeoJSON layer. The page's own geodesy and MGRS are checked
against pyproj (Geod, UTM), and MGRS against a published value.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from pyproj import Geod, Proj, Transformer

from airpicture.web.app import ServerSettings
from airpicture.web.session import PlaybackSettings
from airpicture.web.sources import RunFolderSource
from tests.web.browser import Page
from tests.web.conftest import SCENARIO
from tests.web.helpers import PASSWORDS, ServerThread, make_app

pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WGS84 = Geod(ellps="WGS84")
ECEF_TO_LLA = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)


@pytest.fixture(scope="module")
def closing(ps_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The run with one more warning row (the alert's close) and a map layer: its folder,
    the alert closed and when."""
    out = tmp_path_factory.mktemp("ps-closing")
    for f in ps_run.iterdir():
        if f.is_file():
            shutil.copy(f, out / f.name)
    rows = [json.loads(line) for line in (ps_run / "warnings.jsonl").read_text().splitlines()]
    alert = next(
        w
        for w in rows
        if w["kind"] != "launch" and "JPN" in w["recipients"] and w.get("predicted_impact")
    )
    closed_s = min(alert["time_s"] + 30.0, 419.0)
    rows.append(
        {
            "time_s": closed_s,
            "warning_id": alert["warning_id"],
            "kind": "fell_at_sea",
            "text": f"{alert['warning_id']}: the missile fell at sea.",
            "recipients": ["USA"],
            "track_id": alert.get("track_id"),
        }
    )
    (out / "warnings.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (out / "layers").mkdir()
    (out / "layers" / "adiz.geojson").write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "JADIZ"},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [
                                [[122, 24], [132, 24], [132, 33], [122, 33], [122, 24]]
                            ],
                        },
                    }
                ],
            }
        )
    )
    return {"dir": out, "alert": alert, "closed_s": closed_s}


@pytest.fixture(scope="module")
def jpn(
    closing: dict[str, Any], browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Page]:
    source = RunFolderSource(closing["dir"], SCENARIO)
    srv = ServerThread(make_app(source, ServerSettings(playback=PlaybackSettings(speed=20.0))))
    srv.start()
    page = Page(
        browser,
        srv.url,
        PASSWORDS,
        artifacts=tmp_path_factory.mktemp("jpn-artifacts"),
        viewport=(1920, 1080),
    )
    try:
        page.sign_in("jpn")
        page.pause()  # first: playing at 20x, the page would run past the alert's close
        page.seek(closing["alert"]["time_s"] + 1)
        page.wait_time(closing["alert"]["time_s"])
        yield page
    finally:
        page.close()
        srv.stop()


def js(page: Page, expression: str, arg: Any = None) -> Any:
    return page.page.evaluate(expression, arg)


def test_mgrs_of_the_page_matches_pyproj_and_a_published_value(jpn: Page) -> None:
    # 0°N 0°E is 31N AA 66021 00000 (the usual worked example of the AA lettering).
    assert js(jpn, "window.__cop.display.toMGRS(0, 0)") == "31N AA 66021 00000"
    points = [
        (26.2124, 127.6792),
        (35.6895, 139.6917),
        (43.0621, 141.3544),
        (-33.8688, 151.2093),
        (60.39, 5.32),
        (78.22, 15.65),
        (-12.46, 130.84),
        (21.3069, -157.8583),
    ]
    for lat, lon in points:
        mgrs = js(jpn, "([a, b]) => window.__cop.display.toMGRS(a, b)", [lat, lon])
        zone_band, square, e, n = mgrs.split()
        zone = int(zone_band[:-1])
        east, north = Proj(proj="utm", zone=zone, ellps="WGS84", south=lat < 0)(lon, lat)
        # Digits: metres within the 100 km square, truncated (1 m precision).
        assert e == f"{int(east % 100000):05d}" and n == f"{int(north % 100000):05d}", mgrs
        assert zone_band[-1] == "CDEFGHJKLMNPQRSTUVWXX"[int((lat + 80) // 8)]
        # The 100 km square: column letters cycle in sets of 8 per zone, rows in 20.
        col_set = ("ABCDEFGH", "JKLMNPQR", "STUVWXYZ")[(zone - 1) % 3]
        assert square[0] == col_set[int(east // 100000) - 1]
        row = "ABCDEFGHJKLMNPQRSTUV"[(int(north // 100000) + (5 if zone % 2 == 0 else 0)) % 20]
        assert square[1] == row
    # Norway and Svalbard take the grid's exceptional zones.
    assert js(jpn, "window.__cop.display.toMGRS(60.39, 5.32)").startswith("32V")
    assert js(jpn, "window.__cop.display.toMGRS(78.22, 15.65)").startswith("33X")


def test_range_and_bearing_are_geodesic(jpn: Page) -> None:
    pairs = [
        ((26.21, 127.68), (35.69, 139.69)),
        ((43.06, 141.35), (-33.87, 151.21)),
        ((0.0, 0.0), (0.5, 179.0)),
        ((51.5, -0.1), (40.6, -73.8)),
        ((10.0, 10.0), (10.0, 10.0001)),
    ]
    for (lat1, lon1), (lat2, lon2) in pairs:
        got = js(
            jpn,
            "([a, b, c, d]) => window.__cop.display.geodesicInverse(a, b, c, d)",
            [lat1, lon1, lat2, lon2],
        )
        az, _, dist = WGS84.inv(lon1, lat1, lon2, lat2)
        assert got["distance_m"] == pytest.approx(dist, abs=0.01)
        assert (got["azimuth1_deg"] - az) % 360 == pytest.approx(0, abs=1e-6) or (
            got["azimuth1_deg"] - az
        ) % 360 == pytest.approx(360, abs=1e-6)
    # The measurement tool: two clicks on the map; its range is the geodesic between the
    # points under the cursor.
    jpn.page.click("#tool-measure")
    box = jpn.page.locator("#globe canvas").first.bounding_box()
    a_xy, b_xy = (box["x"] + 500, box["y"] + 500), (box["x"] + 800, box["y"] + 420)
    ends = [
        js(jpn, "([x, y]) => window.__cop.globe().pickLatLon({x, y})", [x - box["x"], y - box["y"]])
        for x, y in (a_xy, b_xy)
    ]
    assert all(ends), "both points are on the Earth"
    for x, y in (a_xy, b_xy):
        jpn.page.mouse.click(x, y)
    jpn.page.wait_for_function("window.__cop.measure().result !== null", timeout=10_000)
    result = js(jpn, "window.__cop.measure().result")
    _, _, dist = WGS84.inv(ends[0]["lon"], ends[0]["lat"], ends[1]["lon"], ends[1]["lat"])
    assert result["distance_m"] == pytest.approx(dist, abs=1.0)
    nm = f"{dist / 1852:.0f} NM" if dist / 1852 >= 100 else f"{dist / 1852:.1f} NM"
    assert nm in jpn.page.inner_text("#measure-readout")
    jpn.screenshot("jpn-measure.png")
    jpn.page.keyboard.press("Escape")


def test_the_cursor_reads_dms_and_mgrs(jpn: Page) -> None:
    box = jpn.page.locator("#globe canvas").first.bounding_box()
    jpn.page.mouse.move(box["x"] + 600, box["y"] + 450)
    jpn.page.wait_for_function(
        "document.getElementById('cursor-mgrs').textContent.startsWith('MGRS')"
    )
    here = js(jpn, "([x, y]) => window.__cop.globe().pickLatLon({x, y})", [600, 450])
    expect = js(jpn, "([a, b]) => window.__cop.display.toMGRS(a, b)", [here["lat"], here["lon"]])
    assert jpn.page.inner_text("#cursor-mgrs") == f"MGRS {expect}"
    dms = jpn.page.inner_text("#cursor-dms")
    assert "°" in dms and "'" in dms and '"' in dms and dms.endswith("E")


def test_units_switch_everywhere_at_once(jpn: Page) -> None:
    assert jpn.page.inner_text("#th-alt") == "Alt FL"
    # An aircraft's row (a missile's altitude may read in kft).
    first = jpn.page.locator("#track-table tbody tr[data-id]", has_text="AIR").first
    tid = first.get_attribute("data-id")
    track = jpn.tracks()[tid]
    fl = max(track["alt"], 0) / 0.3048 / 100
    cell = first.locator("td").nth(3).inner_text()
    assert cell == "SFC" or int(cell) == round(fl)
    jpn.page.select_option("#tool-units", "metric")
    jpn.page.wait_for_function("document.getElementById('th-alt').textContent === 'Alt km'")
    assert jpn.page.inner_text("#th-speed") == "Spd m/s"
    row = jpn.page.locator(f'#track-table tbody tr[data-id="{tid}"]')
    assert row.locator("td").nth(3).inner_text() == f"{max(track['alt'], 0) / 1000:.1f}"
    label = js(
        jpn, "(id) => window.__cop.globe().labelText(window.__cop.globe().tracks.get(id))", tid
    )
    assert f"{max(track['alt'], 0) / 1000:.1f}km" in label or "SFC" in label
    assert "km" in jpn.page.inner_text("#alerts")  # the warnings' distances too
    jpn.screenshot("jpn-metric.png")
    jpn.page.select_option("#tool-units", "aviation")
    jpn.page.wait_for_function("document.getElementById('th-alt').textContent === 'Alt FL'")
    assert " NM" in jpn.page.inner_text("#alerts")


def test_times_to_go_read_as_an_operator_says_them(jpn: Page) -> None:
    say = "(s) => window.__cop.display.fmtTimeToGo(s)"
    assert js(jpn, say, 40) == "impact in 40 s"
    assert js(jpn, say, 130) == "impact in 2 min 10 s"
    assert js(jpn, say, 4) == "impact imminent"
    assert js(jpn, say, -30) == "impact 30 s ago"
    assert js(jpn, "window.__cop.display.fmtAlt(-1100, 'metric')") == "SFC"
    assert js(jpn, "window.__cop.display.fmtAlt(-1100, 'aviation')") == "SFC"


def test_a_filter_never_hides_a_threat_silently(jpn: Page) -> None:
    threats = [
        t
        for t in jpn.tracks().values()
        if t["identity"] == "hostile" or t["cls"] in ("ballistic_missile", "cruise_missile")
    ]
    assert threats, "the run has a hostile track by now"
    jpn.page.click('#filters .chip[data-filter="hostile"]')
    jpn.page.wait_for_selector("#hidden-notice", state="visible", timeout=10_000)
    n = sum(1 for t in threats if t["identity"] == "hostile")
    hidden = js(jpn, "window.__cop.hiddenThreats()")
    assert hidden >= n > 0
    assert f"{hidden} hostile track" in jpn.page.inner_text("#hidden-notice")
    jpn.screenshot("jpn-hidden-notice.png")
    jpn.page.click("#hidden-notice")
    jpn.page.wait_for_selector("#hidden-notice", state="hidden", timeout=10_000)
    assert js(jpn, "window.__cop.hiddenThreats()") == 0


# ------------------------------------------------------------------ tools without a test yet

FT = 0.3048
NM = 1852.0


def _fl(alt_m: float) -> str:
    return f"FL{round(max(alt_m, 0.0) / FT / 100):03d}"


def _kt(speed_mps: float) -> int:
    return round(speed_mps * 3600.0 / NM)


def _heading(ve: float, vn: float) -> str:
    return f"{round(math.degrees(math.atan2(ve, vn)) % 360.0) % 360:03d}°"


def _state(page: Page, tid: str) -> dict[str, Any]:
    return js(  # type: ignore[no-any-return]
        page,
        """(id) => { const t = window.__cop.globe().tracks.get(id);
        return { id: t.id, alt: t.alt, ve: t.ve, vn: t.vn, vu: t.vu, sigmaH: t.sigmaH ?? null,
                 sigmaU: t.sigmaU ?? null, identity: t.identity, cls: t.cls,
                 label: t.label ? t.label.text : null, visible: t.visible }; }""",
        tid,
    )


def _ring_distances(page: Page) -> list[list[tuple[float, float]]]:
    """Each drawn range ring's vertices as (lat, lon), read back from the globe."""
    rings = js(
        page,
        """() => window.__cop.globe()._toolGroups.rings.lines.map(
          (l) => l.positions.map((p) => [p.x, p.y, p.z]))""",
    )
    out = []
    for ring in rings:  # ECEF metres → WGS-84 lat/lon (pyproj, not the page's own maths)
        x, y, z = zip(*ring, strict=True)
        lon, lat, _ = ECEF_TO_LLA.transform(x, y, z)
        out.append(list(zip(lat, lon, strict=True)))
    return out


def _ring_labels(page: Page) -> list[str]:
    return js(page, "window.__cop.globe()._toolGroups.rings.labels.map((l) => l.text)")  # type: ignore[no-any-return]


def test_the_bullseye_draws_six_range_rings_and_the_cursor_reads_from_it(jpn: Page) -> None:
    js(jpn, "window.__cop.globe().flyTo(33.0, 133.0, 3.0e6)")
    jpn.page.wait_for_timeout(2000)
    box = jpn.page.locator("#globe canvas").first.bounding_box()
    centre = js(jpn, "([x, y]) => window.__cop.globe().pickLatLon({x, y})", [900, 500])
    assert centre, "the bullseye's centre is on the Earth"
    # The rings are geodesic circles (Vincenty's direct, checked against pyproj).
    for lat, lon, az, dist in ((33.0, 133.0, 45.0, 555_600.0), (-60.0, 170.0, 200.0, 3e6)):
        got = js(jpn, "(a) => window.__cop.display.geodesicDirect(...a)", [lat, lon, az, dist])
        lon2, lat2, _ = WGS84.fwd(lon, lat, az, dist)
        assert got == pytest.approx([lat2, lon2], abs=1e-9)
    jpn.page.click("#tool-bullseye")
    jpn.page.mouse.click(box["x"] + 900, box["y"] + 500)
    jpn.page.wait_for_function("window.__cop.globe()._toolGroups?.rings", timeout=10_000)
    assert jpn.page.inner_text("#tool-bullseye") == "BULLSEYE ✕"
    assert _ring_labels(jpn) == [f"{50 * i} NM" for i in range(1, 7)] + ["◎ BULLSEYE"]
    # Each ring is the geodesic circle of its range about the centre (pyproj), 50 NM apart.
    for i, ring in enumerate(_ring_distances(jpn), start=1):
        lats, lons = [p[0] for p in ring], [p[1] for p in ring]
        _, _, dist = WGS84.inv([centre["lon"]] * len(ring), [centre["lat"]] * len(ring), lons, lats)
        assert max(abs(d - 50 * i * NM) for d in dist) < 50.0
    # The cursor reads bearing and range from the bullseye.
    jpn.page.mouse.move(box["x"] + 1200, box["y"] + 380)
    here = js(jpn, "([x, y]) => window.__cop.globe().pickLatLon({x, y})", [1200, 380])
    jpn.page.wait_for_function(
        "document.getElementById('cursor-bull').textContent.startsWith('BULL')"
    )
    az, _, dist = WGS84.inv(centre["lon"], centre["lat"], here["lon"], here["lat"])
    nm = dist / NM
    reading = jpn.page.inner_text("#cursor-bull")
    assert reading == f"BULL {round(az % 360) % 360:03d}° " + (
        f"{round(nm)} NM" if nm >= 100 else f"{nm:.1f} NM"
    )
    jpn.screenshot("jpn-bullseye.png")
    # Metric: the rings are redrawn 100 km apart.
    jpn.page.select_option("#tool-units", "metric")
    jpn.page.wait_for_function("document.getElementById('th-alt').textContent === 'Alt km'")
    assert _ring_labels(jpn) == [f"{100 * i} km" for i in range(1, 7)] + ["◎ BULLSEYE"]
    ring = _ring_distances(jpn)[5]
    _, _, dist = WGS84.inv(
        [centre["lon"]] * len(ring), [centre["lat"]] * len(ring), [p[1] for p in ring],
        [p[0] for p in ring],
    )  # fmt: skip
    assert max(abs(d - 600_000.0) for d in dist) < 50.0
    jpn.page.select_option("#tool-units", "aviation")
    jpn.page.wait_for_function("document.getElementById('th-alt').textContent === 'Alt FL'")
    # A second click on the tool removes it.
    jpn.page.click("#tool-bullseye")
    jpn.page.wait_for_function("!window.__cop.globe()._toolGroups?.rings", timeout=10_000)
    assert jpn.page.inner_text("#tool-bullseye") == "BULLSEYE"


def _scale(page: Page) -> dict[str, Any]:
    return js(  # type: ignore[no-any-return]
        page,
        """() => { const g = window.__cop.globe(), c = g.scene.canvas;
        const y = c.clientHeight - 40, x0 = c.clientWidth / 2 - 60;
        const bar = document.getElementById('scale-bar');
        return { a: g.pickLatLon({ x: x0, y }), b: g.pickLatLon({ x: x0 + 120, y }),
                 hidden: bar.hidden, width_px: parseFloat(bar.querySelector('i').style.width),
                 text: bar.querySelector('span').textContent }; }""",
    )


def _check_scale(page: Page, unit_m: float, suffix: str) -> float:
    """The bar's length is a round number of the unit whose drawn width is that length on
    the ground (pyproj between the points under the bar's span), at most 120 px."""
    for _ in range(40):  # the camera settles after a flight; the bar follows it
        first = _scale(page)
        page.page.wait_for_timeout(250)
        s = _scale(page)
        if s == first:
            break
    assert not s["hidden"] and s["a"] and s["b"]
    _, _, across = WGS84.inv(s["a"]["lon"], s["a"]["lat"], s["b"]["lon"], s["b"]["lat"])
    number, unit = s["text"].split()
    assert unit == suffix
    length_m = float(number) * unit_m
    mantissa = float(number) / 10 ** math.floor(math.log10(float(number)))
    assert mantissa in (1.0, 2.0, 5.0), s["text"]
    assert length_m <= across * 1.0001 and length_m > across / 5.0
    # Within 5 %: the page measures its span at its own moment of the camera's settling.
    assert s["width_px"] == pytest.approx(120 * length_m / across, rel=0.05)
    return length_m


def test_the_scale_bar_is_a_round_length_true_on_the_ground(jpn: Page) -> None:
    js(jpn, "window.__cop.globe().flyTo(30.0, 130.0, 2.0e6)")
    far = _check_scale(jpn, NM, "NM")
    js(jpn, "window.__cop.globe().flyTo(30.0, 130.0, 1.5e5)")
    near = _check_scale(jpn, NM, "NM")
    assert near < far / 5
    jpn.page.select_option("#tool-units", "metric")
    _check_scale(jpn, 1000.0, "km")
    jpn.screenshot("jpn-scale-bar-metric.png")
    jpn.page.select_option("#tool-units", "aviation")
    js(jpn, "window.__cop.globe().home()")


def test_the_altitude_band_hides_tracks_outside_it_and_says_how_many_threats(
    jpn: Page,
) -> None:
    low, high = 100, 250  # FL100 to FL250
    for sel, value in (("#alt-min", low), ("#alt-max", high)):
        jpn.page.fill(sel, str(value))
        jpn.page.dispatch_event(sel, "change")
    jpn.page.wait_for_function("window.__cop.globe().tracks.size > 0")
    tracks = [_state(jpn, tid) for tid in jpn.tracks()]
    inside = [t for t in tracks if low <= max(t["alt"], 0) / FT / 100 <= high]
    outside = [t for t in tracks if t not in inside]
    assert inside and outside, "the band splits the picture"
    assert all(t["visible"] for t in inside) and not any(t["visible"] for t in outside)
    threats = [
        t for t in outside if t["identity"] == "hostile" or t["cls"] in ("cruise_missile",
                                                                         "ballistic_missile")
    ]  # fmt: skip
    assert threats, "a threat flies outside the band (the bomber at FL295, the sea skimmers)"
    n = len(threats)
    notice = f"⚠ {n} hostile track{'' if n == 1 else 's'} hidden by filters — show"
    jpn.page.wait_for_selector("#hidden-notice", state="visible", timeout=10_000)
    assert jpn.page.inner_text("#hidden-notice") == notice
    assert jpn.page.inner_text("#filter-hidden") == notice
    # The table lists only tracks inside the band.
    rows = jpn.page.locator("#track-table tbody tr[data-id]")
    listed = {rows.nth(i).get_attribute("data-id") for i in range(rows.count())}
    assert listed and listed <= {t["id"] for t in inside}
    jpn.screenshot("jpn-altitude-band.png")
    # "show" clears every filter, the band included.
    jpn.page.click("#hidden-notice")
    jpn.page.wait_for_selector("#hidden-notice", state="hidden", timeout=10_000)
    assert jpn.page.input_value("#alt-min") == "" and jpn.page.input_value("#alt-max") == ""
    assert all(_state(jpn, t["id"])["visible"] for t in outside)


def test_data_blocks_show_the_fields_chosen(jpn: Page) -> None:
    tid = jpn.page.locator("#track-table tbody tr[data-id]", has_text="AIR").first.get_attribute(
        "data-id"
    )
    t = _state(jpn, tid)
    tn = js(jpn, "(id) => window.__cop.display.fmtTN(id)", tid)
    speed = math.hypot(t["ve"], t["vn"], t["vu"])
    alt = "SFC" if max(t["alt"], 0) / FT < 50 else _fl(t["alt"])
    assert t["label"] == f"{tn}\n{alt} {_kt(speed)}kt"
    fields = "#block-fields input[data-field={}]"
    jpn.page.click(".block-menu summary")  # the DATA BLOCK menu
    jpn.page.uncheck(fields.format("speed"))
    jpn.page.check(fields.format("heading"))
    jpn.page.check(fields.format("identity"))
    t = _state(jpn, tid)
    assert t["label"] == (
        f"{tn} {t['identity'][:3].upper()} AIR\n{alt} {_heading(t['ve'], t['vn'])}"
    )
    jpn.page.uncheck(fields.format("alt"))
    jpn.page.uncheck(fields.format("heading"))
    assert _state(jpn, tid)["label"] == f"{tn} {t['identity'][:3].upper()} AIR"
    # Kept in the browser, as the operator left them.
    kept = js(jpn, "JSON.parse(localStorage.getItem('airpicture.display')).block")
    assert kept == {"tn": True, "alt": False, "speed": False, "heading": False, "identity": True}
    for name, on in (("alt", True), ("speed", True), ("identity", False)):
        (jpn.page.check if on else jpn.page.uncheck)(fields.format(name))
    assert _state(jpn, tid)["label"] == f"{tn}\n{alt} {_kt(speed)}kt"
    jpn.page.click(".block-menu summary")


def test_the_detail_panel_switches_units_with_the_table_and_shows_its_uncertainty(
    jpn: Page,
) -> None:
    rows = jpn.page.locator("#track-table tbody tr[data-id]", has_text="AIR")
    tid = next(
        rows.nth(i).get_attribute("data-id")
        for i in range(rows.count())
        if (s := _state(jpn, rows.nth(i).get_attribute("data-id")))["sigmaU"] is not None
        and max(s["alt"], 0) / FT > 5000
    )
    jpn.page.click(f'#track-table tbody tr[data-id="{tid}"]')
    jpn.page.wait_for_selector("#detail [data-field=alt]", timeout=10_000)
    t = _state(jpn, tid)
    speed = math.hypot(t["ve"], t["vn"], t["vu"])
    row = jpn.page.locator(f'#track-table tbody tr[data-id="{tid}"] td')
    kv = jpn.page.locator("#detail .kv")

    def panel(field: str) -> str:
        return jpn.page.inner_text(f"#detail [data-field={field}]")

    # Aviation: FL with ± feet, knots; the table says the same numbers.
    assert panel("alt") == f"{_fl(t['alt'])} ±{round(t['sigmaU'] / FT):,} ft"
    assert panel("speed").split(" · ")[0] == f"{_kt(speed)} kt"
    assert row.nth(3).inner_text() == _fl(t["alt"])[2:]
    assert row.nth(4).inner_text() == str(_kt(speed))
    quality = kv.inner_text()
    sigma_nm = t["sigmaH"] / NM
    assert f"position ±{sigma_nm:.1f} NM" in quality
    assert f"altitude ±{round(t['sigmaU'] / FT):,} ft" in quality
    jpn.screenshot("jpn-detail-aviation.png")
    # Metric: km with ± metres, m/s — panel and table together.
    jpn.page.select_option("#tool-units", "metric")
    jpn.page.wait_for_function("document.getElementById('th-alt').textContent === 'Alt km'")
    km = max(t["alt"], 0) / 1000
    assert panel("alt") == f"{km:.1f} km ±{round(t['sigmaU'])} m"
    assert panel("speed").split(" · ")[0] == f"{round(speed)} m/s"
    assert row.nth(3).inner_text() == f"{km:.1f}"
    assert row.nth(4).inner_text() == str(round(speed))
    quality = kv.inner_text()
    assert f"position ±{t['sigmaH'] / 1000:.1f} km" in quality
    assert f"altitude ±{round(t['sigmaU'])} m" in quality
    assert "climb" in quality and "m/s" in quality.split("climb")[1].split("\n")[0]
    jpn.screenshot("jpn-detail-metric.png")
    jpn.page.select_option("#tool-units", "aviation")
    jpn.page.wait_for_function("document.getElementById('th-alt').textContent === 'Alt FL'")
    assert panel("alt").startswith("FL")
    jpn.page.click("#detail .detail-close")


def test_theatre_zoom_declutters_and_the_plan_view_is_north_up(jpn: Page) -> None:
    js(jpn, "window.__cop.globe().home()")
    jpn.page.wait_for_function("window.__cop.globe().dense === true", timeout=20_000)
    marks = js(
        jpn,
        """() => [...window.__cop.globe().tracks.values()].filter((t) => t.visible)
        .map((t) => ({ identity: t.identity, cls: t.cls, dot: Boolean(t.dot) }))""",
    )
    assert all(m["dot"] for m in marks if m["identity"] == "neutral" and m["cls"] == "aircraft")
    assert not any(m["dot"] for m in marks if m["identity"] == "hostile")
    jpn.page.click("#tool-plan")
    jpn.page.wait_for_function("window.__cop.globe().planView === true", timeout=20_000)
    assert jpn.page.inner_text("#tool-plan") == "GLOBE VIEW"
    # North up: the camera looks straight down, heading 0.
    heading = js(jpn, "window.__cop.globe().scene.camera.heading")
    assert min(heading, 2 * 3.141592653589793 - heading) < 1e-6
    jpn.page.wait_for_timeout(1500)
    jpn.screenshot("jpn-plan-view.png")
    jpn.page.click("#tool-plan")
    jpn.page.wait_for_function("window.__cop.globe().planView === false", timeout=20_000)


def test_zooming_in_never_shows_a_blank_globe(jpn: Page) -> None:
    # Natural Earth II ships three levels; past them the deepest is drawn magnified, and no
    # tile is asked for that the server does not have (Page.close fails on any 404).
    js(jpn, "window.__cop.globe().flyTo(26.2, 127.7, 6e4)")
    jpn.page.wait_for_timeout(2500)
    jpn.page.wait_for_function("window.__cop.globe().scene.globe.tilesLoaded", timeout=60_000)
    layer = js(
        jpn,
        """() => { const g = window.__cop.globe().scene.globe;
        const l = window.__cop.globe().scene.imageryLayers.get(0);
        return { ready: l.ready, show: l.show, max: l.imageryProvider.maximumLevel }; }""",
    )
    assert layer == {"ready": True, "show": True, "max": 2}
    jpn.screenshot("jpn-zoom-60km.png")
    js(jpn, "window.__cop.globe().home()")


def test_an_alert_counts_down_is_acknowledged_and_closes_in_every_nation(
    jpn: Page, closing: dict[str, Any]
) -> None:
    key = closing["alert"]["warning_id"]
    alert = jpn.page.locator(f'.alert[data-warning="{key}"]')
    assert alert.get_attribute("data-over") == ""
    assert jpn.page.is_visible("#threat-banner")
    countdown = jpn.page.inner_text("#threat-countdown")
    assert countdown.startswith("impact in ") or countdown == "impact imminent"
    assert "about 0 min" not in jpn.page.inner_text("#alerts")
    # Unacknowledged: the alarm sounds; the operator's ACK stops it (for this operator).
    assert js(jpn, "window.__cop.alarm()") is True
    buttons = jpn.page.locator("#alerts .alert:not(.closed) .btn.ack")
    for _ in range(50):  # each click re-renders the list without that button
        if not buttons.count():
            break
        buttons.first.click()
    jpn.page.wait_for_function("window.__cop.alarm() === false", timeout=10_000)
    # The server records it (the run's folder) and tells every page of the nation who did.
    assert js(jpn, "window.__cop.hello().acknowledgements") is True
    jpn.page.wait_for_function(
        f"document.querySelector('.alert[data-warning=\"{key}\"] .ack-row').textContent"
        ".includes('acknowledged: jpn')",
        timeout=10_000,
    )
    recorded = (closing["dir"] / "acknowledgements.jsonl").read_text().splitlines()
    assert any(
        (a := json.loads(line))["warning_id"] == key and a["user"] == "jpn" and a["viewer"] == "JPN"
        for line in recorded
    )
    jpn.screenshot("jpn-alert-acknowledged.png")
    # The missile falls (a row addressed to USA only): JPN's alert closes too.
    jpn.seek(closing["closed_s"] + 1)
    jpn.page.wait_for_function(
        f"document.querySelector('.alert[data-warning=\"{key}\"]')?.dataset.over === 'FELL AT SEA'",
        timeout=30_000,
    )
    open_keys = [a["key"] for a in js(jpn, "window.__cop.alerts()") if not a["over"]]
    assert key not in open_keys
    if not open_keys:
        assert not jpn.page.is_visible("#threat-banner")
    jpn.screenshot("jpn-alert-closed.png")


def test_a_screenshot_per_nation(browser: Any, closing: dict[str, Any], tmp_path: Path) -> None:
    source = RunFolderSource(closing["dir"], SCENARIO)
    srv = ServerThread(make_app(source, ServerSettings(playback=PlaybackSettings(speed=20.0))))
    srv.start()
    page = Page(browser, srv.url, PASSWORDS, artifacts=tmp_path, viewport=(1920, 1080))
    picture = pq.read_table(closing["dir"] / "picture.parquet").to_pydict()
    try:
        for user in ("usa", "jpn", "aus"):
            page.sign_in(user)
            page.seek(closing["alert"]["time_s"] + 1)
            page.wait_time(closing["alert"]["time_s"])
            page.pause()
            # The detail panel's start is the track's first time in this nation's picture.
            nation = user.upper()
            tid = page.page.locator("#track-table tbody tr[data-id]").first.get_attribute("data-id")
            first_s = min(
                t
                for t, v, i in zip(
                    picture["time_s"], picture["viewer"], picture["track_id"], strict=True
                )
                if v == nation and i == tid
            )
            page.page.click(f'#track-table tbody tr[data-id="{tid}"]')
            page.page.wait_for_selector("#detail [data-field=start]", timeout=10_000)
            start = js(page, "(id) => window.__cop.globe().tracks.get(id).start", tid)
            assert start == first_s
            assert "(seen here)" not in page.page.inner_text("#detail [data-field=start]")
            page.page.wait_for_timeout(1000)
            page.screenshot(f"{user}-operator.png")
            assert (tmp_path / f"{user}-operator.png").is_file()
            page.sign_out()
    finally:
        page.close()
        srv.stop()
