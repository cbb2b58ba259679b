"""A node's recording (issue 15): three nodes in this process on one real nats-server whose
JetStream store is the recording folder; then read back, exported, replayed, and damaged."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nats
import numpy as np
import pytest
import yaml

from airpicture.cli import main
from airpicture.errors import InputError
from airpicture.network.recording import (
    MANIFEST,
    STORE,
    NationRecording,
    Recorder,
    RecordingServer,
    RecordingSettings,
    read_manifest,
    read_recording,
    record_stream,
    recording_share,
    write_manifest,
)
from airpicture.network.replay import load_recorded_scenario, replay_nation
from airpicture.network.service import read_node_outputs
from airpicture.scenario import LoadedScenario, load_scenario
from airpicture.sim.simulate import simulate
from airpicture.tables import PICTURE_SCHEMA, PLOTS_SCHEMA, Table, read_table

from .jetstream_server import jetstream_server, run_in_process, within
from .netscen import network_scenario


@dataclass(frozen=True)
class Recorded:
    folder: Path
    out: Path
    loaded: LoadedScenario
    plots: Table
    recordings: dict[str, NationRecording]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    tmp = tmp_path_factory.mktemp("recording")
    data = network_scenario(duration_s=60.0).scenario.model_dump(mode="json", exclude_none=True)
    scenario_file = tmp / "scenario.yaml"
    scenario_file.write_text(yaml.safe_dump(data))
    loaded = load_scenario(scenario_file)
    sim = simulate(loaded)
    out = tmp / "out"
    sim.write(out)
    folder = tmp / "recording"
    write_manifest(folder, scenario_file, {}, sorted(loaded.scenario.nations))
    for name in ("truth.parquet", "run.json"):
        shutil.copyfile(out / name, folder / name)
    server = RecordingServer(folder / STORE)
    server.start()

    async def connect(nation: str, role: str) -> object:
        return await server.connect()

    try:
        asyncio.run(within(run_in_process(loaded, sim.plots, out, connect, speed=10.0), 120.0))
    finally:
        server.stop()
    manifest = read_manifest(folder)
    recordings = asyncio.run(read_recording(manifest))
    yield Recorded(folder, out, loaded, sim.plots, recordings)


def test_each_node_records_one_clean_run_with_three_stages_per_picture_time(
    recorded: Recorded,
) -> None:
    for nation, rec in recorded.recordings.items():
        assert rec.truncated == "", nation
        assert not rec.aged_out
        (run,) = rec.incarnations
        assert run.start is not None and run.end is not None
        assert run.start.nation == nation
        stages = [r.stage for r in run.stages]
        assert stages == ["plots", "tracks", "fuse"] * (len(stages) // 3)
        assert len(stages) // 3 == run.end.last_cycle - run.start.first_cycle + 1
        # Every input and output is there: the partners' messages and the releases.
        assert sum(len(r.received) for r in run.stages) > 0
        assert sum(len(r.published) for r in run.stages) > 0
        assert all(r.picture is not None for r in run.stages if r.stage == "fuse")


def test_replay_of_every_node_reproduces_its_recorded_picture_and_publications(
    recorded: Recorded,
) -> None:
    loaded = load_recorded_scenario(read_manifest(recorded.folder))
    live = read_node_outputs(recorded.out, sorted(recorded.recordings)).picture
    for nation, rec in recorded.recordings.items():
        result = replay_nation(loaded, rec)
        c = result.comparison
        assert c.exact(), (nation, c.as_dict())
        assert c.max_position_error_m == 0.0
        assert c.fuses == 12 and c.picture_rows > 0 and c.publications > 0
        # ... and it is the picture the node wrote live.
        mine = live["viewer"] == nation
        assert list(result.picture["track_id"]) == list(live["track_id"][mine])
        np.testing.assert_array_equal(result.picture["lat_deg"], live["lat_deg"][mine])


def test_export_writes_run_tables_that_evaluate_scores(recorded: Recorded, tmp_path: Path) -> None:
    out = tmp_path / "export"
    assert main(["export", str(recorded.folder), "--out", str(out)]) == 0
    picture = read_table(out / "picture.parquet", PICTURE_SCHEMA)
    live = read_node_outputs(recorded.out, sorted(recorded.recordings)).picture
    assert list(picture["track_id"]) == list(live["track_id"])
    assert list(picture["viewer"]) == list(live["viewer"])
    # Every report each nation's sensors published up to the last picture time, once.
    plots = read_table(out / "plots.parquet", PLOTS_SCHEMA)
    last_s = float(np.max(picture["time_s"]))
    fed = np.asarray(recorded.plots["time_s"], dtype=np.float64) <= last_s + 1e-9
    assert len(plots["time_s"]) == int(fed.sum())
    np.testing.assert_array_equal(np.sort(plots["time_s"]), np.sort(recorded.plots["time_s"][fed]))
    assert main(["evaluate", str(out), "--no-report"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics  # scored


def test_a_missing_recording_folder_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere"
    assert main(["replay", str(missing), "--nation", "JPN", "--out", str(tmp_path / "r")]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_a_recording_of_another_version_is_refused_by_name(
    recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "recording"
    shutil.copytree(recorded.folder, folder)
    marker = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps(marker | {"version": 99}))
    assert main(["export", str(folder), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert MANIFEST in err and "version 99" in err and "reads version 1" in err


def test_a_recording_cut_mid_write_replays_up_to_where_it_is_complete(
    recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "recording"
    shutil.copytree(recorded.folder, folder)
    (block,) = (folder / STORE).glob(f"jetstream/*/streams/{record_stream('JPN')}/msgs/*.blk")
    size = block.stat().st_size
    with block.open("r+b") as f:
        f.truncate(size * 6 // 10)  # mid-record: the file system kept only part of the write
    out = tmp_path / "replay"
    assert main(["replay", str(folder), "--nation", "JPN", "--out", str(out)]) == 0
    said = capsys.readouterr().out.replace("\n", " ")
    report = json.loads((out / "replay.json").read_text())
    complete = report["complete_to_s"]
    assert report["truncated"] and report["reproduced"]
    assert 0 < complete < 60.0
    assert f"complete up to exercise time {complete:.1f} s" in " ".join(said.split())
    picture = read_table(out / "picture.parquet", PICTURE_SCHEMA)
    assert float(np.max(picture["time_s"])) == complete


def test_a_recording_larger_than_the_server_can_set_aside_is_refused_by_name(
    tmp_path: Path,
) -> None:
    """JetStream reserves a stream's max_bytes when it makes it: a retention beyond the
    server's store is an error that says which setting to lower, not a node that hangs."""
    too_big = 2**50  # 1 PiB: beyond any test machine's disk

    async def start() -> None:
        nc = await nats.connect(url)
        try:
            await Recorder("JPN", 1, RecordingSettings(max_bytes=too_big)).start(nc.jetstream())
        finally:
            await nc.close()

    with jetstream_server(tmp_path / "jetstream") as url, pytest.raises(InputError) as caught:
        asyncio.run(start())
    message = str(caught.value)
    assert message.startswith(f"JPN's recording (recording.max_bytes = {too_big}): ")
    assert "cannot set aside 1048576.00 GiB for the stream JPN_RECORD" in message
    assert "lower recording.max_bytes in the node configuration" in message


def test_the_recordings_on_one_server_share_the_free_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def free(gib: float) -> None:
        usage = shutil._ntuple_diskusage(0, 0, int(gib * 2**30))  # type: ignore[attr-defined]
        monkeypatch.setattr(shutil, "disk_usage", lambda path: usage)

    store = tmp_path / "not-yet" / "jetstream"  # measured on the folder that exists
    free(1000.0)
    assert recording_share(store, 3) == RecordingSettings.max_bytes
    free(10.0)
    assert recording_share(store, 4) == 1280 * 2**20  # half the free space, in whole MiB
    free(0.2)
    with pytest.raises(InputError, match="at least 64 MiB each is needed"):
        recording_share(store, 4)
