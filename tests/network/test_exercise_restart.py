"""A node killed with SIGKILL mid-exercise is restarted and processes every partner message
sent while it was down exactly once (real nats-server with accounts and TLS, a real process)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import nats
import yaml

from airpicture.deploy import connect_options, init_exercise, start_servers
from airpicture.network.exercise import NodeSupervisor
from airpicture.network.jetstream import HEADER_STAGE_END, link_stream
from airpicture.network.recording import recording_share
from airpicture.network.service import ExerciseClock, ServiceSettings, read_node_outputs
from airpicture.network.signing import Keyring
from airpicture.scenario import load_scenario
from airpicture.sim.simulate import simulate

from .jetstream_server import run_in_process
from .netscen import network_scenario

KILL_AT_S = 15.0


def ledger(folder: Path, incarnation_file: Path) -> set[int]:
    return {int(x) for x in incarnation_file.read_text().split()}


def test_a_killed_node_resumes_and_takes_what_was_sent_meanwhile_once(tmp_path: Path) -> None:
    data = network_scenario(duration_s=600.0).scenario.model_dump(mode="json", exclude_none=True)
    scenario_file = tmp_path / "scenario.yaml"
    scenario_file.write_text(yaml.safe_dump(data))
    loaded = load_scenario(scenario_file)
    sim = simulate(loaded)
    deployment = init_exercise(scenario_file, tmp_path)
    out = tmp_path / "out"
    epoch_file = tmp_path / "epoch"
    config = tmp_path / "node-JPN.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "scenario": str(scenario_file),
                "nation": "JPN",
                "deployment": str(tmp_path),
                "clock": {"epoch_file": str(epoch_file), "speed": 5.0},
                "web": None,
                "out": str(out),
                # Its recording shares the server's store with AUS's and USA's.
                "recording": {"max_bytes": recording_share(out, 3)},
            }
        )
    )
    jpn_dir = out / "nodes" / "JPN"
    events: dict[str, Any] = {}

    async def connect(nation: str, role: str) -> Any:
        return await nats.connect(**connect_options(deployment, nation, role))  # type: ignore[arg-type]

    async def kill_and_restart(clock: ExerciseClock, stop: asyncio.Event) -> None:
        epoch_file.write_text(f"{clock.epoch_unix_s!r}\n")
        while clock.now_s() < KILL_AT_S:
            await asyncio.sleep(0.05)
        (jpn_dir / "ready.json").unlink()
        events["killed_pid"] = supervisor.kill("JPN")
        events["killed_unix_s"] = time.time()
        while not supervisor.check():
            await asyncio.sleep(0.05)
        while not (jpn_dir / "ready.json").exists():
            await asyncio.sleep(0.05)
        events["restarted_unix_s"] = time.time()
        # Three picture times after the restart, everything stops (JPN by SIGTERM).
        resumed_s = clock.now_s()
        while clock.now_s() < resumed_s + 4 * loaded.scenario.picture_interval_s:
            await asyncio.sleep(0.05)
        stop.set()

    async def stream_times() -> list[tuple[int, float, bool]]:
        nc = await connect("JPN", "node")
        js = nc.jetstream()
        info = await js.stream_info(link_stream("JPN"))
        found = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(link_stream("JPN"), seq)
            assert msg.time is not None
            marker = HEADER_STAGE_END in (msg.headers or {})
            found.append((seq, msg.time.timestamp(), marker))
        await nc.close()
        return found

    with start_servers(deployment):
        supervisor = NodeSupervisor({"JPN": config}, tmp_path / "logs")
        supervisor.start("JPN")
        try:
            while not (jpn_dir / "ready.json").exists():
                assert supervisor.nodes["JPN"].process.poll() is None  # type: ignore[union-attr]
                time.sleep(0.05)
            services = asyncio.run(
                run_in_process(
                    loaded, sim.plots, out, connect, ["AUS", "USA"], speed=5.0,
                    settings=ServiceSettings(), during=kill_and_restart,
                    keys={n: Keyring.from_deployment(deployment, n) for n in ("AUS", "USA")},
                )
            )  # fmt: skip
        finally:
            supervisor.stop()
        process = supervisor.nodes["JPN"].process
        assert process is not None and process.returncode == 0
        # The restart took the warm spare (started at the first check): the node's second
        # process is the spare's, which became `airpicture node` and exited cleanly.
        assert supervisor.spares_used == 1
        assert supervisor.spare is None  # the new spare was stopped with the rest
        assert (tmp_path / "logs" / "node-JPN.log").read_text().count("node stopped") == 1
        stored = asyncio.run(stream_times())
    ledgers = sorted(
        jpn_dir.glob("processed-link-*.ledger"), key=lambda p: int(p.stem.split("-")[-1])
    )
    assert len(ledgers) == 2  # the killed run's and the restarted run's
    before, after = (ledger(jpn_dir, p) for p in ledgers)
    # Everything stored before the restarted node was up: processed once, by one run.
    earlier = {seq for seq, t, _ in stored if t < events["restarted_unix_s"]}
    assert before.isdisjoint(after)  # nothing processed twice
    assert earlier <= before | after  # nothing lost
    while_down = {
        seq
        for seq, t, marker in stored
        if not marker and events["killed_unix_s"] < t < events["restarted_unix_s"]
    }
    events["while_down"] = len(while_down)
    assert len(while_down) >= 4, events  # two partners, a few cycles each
    assert while_down <= after
    # network.json's counts: what the restarted run took from the queue, by partner.
    runs = read_node_outputs(out, ["JPN"]).stats["JPN"]
    assert len(runs) == 2
    assert runs[1]["bus"]["queued_before_start"] >= len(while_down)
    assert runs[1]["node"]["messages"]["rejected"].get("duplicate", 0) == 0
    # Its picture is back: the restarted run fused every picture time after its start.
    assert runs[1]["service"]["cycles"] >= 3
    assert runs[1]["service"]["fuse_lag_s"]["p50"] is not None
    for service in services:
        assert service.node_stats()["node"]["messages"]["rejected"] == {}
