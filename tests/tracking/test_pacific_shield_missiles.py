"""Issue 4's missile requirement on pacific-shield: every ballistic and cruise missile a
radar detects is a confirmed track within three of that radar's scans."""

from __future__ import annotations

import numpy as np

from airpicture.scenario import ScenarioOverrides, load_scenario
from airpicture.sim.simulate import simulate
from airpicture.tracking import Tracker, sensor_models

MISSILES = ("RED-BM-1", "RED-BM-2", "RED-CM-1", "RED-CM-2")
RADARS = {"radar", "radar2d", "oth"}
#: A track "holds" the missile when it is this close to the truth, m.
HOLD_DISTANCE_M = 5_000.0


def test_every_missile_is_confirmed_within_three_scans_of_its_first_radar_report() -> None:
    # Without the 60 generated airliners (count 0): same missiles, sensors and clutter.
    loaded = load_scenario(
        "scenarios/pacific-shield.yaml", ScenarioOverrides(duration_s=1100.0, count=0)
    )
    sim = simulate(loaded)
    plots = sim.plots
    models = sensor_models(loaded.scenario.sensors)
    revisit = {m.sensor_id: m.revisit_s for m in models}
    kind = {s.id: s.type for s in loaded.scenario.sensors}
    by_radar = np.array([kind[str(s)] in RADARS for s in plots["sensor_id"]])
    checks: list[tuple[float, str, str, float]] = []
    for missile in MISSILES:
        mine = np.flatnonzero(by_radar & (plots["target_id"] == missile))
        assert mine.size, f"{missile} is never seen by a radar in this scenario"
        first = mine[np.argmin(plots["time_s"][mine])]
        sensor = str(plots["sensor_id"][first])
        t0 = float(plots["time_s"][first])
        checks.append((t0 + 3.0 * revisit[sensor], missile, sensor, t0))

    tracker = Tracker(models)
    order = np.argsort(plots["time_s"], kind="stable")
    rows = {c: np.asarray(v)[order] for c, v in plots.items() if c != "target_id"}
    fed = 0
    target = {tid: k for k, tid in enumerate(sim.trajectories.info.ids)}
    for deadline, missile, sensor, t0 in sorted(checks):
        stop = int(np.searchsorted(rows["time_s"], deadline, side="right"))
        tracker.process({c: v[fed:stop] for c, v in rows.items()})
        fed = stop
        tracker.advance_to(deadline)
        view = tracker.view(deadline)
        truth, _, exists = sim.trajectories.state_at(np.array([target[missile]]), deadline)
        assert exists[0]
        miss = np.linalg.norm(view.x[:, :3] - truth[0], axis=1)
        assert miss.size and miss.min() < HOLD_DISTANCE_M, (
            f"{missile}: first seen by {sensor} at {t0:.1f} s; no confirmed track within "
            f"{HOLD_DISTANCE_M:.0f} m at {deadline:.1f} s (nearest "
            f"{miss.min() if miss.size else np.inf:.0f} m)"
        )
