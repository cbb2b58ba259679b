"""pacific-shield: AUS's picture never shows what only USA-SBIRS-GEO saw.

A short run to 30 s after RED-BM-1's launch at 300 s (in boost: SBIRS sees it)
without the generated traffic. AUS's picture, every message AUS receives and
every warning it is sent are checked; and AUS's picture must be exactly the
same when SBIRS's reports are removed altogether (non-interference).
"""

from __future__ import annotations

import numpy as np
import pytest

from airpicture.network import KeepingBus, NetworkRun, PlotBatch, TrackBatch, WarningBatch, decode
from airpicture.network.bus import scenario_links
from airpicture.network.signing import message_bytes
from airpicture.scenario import ScenarioOverrides, load_scenario
from airpicture.sim.simulate import simulate
from tests.conftest import REPO


def _aus_picture(loaded, plots) -> tuple[list[dict], KeepingBus]:  # type: ignore[no-untyped-def]
    bus = KeepingBus(scenario_links(loaded.scenario), loaded.scenario.seed)
    run = NetworkRun(loaded, plots, bus=bus)
    return [s.pictures["AUS"] for s in run.advance(1e9)], bus


@pytest.mark.slow
def test_aus_never_sees_what_only_sbirs_saw() -> None:
    loaded = load_scenario(
        REPO / "scenarios/pacific-shield.yaml", ScenarioOverrides(duration_s=330.0, count=0)
    )
    plots = simulate(loaded).plots
    assert (plots["sensor_id"] == "USA-SBIRS-GEO").sum() > 0  # it did see the launch
    pictures, bus = _aus_picture(loaded, plots)
    for rows in pictures:
        for sources in rows["sources"]:
            assert "USA-SBIRS-GEO" not in sources
    for payload in (p for _, receiver, p in bus.published if receiver == "AUS"):
        message = decode(message_bytes(payload))
        if isinstance(message, TrackBatch | WarningBatch):
            assert all("USA-SBIRS-GEO" not in s for s in message.sources)
        elif isinstance(message, PlotBatch):
            assert "USA-SBIRS-GEO" not in message.sensor_id
    keep = plots["sensor_id"] != "USA-SBIRS-GEO"
    without, _ = _aus_picture(loaded, {k: v[keep] for k, v in plots.items()})
    for a, b in zip(pictures, without, strict=True):
        for column in ("track_id", "lat_deg", "lon_deg", "alt_m", "cls"):
            assert np.array_equal(a[column], b[column]), column
