"""No leak: random release policies on random small scenarios; every message and picture row.

Checked independently of the guard, from the scenario's rules as sets:

* a track batch to R: every source of every track releases tracks to R, and the
  sender could track it (its own sensor, or one whose plots it receives);
* a plot batch to R: every plot is the sender's own sensor's, releasing plots to R;
* a warning to R: every source it derives from releases tracks to R;
* a picture row of nation V: every source is one V may hold;
* non-interference: removing every report of the sensors V may not hold leaves
  V's picture (times, positions, velocities, sources) exactly as it was.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airpicture.network import InProcessBus, NetworkRun, PlotBatch, TrackBatch, decode
from airpicture.network.bus import scenario_links
from airpicture.network.messages import MessageKind
from airpicture.policy.release import (
    plot_receivers_of_sensor,
    receivers_of_sensor,
    track_receivers_of_sensor,
)
from airpicture.scenario import LoadedScenario
from airpicture.sim.simulate import simulate
from tests.network.netscen import NATIONS, SENSORS, network_scenario

nation_sets = st.lists(st.sampled_from(NATIONS), unique=True, max_size=3)


class RecordingBus(InProcessBus):
    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.log: list[tuple[str, str, bytes]] = []

    def publish(
        self, sender: str, receiver: str, payload: bytes, sent_s: float, kind: MessageKind
    ) -> None:
        self.log.append((sender, receiver, payload))
        super().publish(sender, receiver, payload, sent_s, kind)


@st.composite
def worlds(draw: st.DrawFn) -> LoadedScenario:
    release = {n: {"tracks": draw(nation_sets), "plots": draw(nation_sets)} for n in NATIONS}
    overrides = {
        s["id"]: {"tracks": draw(nation_sets), "plots": draw(nation_sets)}
        for s in SENSORS
        if draw(st.booleans())
    }
    seed = draw(st.integers(0, 1000))
    return network_scenario(release, overrides, duration_s=30.0, seed=seed)


def _run(loaded: LoadedScenario, plots: dict) -> tuple[NetworkRun, RecordingBus, dict]:
    bus = RecordingBus(scenario_links(loaded.scenario), loaded.scenario.seed)
    run = NetworkRun(loaded, plots, bus=bus)
    pictures: dict[str, list] = {n: [] for n in NATIONS}
    for snapshot in run.advance(1e9):
        for viewer, rows in snapshot.pictures.items():
            pictures[viewer].append(rows)
    return run, bus, pictures


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_nothing_leaks(loaded: LoadedScenario) -> None:
    scenario = loaded.scenario
    sensors = {s.id: s for s in scenario.sensors}
    tracks_to = {sid: track_receivers_of_sensor(scenario, s) for sid, s in sensors.items()}
    plots_to = {sid: plot_receivers_of_sensor(scenario, s) for sid, s in sensors.items()}
    holds = {n: {sid for sid, s in sensors.items() if n in receivers_of_sensor(scenario, s)}
             for n in NATIONS}  # fmt: skip
    plots = simulate(loaded).plots
    _, bus, pictures = _run(loaded, plots)
    for sender, receiver, payload in bus.log:
        message = decode(payload)
        assert message.sender == sender
        if isinstance(message, TrackBatch):
            for sources, claimed in zip(message.sources, message.releasable_to, strict=True):
                assert sources
                for sid in sources:
                    assert receiver in tracks_to[sid]
                    assert sender in plots_to[sid]  # it tracked that sensor's plots
                assert receiver in claimed
        elif isinstance(message, PlotBatch):
            for sid in set(message.sensor_id):
                assert sensors[sid].nation == sender and receiver in plots_to[sid]
        else:
            for sources in message.sources:
                assert all(receiver in tracks_to[sid] for sid in sources)
    for viewer, parts in pictures.items():
        for rows in parts:
            for sources in rows["sources"]:
                assert set(sources) <= holds[viewer]
    # Non-interference: what a nation may not hold changes nothing it sees.
    for viewer in NATIONS:
        hidden = [sid for sid in sensors if sid not in holds[viewer]]
        if not hidden:
            continue
        keep = ~np.isin(plots["sensor_id"], hidden)
        _, _, without = _run(loaded, {k: v[keep] for k, v in plots.items()})
        for a, b in zip(pictures[viewer], without[viewer], strict=True):
            for column in ("time_s", "lat_deg", "lon_deg", "alt_m", "vel_e_mps", "vel_n_mps"):
                assert np.array_equal(np.sort(a[column]), np.sort(b[column])), column
            assert sorted(map(tuple, a["sources"])) == sorted(map(tuple, b["sources"]))
