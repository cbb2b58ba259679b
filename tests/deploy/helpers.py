"""Shared helpers of the deployment tests: a small policy of our own, clients that record errors."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import nats
import yaml
from nats.aio.client import Client
from nats.js.api import StreamConfig

from airpicture.deploy import Deployment, Role, connect_options, link_stream, sensors_stream

#: A policy of our own: GBR shares everything with both partners, USA gives GBR tracks only,
#: CAN gives nobody anything of its own.
SMALL_POLICY: dict[str, Any] = {
    "name": "three-eyes",
    "epoch": "2026-01-01T00:00:00Z",
    "duration_s": 60,
    "seed": 1,
    "nations": {
        "USA": {"release": {"tracks": ["GBR"], "plots": []}},
        "GBR": {"release": {"tracks": ["USA", "CAN"], "plots": ["USA", "CAN"]}},
        "CAN": {"release": {"tracks": [], "plots": []}},
    },
    "sensors": [
        {"id": f"{n}-R1", "nation": n, "type": "radar", "lat_deg": 50.0, "lon_deg": lon,
         "alt_m": 10, "scan_period_s": 5, "max_range_m": 300_000, "sigma_range_m": 50,
         "sigma_az_deg": 0.1, "sigma_el_deg": 0.1}
        for n, lon in (("USA", -5.0), ("GBR", -2.0), ("CAN", 1.0))
    ],
    "targets": [],
}  # fmt: skip


def write_small_policy(folder: Path, nations: dict[str, Any] | None = None) -> Path:
    """The small policy as a scenario file; `nations` replaces its release rules."""
    path = folder / "three-eyes.yaml"
    data = SMALL_POLICY | ({"nations": nations} if nations is not None else {})
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


class Recorder:
    """The errors a connection's server reported (permission violations arrive this way)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    async def record(self, exc: Exception) -> None:
        self.errors.append(str(exc))

    async def wait_for(self, text: str, timeout_s: float = 5.0) -> str:
        """The first recorded error containing `text` (lower case: nats-py lowers them)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while loop.time() < deadline:
            for error in self.errors:
                if text.lower() in error.lower():
                    return error
            await asyncio.sleep(0.02)
        raise AssertionError(f"no error containing {text!r}; got {self.errors}")


async def connect(
    deployment: Deployment, nation: str, role: Role = "node", **extra: Any
) -> tuple[Client, Recorder]:
    recorder = Recorder()
    options = connect_options(deployment, nation, role) | {
        "error_cb": recorder.record,
        "max_reconnect_attempts": 0,
        "allow_reconnect": False,
    }
    return await nats.connect(**(options | extra)), recorder


async def make_streams(deployment: Deployment, nations: list[str] | None = None) -> None:
    """Each nation's node creates its link and sensor streams, as a node does at start."""
    for nation in nations or sorted(deployment.nations):
        nc, _ = await connect(deployment, nation)
        js = nc.jetstream(domain=deployment.nations[nation].jetstream_domain)
        await js.add_stream(
            StreamConfig(name=link_stream(nation), subjects=[f"ap.link.{nation}.>"])
        )
        await js.add_stream(
            StreamConfig(name=sensors_stream(nation), subjects=[f"ap.sensor.{nation}.>"])
        )
        await nc.close()


async def stream_messages(deployment: Deployment, nation: str) -> list[tuple[str, bytes]]:
    """(subject, payload) of every message in a nation's link stream, read as its node."""
    nc, _ = await connect(deployment, nation)
    js = nc.jetstream(domain=deployment.nations[nation].jetstream_domain)
    info = await js.stream_info(link_stream(nation))
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        if info.state.messages == 0:
            break
        msg = await js.get_msg(link_stream(nation), seq)
        out.append((str(msg.subject), bytes(msg.data or b"")))
    await nc.close()
    return out
