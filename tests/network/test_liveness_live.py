"""Liveness on a real nats-server: a partner node that stops publishing is marked down by the
others, which go on with their own pictures, and up again when it publishes again; a link
that carries nothing else carries signed heartbeats."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest

from airpicture.network.jetstream import JetStreamBus
from airpicture.network.run import run_network
from airpicture.network.service import ServiceSettings
from airpicture.network.signing import Keyring
from airpicture.sim.simulate import simulate

from .jetstream_server import jetstream_server, run_in_process, within
from .netscen import NATIONS, network_scenario

#: AUS's own tracks go to USA only; it may still send JPN warnings about USA's tracks, so
#: its link to JPN carries nothing else but heartbeats.
RELEASE = {
    "AUS": {"tracks": ["USA"], "plots": []},
    "JPN": {"tracks": ["USA", "AUS"], "plots": []},
    "USA": {"tracks": ["JPN", "AUS"], "plots": []},
}
#: USA publishes nothing while the exercise clock is in [SILENT_FROM_S, SILENT_TO_S).
SILENT_FROM_S, SILENT_TO_S = 30.0, 60.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with jetstream_server(tmp_path / "jetstream") as url:
        yield url


def test_a_silent_partner_is_marked_down_and_up_again_over_nats(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = network_scenario(RELEASE, duration_s=90.0)
    sim = simulate(loaded)
    # The same run, deterministic, first: it compiles the numba kernels in this process, so
    # that no node lags by seconds of compilation in the live run (a lagging receiver takes
    # late messages as heard at its own picture time, and sees no silence).
    run_network(loaded, sim.plots)
    flush = JetStreamBus.flush

    async def usa_goes_quiet(self: JetStreamBus) -> None:
        if self.nation == "USA" and SILENT_FROM_S <= self.clock_s() < SILENT_TO_S:
            self._outbox = []  # stops publishing: messages and stage-end markers alike
            return
        await flush(self)

    monkeypatch.setattr(JetStreamBus, "flush", usa_goes_quiet)

    async def connect(nation: str, role: str) -> Any:
        return await nats.connect(server, name=f"{nation}-{role}")

    services = asyncio.run(
        within(
            run_in_process(
                loaded,
                sim.plots,
                tmp_path / "out",
                connect,
                # 5x: the limit (15 s) is 3 s of wall time, far above a node's lag here.
                speed=5.0,
                settings=ServiceSettings(marker_wait_s=0.5),
                keys=Keyring.generate(list(NATIONS)),
            ),
            240.0,
        )
    )
    stats = {s.nation: s.node_stats() for s in services}
    for nation in ("AUS", "JPN"):
        node = stats[nation]["node"]
        usa = node["partner_links"]["USA"]
        assert usa["times_down"] == 1, (nation, usa)
        [outage] = usa["outages"]
        # Down once silent for over the limit (15 s): after the silence began, before it
        # ended; back up when heard again, and up at the end.
        assert SILENT_FROM_S - 15.0 < outage["down_s"] < SILENT_TO_S, (nation, usa)
        assert outage["up_s"] is not None and outage["up_s"] > outage["down_s"]
        assert usa["state"] == "up"
        # Meanwhile each went on with its own picture, every picture time.
        assert stats[nation]["service"]["cycles"] == 18
        assert node["messages"]["rejected"] == {}
    # AUS -> JPN carries heartbeats only, signed and taken: AUS is never down for JPN.
    assert stats["AUS"]["node"]["heartbeats_sent"]["JPN"] > 0
    aus = stats["JPN"]["node"]["partner_links"]["AUS"]
    assert aus["heartbeats"] > 0 and aus["times_down"] == 0 and aus["state"] == "up"
    assert stats["JPN"]["bus"]["links"]["AUS->JPN"]["delivered"] == aus["messages"]
