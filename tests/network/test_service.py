"""Node services on a real nats-server make the deterministic run's pictures."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import numpy as np
import pytest

from airpicture.network.run import run_network
from airpicture.network.service import ServiceSettings, network_json, read_node_outputs
from airpicture.sim.simulate import simulate
from airpicture.tables import Table

from .jetstream_server import jetstream_server, run_in_process, within
from .netscen import NATIONS, network_scenario

#: pacific-shield's rules: USA and JPN trade plots, everyone trades tracks.
PLOTS_TOO = {
    "USA": {"tracks": ["JPN", "AUS"], "plots": ["JPN"]},
    "JPN": {"tracks": ["USA", "AUS"], "plots": ["USA"]},
    "AUS": {"tracks": ["USA", "JPN"], "plots": []},
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with jetstream_server(tmp_path / "jetstream") as url:
        yield url


def rows(picture: Table, viewer: str) -> dict[tuple[float, str], tuple[float, float, float]]:
    mine = picture["viewer"] == viewer
    return {
        (float(t), str(i)): (float(a), float(b), float(h))
        for t, i, a, b, h in zip(
            picture["time_s"][mine],
            picture["track_id"][mine],
            picture["lat_deg"][mine],
            picture["lon_deg"][mine],
            picture["alt_m"][mine],
            strict=True,
        )
    }


#: One defended asset per nation in the aircraft's area: threat rows every picture.
ASSETS = [
    {"name": "Kyoto", "nation": "JPN", "lat_deg": 35.0, "lon_deg": 135.8, "radius_m": 20_000},
    {"name": "Nagoya", "nation": "USA", "lat_deg": 35.2, "lon_deg": 136.9, "radius_m": 20_000},
    {"name": "Osaka", "nation": "AUS", "lat_deg": 34.7, "lon_deg": 135.5, "radius_m": 20_000},
]


def _by_time(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (r["time_s"], r["nation"], r["rank"]))


@pytest.mark.parametrize("release", [None, PLOTS_TOO], ids=["tracks", "plots-and-tracks"])
def test_live_nodes_make_the_deterministic_pictures(
    server: str, tmp_path: Path, release: dict[str, Any] | None
) -> None:
    loaded = network_scenario(release, duration_s=40.0, assets=ASSETS)
    sim = simulate(loaded)
    result = run_network(loaded, sim.plots)
    reference = result.picture

    async def connect(nation: str, role: str) -> Any:
        return await nats.connect(server, name=f"{nation}-{role}")

    services = asyncio.run(
        within(
            run_in_process(
                loaded,
                sim.plots,
                tmp_path / "out",
                connect,
                # Parts of 3 cycles: pictures and threat rows in several files each.
                settings=ServiceSettings(marker_wait_s=10.0, chunk_cycles=3),
            ),
            240.0,
        )
    )
    live = read_node_outputs(tmp_path / "out", list(NATIONS))
    for nation in NATIONS:
        got, want = rows(live.picture, nation), rows(reference, nation)
        assert sorted(got) == sorted(want)
        for key, (lat, lon, alt) in want.items():
            assert got[key] == pytest.approx((lat, lon, alt), abs=1e-6)
    # The threat rows too, written a part per chunk; the nodes keep none of them.
    assert result.threats and _by_time(live.threats) == _by_time(result.threats)
    for nation in NATIONS:
        assert len(list((tmp_path / "out" / "nodes" / nation).glob("threats-*.jsonl"))) == 3
    assert all(service.node.threat_log() == [] for service in services)
    for service in services:
        stats = service.node_stats()
        assert stats["service"]["cycles"] == 8
        assert stats["service"]["marker_timeouts"] == {}
        assert stats["node"]["messages"]["rejected"] == {}
    summary = network_json(live)
    assert set(summary["nodes"]) == set(NATIONS)
    if release is PLOTS_TOO:
        assert summary["nodes"]["JPN"]["messages"]["received"]["plot_batches"] > 0
    links = summary["links"]
    assert all(c["sent"] == c["delivered"] > 0 for c in links.values())
    assert np.isin(["USA->JPN", "JPN->AUS"], list(links)).all()
