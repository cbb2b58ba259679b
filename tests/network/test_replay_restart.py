"""Issue 15 on a live exercise: JPN's node (a real process, on the TLS/accounts deployment)
is killed with SIGKILL mid-exercise and restarted; its recording has both runs, with no
report missing and none twice, and `airpicture replay` reproduces what the node showed."""

from __future__ import annotations

import asyncio
import json
import math
import time
from pathlib import Path
from typing import Any

import nats
import numpy as np
import pytest
import yaml

from airpicture.cli import main
from airpicture.cli.serve import recording_source
from airpicture.deploy import connect_options, init_exercise, start_servers
from airpicture.errors import InputError
from airpicture.network.exercise import NodeSupervisor, start_recording
from airpicture.network.recording import read_manifest, read_recording
from airpicture.network.service import ExerciseClock, ServiceSettings, read_node_outputs
from airpicture.network.signing import Keyring
from airpicture.scenario import load_scenario
from airpicture.sim.simulate import simulate
from airpicture.tables import PICTURE_SCHEMA, PLOTS_SCHEMA, Table, read_table
from airpicture.web.views import view_rules

from .jetstream_server import run_in_process, within
from .netscen import network_scenario


def test_a_node_killed_and_restarted_replays_to_the_picture_it_showed(tmp_path: Path) -> None:
    data = network_scenario(duration_s=600.0).scenario.model_dump(mode="json", exclude_none=True)
    scenario_file = tmp_path / "scenario.yaml"
    scenario_file.write_text(yaml.safe_dump(data))
    loaded = load_scenario(scenario_file)
    sim = simulate(loaded)
    deployment = init_exercise(scenario_file, tmp_path)
    out = tmp_path / "out"
    sim.write(out)
    recorder = start_recording(out, scenario_file, {}, ["JPN"])
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
                "recording": {
                    "servers": [recorder.url],
                    "token_file": str(out / "recording" / ".token"),
                    "max_age_s": 86400,
                    "max_bytes": 2**30,
                },
            }
        )
    )
    jpn_dir = out / "nodes" / "JPN"
    events: dict[str, Any] = {}

    async def connect(nation: str, role: str) -> Any:
        return await nats.connect(**connect_options(deployment, nation, role))  # type: ignore[arg-type]

    def cycles_of_run(run: int) -> int:
        """Pictures fused so far by JPN's `run`-th process (0: the first), from its stats."""
        found = sorted(jpn_dir.glob("stats-*.json"), key=lambda p: int(p.stem.split("-")[1]))
        if len(found) <= run:
            return 0
        try:
            return int(json.loads(found[run].read_text())["service"]["cycles"])
        except (ValueError, KeyError):
            return 0  # being replaced

    async def kill_and_restart(clock: ExerciseClock, stop: asyncio.Event) -> None:
        epoch_file.write_text(f"{clock.epoch_unix_s!r}\n")
        # Killed once it has fused a few pictures (however loaded the machine is) ...
        while cycles_of_run(0) < 3:
            await asyncio.sleep(0.05)
        (jpn_dir / "ready.json").unlink()
        events["killed_pid"] = supervisor.kill("JPN")
        while not supervisor.check():
            await asyncio.sleep(0.05)
        # ... and everything stops once the restarted process has fused a few more.
        while cycles_of_run(1) < 3:
            await asyncio.sleep(0.05)
        stop.set()

    try:
        partners = ("AUS", "USA")
        with start_servers(deployment):
            supervisor = NodeSupervisor({"JPN": config}, tmp_path / "logs", spare=False)
            supervisor.start("JPN")
            try:
                while not (jpn_dir / "ready.json").exists():
                    assert supervisor.nodes["JPN"].process.poll() is None  # type: ignore[union-attr]
                    time.sleep(0.05)
                asyncio.run(
                    within(
                        run_in_process(
                            loaded, sim.plots, out, connect, ["AUS", "USA"], speed=5.0,
                            settings=ServiceSettings(), during=kill_and_restart,
                            keys={n: Keyring.from_deployment(deployment, n) for n in partners},
                        ),
                        240.0,
                    )
                )  # fmt: skip
            finally:
                supervisor.stop()
    finally:
        recorder.stop()
    assert supervisor.nodes["JPN"].restarts == 1

    folder = out / "recording"
    recording = asyncio.run(read_recording(read_manifest(folder), ["JPN"]))["JPN"]
    killed, restarted = recording.incarnations
    assert killed.end is None and restarted.end is not None  # SIGKILL: no end; then clean
    assert recording.truncated == ""
    assert killed.start is not None and restarted.start is not None
    assert restarted.start.first_cycle > killed.stages[-1].cycle
    # Signed both ways (the deployment's keys): JPN took its partners' frames, and its
    # recording holds the partners' public keys the replay checks them with.
    jpn_keys = Keyring.from_deployment(deployment, "JPN")
    assert killed.start.partner_keys == jpn_keys.partner_keys_raw()
    assert set(killed.start.partner_keys) == {"AUS", "USA"}
    taken = [r for inc in recording.incarnations for st in inc.stages for r in st.received]
    assert taken and all(jpn_keys.open(r.payload, r.sender) for r in taken)

    # The replay reproduces both runs: pictures, warnings and every publication.
    replay = tmp_path / "replay"
    assert main(["replay", str(folder), "--nation", "JPN", "--out", str(replay)]) == 0
    report = json.loads((replay / "replay.json").read_text())
    assert report["reproduced"], report
    assert [r["ended_cleanly"] for r in report["incarnations"]] == [False, True]
    assert report["comparison"]["max_position_error_m"] <= 1.0
    assert report["comparison"]["fuses"] >= 6  # three by each process
    # ... and that is the picture the node showed live. (Its picture files lack the
    # pictures the killed process held in memory, up to `chunk_cycles` of them: the
    # recording has them.)
    live = read_node_outputs(out, ["JPN"]).picture
    replayed = read_table(replay / "picture.parquet", PICTURE_SCHEMA)
    shown = np.isin(replayed["time_s"], live["time_s"])
    assert shown.sum() == len(live["time_s"]) > 0
    assert list(replayed["time_s"][shown]) == list(live["time_s"])
    assert list(replayed["track_id"][shown]) == list(live["track_id"])
    np.testing.assert_array_equal(replayed["lat_deg"][shown], live["lat_deg"])
    assert report["comparison"]["fuses"] == len(np.unique(replayed["time_s"]))

    # The page replays the recording for JPN alone (`serve RECORDING --nation JPN`): every
    # recorded picture, the one the node showed where it wrote one.
    source = recording_source(folder, "jpn")
    assert sorted(view_rules(source.info)) == ["JPN"]
    frames = source.advance(math.inf)
    assert [f.time_s for f in frames] == sorted(np.unique(replayed["time_s"]).tolist())
    shown_frames = [f for f in frames if f.time_s in set(live["time_s"].tolist())]
    assert [t for f in shown_frames for t in f.picture["track_id"]] == list(live["track_id"])
    with pytest.raises(InputError, match="give --nation"):
        recording_source(folder, None)

    # Every report JPN's sensors published up to its last picture but one, exactly once,
    # though the killed run took some it never acknowledged (the restarted run took them
    # again). The last picture may have been made as the test stopped everything, while its
    # stage still waited for the feed's last reports: those it took are recorded, once.
    export = tmp_path / "export"
    assert main(["export", str(folder), "--out", str(export)]) == 0
    plots = read_table(export / "plots.parquet", PLOTS_SCHEMA)
    times = np.unique(live["time_s"])
    last_s, settled_s = float(times[-1]), float(times[-2])

    def reports(table: Table, rows: np.ndarray | slice = slice(None)) -> list[tuple[str, float]]:
        ids = np.asarray(table["sensor_id"], dtype=str)[rows]
        at = np.asarray(table["time_s"], dtype=np.float64)[rows]
        return [(str(i), round(float(t), 6)) for i, t in zip(ids, at, strict=True)]

    exported = reports(plots)
    assert len(set(exported)) == len(exported)  # once
    jpn = {s.id for s in loaded.scenario.sensors if s.nation == "JPN"}
    sim_times = np.asarray(sim.plots["time_s"], dtype=np.float64)
    own = np.isin(sim.plots["sensor_id"].astype(str), sorted(jpn))
    assert set(exported) <= set(reports(sim.plots, own & (sim_times <= last_s + 1e-9)))
    assert set(reports(sim.plots, own & (sim_times <= settled_s + 1e-9))) <= set(exported)
