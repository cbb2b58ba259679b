"""A salvo of three missiles launched 5 s apart from one site: three threats, three alerts."""

from __future__ import annotations

from collections import defaultdict

import pytest

from airpicture.geo import geodesic_distance_m
from airpicture.scenario import BallisticTarget
from airpicture.sim.simulate import Simulation, simulate
from airpicture.threat import AssessRun, assess_plots
from airpicture.threat.warning import PredictedImpact, Warning, active_warnings
from tests.threat.scenarios import SALVO_GEOMETRIES, salvo_scenario


@pytest.fixture(scope="module", params=sorted(SALVO_GEOMETRIES))
def salvo(request: pytest.FixtureRequest) -> tuple[Simulation, AssessRun]:
    loaded = salvo_scenario(request.param)
    sim = simulate(loaded)
    return sim, assess_plots(sim.plots, loaded.scenario, viewers=sim.run_info()["viewers"])


def _nearest(sim: Simulation, pi: PredictedImpact) -> tuple[str, float]:
    """The missile whose true impact is nearest the predicted one, and how far it is."""
    miss = {
        tid: float(geodesic_distance_m(pi.lat_deg, pi.lon_deg, f.impact_lat_deg, f.impact_lon_deg))
        for tid, f in sim.flights.items()
    }
    best = min(miss, key=lambda t: miss[t])
    return best, miss[best]


@pytest.mark.parametrize("nation", ["JPN", "USA"])
def test_every_missile_of_the_salvo_is_warned_of_on_its_own(
    salvo: tuple[Simulation, AssessRun], nation: str
) -> None:
    sim, run = salvo
    rows = [w for w in run.warnings if w.recipients == (nation,)]
    alerts: dict[str, list[Warning]] = defaultdict(list)
    for w in rows:
        alerts[w.warning_id].append(w)
    # The launch notices count the salvo: the last one says three were seen together.
    notices = [w for w in rows if w.kind == "launch"]
    assert len(notices) == 3
    assert max(len(w.salvo) for w in notices) == 3
    assert any("3 launches detected" in w.text for w in notices)
    # Three threats, each with its own impact-area warning, updates and end.
    warned = {wid: ws for wid, ws in alerts.items() if any(w.kind == "impact_area" for w in ws)}
    assert len(warned) == 3, {wid: [w.kind for w in ws] for wid, ws in alerts.items()}
    launch_s = {
        t.id: float(t.launch_s)
        for t in sim.loaded.scenario.targets
        if isinstance(t, BallisticTarget)
    }
    missile_of: dict[str, str] = {}
    for wid, ws in warned.items():
        kinds = [w.kind for w in ws]
        assert kinds.count("impact_area") == 1 and kinds.count("update") >= 1, kinds
        assert kinds[-1] == "fell_at_sea", kinds
        last = [w.predicted_impact for w in ws if w.kind in ("impact_area", "update")][-1]
        assert last is not None
        missile, miss_m = _nearest(sim, last)
        assert miss_m < 10_000.0, (wid, missile, miss_m)
        missile_of[wid] = missile
        # Its first impact area already points at its own missile, not at a sibling's.
        first = next(w for w in ws if w.kind == "impact_area").predicted_impact
        assert first is not None and _nearest(sim, first)[0] == missile, wid
        # It is closed when its own missile has come down, not a sibling's.
        impact_s = launch_s[missile] + sim.flights[missile].impact_time_s
        assert impact_s - 10.0 <= ws[-1].time_s <= impact_s + 30.0, (wid, ws[-1].time_s, impact_s)
    assert sorted(missile_of.values()) == ["BM1", "BM2", "BM3"]
    # No alert outlives the salvo.
    assert active_warnings(rows, max(w.time_s for w in rows)) == []
