"""No leak over NATS: the worlds of `test_no_leak` (random release rules on random small
scenarios) run as live nodes on a real nats-server with an account per nation, whose
imports and exports come from the same rules. Every message that crossed the bus is read
back from its receiver's link stream and checked as the in-process test checks its
messages; every picture row too.

Also: a message is in RECEIVER's stream only under a subject naming a SENDER the rules let
send that kind to RECEIVER (the accounts' service imports), and its payload's sender is the
subject's.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import nats
import yaml
from hypothesis import HealthCheck, given, settings

from airpicture.deploy import Deployment, connect_options, init_exercise, start_servers
from airpicture.network import PlotBatch, TrackBatch, decode
from airpicture.network.jetstream import HEADER_STAGE_END, link_stream
from airpicture.network.messages import Heartbeat, MessageKind, WarningBatch
from airpicture.network.service import ServiceSettings, read_node_outputs
from airpicture.policy.release import (
    plot_receivers_of_sensor,
    receivers_of_sensor,
    track_receivers_of_sensor,
)
from airpicture.scenario import LoadedScenario, load_scenario
from airpicture.sim.simulate import simulate
from tests.network.jetstream_server import run_in_process, within
from tests.network.netscen import NATIONS
from tests.policy.test_no_leak import worlds

#: Far beyond a world's run (3-8 s wall): only a hang reaches it.
RUN_TIMEOUT_S = 240.0
KIND_OF = {TrackBatch: MessageKind.TRACKS, PlotBatch: MessageKind.PLOTS,
           WarningBatch: MessageKind.WARNINGS, Heartbeat: MessageKind.HEARTBEAT}  # fmt: skip


async def crossed(deployment: Deployment, nation: str) -> list[tuple[str, dict[str, str], bytes]]:
    """(subject, headers, payload) of every message in `nation`'s link stream, read as its node."""
    nc = await nats.connect(**connect_options(deployment, nation, "node"))  # type: ignore[arg-type]
    js = nc.jetstream()
    info = await js.stream_info(link_stream(nation))
    out = []
    if info.state.messages:
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(link_stream(nation), seq)
            out.append((str(msg.subject), dict(msg.headers or {}), bytes(msg.data or b"")))
    await nc.close()
    return out


def run_live(loaded: LoadedScenario, folder: Path) -> tuple[dict[str, list[Any]], Any]:
    data = loaded.scenario.model_dump(mode="json", exclude_none=True)
    scenario_file = folder / "scenario.yaml"
    scenario_file.write_text(yaml.safe_dump(data))
    loaded = load_scenario(scenario_file)
    plots = simulate(loaded).plots
    deployment = init_exercise(scenario_file, folder / "exercise")

    async def connect(nation: str, role: str) -> Any:
        return await nats.connect(**connect_options(deployment, nation, role))  # type: ignore[arg-type]

    out = folder / "out"
    with start_servers(deployment):
        # A hang fails here with every task's stack instead of stalling CI (one was seen
        # before the pumps ended on `halt` as well as on cancellation).
        asyncio.run(
            within(
                run_in_process(
                    loaded, plots, out, connect, speed=20.0,
                    settings=ServiceSettings(marker_wait_s=10.0),
                ),
                RUN_TIMEOUT_S,
            )
        )  # fmt: skip

        async def read_all() -> dict[str, list[Any]]:
            return {n: await crossed(deployment, n) for n in NATIONS}

        messages = asyncio.run(read_all())
    return messages, read_node_outputs(out, list(NATIONS)).picture


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_nothing_leaks_over_nats(loaded: LoadedScenario) -> None:
    scenario = loaded.scenario
    sensors = {s.id: s for s in scenario.sensors}
    tracks_to = {sid: track_receivers_of_sensor(scenario, s) for sid, s in sensors.items()}
    plots_to = {sid: plot_receivers_of_sensor(scenario, s) for sid, s in sensors.items()}
    holds = {n: {sid for sid, s in sensors.items() if n in receivers_of_sensor(scenario, s)}
             for n in NATIONS}  # fmt: skip
    # The links the rules allow, as sets: plots of a sensor the sender owns; tracks (and
    # warnings, which carry a track's marking) of a sensor the sender may hold.
    allowed = {
        (sender, receiver, kind)
        for sender in NATIONS
        for receiver in NATIONS
        if receiver != sender
        for kind, ok in (
            ("plots", any(s.nation == sender and receiver in plots_to[i]
                          for i, s in sensors.items())),
            ("tracks", any(receiver in tracks_to[i] for i in holds[sender])),
            ("warnings", any(receiver in tracks_to[i] for i in holds[sender])),
        )
        if ok
    }  # fmt: skip
    # A heartbeat may go on any link there is (and carries nothing but the sender's time).
    allowed |= {(s, r, "heartbeat") for s, r, _ in allowed}
    with tempfile.TemporaryDirectory(prefix="no-leak-nats-") as tmp:
        messages, picture = run_live(loaded, Path(tmp))
    checked = 0
    for receiver, stored in messages.items():
        for subject, headers, payload in stored:
            _, _, to, sender, kind = subject.split(".")
            assert to == receiver and sender != receiver
            assert (sender, receiver, kind) in allowed
            if HEADER_STAGE_END in headers:
                assert payload == b""
                continue
            message = decode(payload)
            assert message.sender == sender
            assert KIND_OF[type(message)] == kind
            checked += 1
            if isinstance(message, TrackBatch):
                for sources, claimed in zip(message.sources, message.releasable_to, strict=True):
                    assert sources
                    for sid in sources:
                        assert receiver in tracks_to[sid]
                        assert sender in plots_to[sid]
                    assert receiver in claimed
            elif isinstance(message, PlotBatch):
                for sid in set(message.sensor_id):
                    assert sensors[sid].nation == sender and receiver in plots_to[sid]
            elif isinstance(message, WarningBatch):
                for sources in message.sources:
                    assert all(receiver in tracks_to[sid] for sid in sources)
    for viewer, sources in zip(picture["viewer"], picture["sources"], strict=True):
        assert set(sources) <= holds[str(viewer)]
    assert checked == sum(
        1 for stored in messages.values() for _, h, _ in stored if HEADER_STAGE_END not in h
    )
