"""Warning life cycle on a short launch scenario, end to end, and bad input to the assessor."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from airpicture.geo import geodesic_distance_m
from airpicture.sim.simulate import Simulation, simulate
from airpicture.threat import AssessRun, BoostReports, NationalAssessor, assess_plots
from airpicture.threat.warning import Warning
from airpicture.tracking.view import TrackView
from tests.threat.scenarios import launch_scenario


@pytest.fixture(scope="module")
def assessed() -> tuple[Simulation, AssessRun]:
    loaded = launch_scenario()
    sim = simulate(loaded)
    return sim, assess_plots(sim.plots, loaded.scenario, viewers=sim.run_info()["viewers"])


def _rows(run: AssessRun, nation: str) -> list[Warning]:
    return [w for w in run.warnings if w.recipients == (nation,)]


def test_life_cycle_order_and_content(assessed: tuple[Simulation, AssessRun]) -> None:
    sim, run = assessed
    flight = sim.flights["BM"]
    impact_s = 20.0 + flight.impact_time_s
    for nation in ("JPN", "USA"):
        rows = _rows(run, nation)
        kinds = [w.kind for w in rows]
        assert kinds[0] == "launch"
        assert kinds[1] == "impact_area"
        assert kinds[-1] == "fell_at_sea"
        assert set(kinds) <= {"launch", "impact_area", "update", "fell_at_sea"}
        # One alert: every row of the life cycle carries the launch's warning id.
        assert {w.warning_id for w in rows} == {rows[0].warning_id}
        assert [w.sequence for w in rows] == list(range(1, len(rows) + 1))
        assert rows[0].time_s - 20.0 <= 30.0  # launch notice within 30 s of lift-off
        assert rows[0].launch is not None and rows[0].launch.radius_m > 0
        last = [w for w in rows if w.predicted_impact and w.kind != "fell_at_sea"][-1]
        pi = last.predicted_impact
        assert pi is not None
        miss = geodesic_distance_m(pi.lat_deg, pi.lon_deg, flight.impact_lat_deg,
                                   flight.impact_lon_deg)  # fmt: skip
        assert miss < max(pi.semi_major_m, 3_000.0)
        assert pi.confidence == 0.95
        assert abs(pi.time_s - impact_s) < 15.0
        assert "at sea" in last.text and "Oki Islands" in last.text
        # It closes when its latest prediction's time has passed (the one it carries, which
        # may be a few seconds earlier than the last update announced), near the true fall.
        end = rows[-1].predicted_impact
        assert end is not None and end.time_s <= rows[-1].time_s <= impact_s + 10.0
        # Every open row says when it lapses; the closing row ends the alert.
        assert all(w.expires_s is not None for w in rows[:-1]) and rows[-1].closes
        # Warnings are traceable: impact rows name the track and its position.
        assert all(w.track_id for w in rows)


def test_no_warning_for_the_airliner(assessed: tuple[Simulation, AssessRun]) -> None:
    _, run = assessed
    ids = {w.track_id for w in run.warnings if w.kind != "launch"}
    airliner_tracks = {
        r["track_id"] for r in run.classes if r["identity"] == "neutral" and r["viewer"] == "JPN"
    }
    assert airliner_tracks, "the airliner should be tracked and called neutral"
    assert not ids & airliner_tracks
    classes = [r["cls"] for r in run.classes if r["track_id"] in airliner_tracks]
    assert classes.count("aircraft") / len(classes) > 0.9


def test_threat_list_ranks_reachable_first(assessed: tuple[Simulation, AssessRun]) -> None:
    _, run = assessed
    jpn = [r for r in run.threats if r["nation"] == "JPN"]
    assert jpn and all({"asset", "reachable", "time_to_go_s", "rank"} <= set(r) for r in jpn)
    by_time: dict[float, list[dict[str, Any]]] = {}
    for r in jpn:
        by_time.setdefault(r["time_s"], []).append(r)
    for rows in by_time.values():
        flags = [r["reachable"] for r in sorted(rows, key=lambda r: r["rank"])]
        assert flags == sorted(flags, reverse=True)


def _view(x: np.ndarray, P: np.ndarray, ids: list[str]) -> TrackView:
    n = len(ids)
    sources = np.empty(n, dtype=object)
    sources[:] = [["RADAR"] for _ in ids]
    return TrackView(
        time_s=0.0, track_id=np.array(ids, dtype=object), number=np.arange(n),
        confirmed=np.ones(n, bool), x=x, P=P, mode_probabilities=np.tile([0.0, 0.0, 1.0], (n, 1)),
        mode_names=("cv", "manoeuvre", "ballistic"), ident=np.full(n, "", dtype="U16"),
        sources=sources,
    )  # fmt: skip


def test_bad_input_is_reported_not_raised() -> None:
    loaded = launch_scenario()
    scenario = loaded.scenario.model_copy(update={"places": [], "assets": []})
    assessor = NationalAssessor(scenario, "JPN")
    from airpicture.geo import geodetic_to_ecef

    pos = geodetic_to_ecef(39.5, 131.0, 150_000.0)
    up = pos / np.linalg.norm(pos)
    east = np.cross([0.0, 0.0, 1.0], up)
    vel = 2500.0 * east / np.linalg.norm(east)
    warnings: list[Warning] = []
    for k in range(30):
        t = 5.0 * k
        x = np.stack([np.r_[pos + vel * t, vel], np.full(6, np.nan)])
        P = np.stack([np.zeros((6, 6)), np.full((6, 6), np.nan)])  # singular, and not finite
        result = assessor.assess(_view(x, P, ["T1", "T2"]), BoostReports.none(), t)
        assert result.cls[1] == "unknown"
        warnings.extend(result.warnings)
    assert any("no places" in n for n in assessor.notes)
    assert any("no assets" in n for n in assessor.notes)
    assert any("not finite" in n for n in assessor.notes)
    # The (straight-line, hence wrong but ballistic-looking) missile still gets a warning.
    assert warnings, assessor.notes
    assert all(w.track_id == "T1" for w in warnings)
    assert any("°N" in w.text for w in warnings)
