"""Exact replay of a node from its recording, and a recording as run-output tables.

`replay_nation` rebuilds, for each recorded incarnation of a nation's node, the
`NationalNode` its service built (same scenario, settings, `hold_s`, first
sequence number), then takes the recorded stages in their recorded order: the
plots stage ingests the recorded own reports, the tracks and fuse stages
`receive` exactly the recorded partner messages (a `ReplayBus` hands each
stage its list), and every fuse's picture, warnings and every publication are
compared with the recorded ones. The node's stages are deterministic given
what each stage took, so the replay reproduces the recording: the figures
(`ReplayComparison`) say how closely.

`export_tables` writes what the run output has (`plots.parquet`,
`picture.parquet`, `warnings.jsonl`, `threats.jsonl`, `network.json`, and the
simulation's `truth.parquet` and `run.json` kept in the recording folder), so
`airpicture evaluate` and the report work on an exercise's recording.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from airpicture.geo.frames import geodetic_to_ecef
from airpicture.network.assessor import national_assessor
from airpicture.network.bus import Envelope, scenario_links
from airpicture.network.messages import MessageKind
from airpicture.network.node import NationalNode
from airpicture.network.recording import (
    Manifest,
    NationRecording,
    Published,
    StageRecord,
    table_from_wire,
)
from airpicture.network.run import NetworkSettings, hold_s
from airpicture.network.signing import Keyring, frame_without_signature
from airpicture.policy import ReleasePolicy
from airpicture.scenario import LAYERS_DIR, LoadedScenario, ScenarioOverrides, load_scenario
from airpicture.tables import (
    PICTURE_SCHEMA,
    PLOTS_SCHEMA,
    Table,
    concat_tables,
    empty_table,
    write_table,
)
from airpicture.threat.warning import Warning, write_warnings


def load_recorded_scenario(manifest: Manifest) -> LoadedScenario:
    o = manifest.overrides
    return load_scenario(
        manifest.scenario,
        ScenarioOverrides(o.get("seed"), o.get("duration_s"), o.get("count")),
    )


class ReplayBus:
    """A `Bus` that hands each stage's `receive` the messages the recording says it took,
    and keeps what the node publishes."""

    def __init__(self) -> None:
        self.queue: list[Envelope] = []
        self.published: list[Published] = []

    def publish(
        self, sender: str, receiver: str, payload: bytes, sent_s: float, kind: MessageKind
    ) -> None:
        del sender
        self.published.append(Published(receiver, str(kind), float(sent_s), payload))

    def receive(self, receiver: str, until_s: float) -> list[Envelope]:
        del until_s
        out, self.queue = self.queue, []
        return [e for e in out if e.receiver == receiver]


@dataclass
class ReplayComparison:
    """How the replayed node compares with the recorded one."""

    fuses: int = 0
    picture_rows: int = 0
    #: Picture rows whose track number, class, identity or sources differ, or that are
    #: in one picture only.
    rows_differing: int = 0
    #: Largest distance between a replayed and a recorded track position, m.
    max_position_error_m: float = 0.0
    warnings_recorded: int = 0
    warnings_differing: int = 0
    publications: int = 0
    publications_differing: int = 0
    #: The first difference found, in words ("" if none).
    first_difference: str = ""

    def differs(self, what: str) -> None:
        if not self.first_difference:
            self.first_difference = what

    def exact(self, tolerance_m: float = 1.0) -> bool:
        return (
            self.rows_differing == 0
            and self.warnings_differing == 0
            and self.publications_differing == 0
            and self.max_position_error_m <= tolerance_m
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "fuses": self.fuses,
            "picture_rows": self.picture_rows,
            "rows_differing": self.rows_differing,
            "max_position_error_m": self.max_position_error_m,
            "warnings_recorded": self.warnings_recorded,
            "warnings_differing": self.warnings_differing,
            "publications": self.publications,
            "publications_differing": self.publications_differing,
            "first_difference": self.first_difference,
        }


@dataclass
class ReplayResult:
    nation: str
    picture: Table
    warnings: list[Warning]
    comparison: ReplayComparison
    incarnations: list[dict[str, Any]] = field(default_factory=list)
    complete_to_s: float | None = None
    truncated: str = ""


def replay_nation(loaded: LoadedScenario, recording: NationRecording) -> ReplayResult:
    """Re-run each recorded incarnation of the nation's node from its recorded inputs."""
    scenario = loaded.scenario
    nation = recording.nation
    policy = ReleasePolicy.from_scenario(scenario)
    links = scenario_links(scenario)
    network = NetworkSettings()
    comparison = ReplayComparison()
    pictures: list[Table] = []
    warnings: list[Warning] = []
    runs: list[dict[str, Any]] = []
    for inc in recording.incarnations:
        if inc.start is None:
            continue
        bus = ReplayBus()
        keys = (
            Keyring.for_replay(nation, inc.start.partner_keys) if inc.start.partner_keys else None
        )
        node = NationalNode(
            nation,
            scenario,
            policy,
            bus,
            national_assessor(scenario, nation),
            network.node(),
            hold_s=hold_s(policy, links, network, nation),
            first_seq=inc.start.first_seq,
            keys=keys,
        )
        if abs(node.hold_s - inc.start.hold_s) > 1e-9:
            comparison.differs(
                f"incarnation {inc.incarnation}: hold {node.hold_s} s, "
                f"recorded {inc.start.hold_s} s"
            )
        for record in inc.stages:
            now_s = record.time_s
            bus.queue = [
                Envelope(r.sender, nation, r.sent_s, r.arrival_s, r.payload)
                for r in record.received
            ]
            if record.stage == "plots":
                if record.own is not None:
                    node.ingest_own(table_from_wire(record.own))
                node.publish_plots(now_s)
            elif record.stage == "tracks":
                node.receive(now_s)
                node.publish_tracks(now_s)
                node.publish_heartbeats(now_s)
            else:
                node.receive(now_s)
                snapshot = node.fuse(now_s)
                recorded = table_from_wire(record.picture or {})
                _compare_pictures(snapshot.picture, recorded, now_s, comparison)
                _compare_warnings(snapshot.warnings, record.warnings, now_s, comparison)
                pictures.append(snapshot.picture)
                warnings.extend(snapshot.warnings)
            _compare_publications(bus, record, comparison)
        runs.append(
            {
                "incarnation": inc.incarnation,
                "first_cycle": inc.start.first_cycle,
                "stages": len(inc.stages),
                "complete_to_s": inc.complete_to_s(),
                "ended_cleanly": inc.end is not None,
            }
        )
    return ReplayResult(
        nation,
        concat_tables(pictures, PICTURE_SCHEMA),
        warnings,
        comparison,
        runs,
        recording.complete_to_s(),
        recording.truncated,
    )


def _compare_publications(bus: ReplayBus, record: StageRecord, c: ReplayComparison) -> None:
    # A replay signs with a key of its own (it holds no seed): frames compare but for that.
    replayed = [_unsigned(p) for p in bus.published]
    bus.published = []
    recorded = [_unsigned(p) for p in record.published]
    c.publications += len(recorded)
    if replayed == recorded:
        return
    n = max(len(replayed), len(recorded))
    same = sum(1 for a, b in zip(replayed, recorded, strict=False) if a == b)
    c.publications_differing += n - same
    c.differs(
        f"{record.stage} stage at {record.time_s} s: {len(replayed)} publications replayed, "
        f"{len(recorded)} recorded, {same} the same"
    )


def _unsigned(p: Published) -> Published:
    return msgspec.structs.replace(p, payload=frame_without_signature(p.payload))


def _ecef(table: Mapping[str, Any]) -> np.ndarray:
    return np.asarray(
        geodetic_to_ecef(
            np.asarray(table["lat_deg"], dtype=np.float64),
            np.asarray(table["lon_deg"], dtype=np.float64),
            np.asarray(table["alt_m"], dtype=np.float64),
        ),
        dtype=np.float64,
    ).reshape(-1, 3)


def _compare_pictures(replayed: Table, recorded: Table, time_s: float, c: ReplayComparison) -> None:
    c.fuses += 1
    n_rec = len(recorded.get("time_s", ()))
    c.picture_rows += n_rec
    rep_ids = [str(t) for t in replayed["track_id"]]
    rec_ids = [str(t) for t in recorded.get("track_id", ())]
    if rep_ids != rec_ids:
        only = len(set(rep_ids) ^ set(rec_ids))
        c.rows_differing += max(only, 1)
        c.differs(
            f"picture at {time_s} s: tracks {sorted(set(rep_ids) - set(rec_ids))[:5]} replayed "
            f"only, {sorted(set(rec_ids) - set(rep_ids))[:5]} recorded only"
        )
        return
    if not rep_ids:
        return
    for name in ("cls", "identity", "viewer"):
        bad = np.asarray(replayed[name], dtype=object) != np.asarray(recorded[name], dtype=object)
        if bad.any():
            c.rows_differing += int(bad.sum())
            c.differs(f"picture at {time_s} s: {name} differs on {int(bad.sum())} tracks")
    sources_bad = sum(
        1
        for a, b in zip(replayed["sources"], recorded["sources"], strict=True)
        if list(a) != list(b)
    )
    if sources_bad:
        c.rows_differing += sources_bad
        c.differs(f"picture at {time_s} s: sources differ on {sources_bad} tracks")
    error = np.linalg.norm(_ecef(replayed) - _ecef(recorded), axis=1)
    c.max_position_error_m = max(c.max_position_error_m, float(np.nanmax(error)))


def _compare_warnings(
    replayed: list[Warning], recorded: list[Warning], time_s: float, c: ReplayComparison
) -> None:
    c.warnings_recorded += len(recorded)
    if replayed == recorded:
        return
    same = sum(1 for a, b in zip(replayed, recorded, strict=False) if a == b)
    c.warnings_differing += max(len(replayed), len(recorded)) - same
    c.differs(f"warnings at {time_s} s: {len(replayed)} replayed, {len(recorded)} recorded")


# ---------------------------------------------------------------------- export


def recorded_tables(
    recordings: Mapping[str, NationRecording], sensor_nation: Mapping[str, str]
) -> tuple[Table, Table, list[Warning], list[dict[str, Any]]]:
    """plots (each stored report once, though taken twice across a restart), picture
    (time, viewer order), the warnings issued and the threat rows of every nation."""
    plots: list[Table] = []
    pictures: list[Table] = []
    warnings: list[Warning] = []
    threats: list[dict[str, Any]] = []
    for nation, rec in sorted(recordings.items()):
        seen: set[tuple[int, int]] = set()
        for inc in rec.incarnations:
            for record in inc.stages:
                if record.own is not None:
                    own = table_from_wire(record.own)
                    n = len(own["time_s"])
                    seqs = own.get("stream_seq", np.zeros(n, np.int64))
                    rows = own.get("batch_row", np.full(n, -1, np.int64))
                    keep = np.ones(n, dtype=bool)
                    for i, (s, r) in enumerate(zip(seqs.tolist(), rows.tolist(), strict=True)):
                        if s > 0:
                            if (s, r) in seen:
                                keep[i] = False
                            seen.add((s, r))
                    own = {c: v[keep] for c, v in own.items()}
                    own["nation"] = np.asarray(
                        [sensor_nation.get(str(x), nation) for x in own["sensor_id"]], dtype=object
                    )
                    if "target_id" not in own:
                        own["target_id"] = np.full(int(keep.sum()), "", dtype=object)
                    plots.append(own)
                if record.picture is not None:
                    pictures.append(table_from_wire(record.picture))
                warnings.extend(record.warnings)
                threats.extend(json.loads(t) for t in record.threats)
    plot_table = concat_tables(plots, PLOTS_SCHEMA) if plots else empty_table(PLOTS_SCHEMA)
    if len(plot_table["time_s"]):
        order = np.lexsort((plot_table["sensor_id"].astype(str), plot_table["time_s"]))
        plot_table = {c: v[order] for c, v in plot_table.items()}
    picture = concat_tables(pictures, PICTURE_SCHEMA)
    if len(picture["time_s"]):
        order = np.lexsort((picture["viewer"].astype(str), picture["time_s"]))
        picture = {c: v[order] for c, v in picture.items()}
    warnings.sort(key=lambda w: w.time_s)
    threats.sort(key=lambda r: (r.get("time_s", 0.0), r.get("nation", "")))
    return plot_table, picture, warnings, threats


def recording_summary(recordings: Mapping[str, NationRecording]) -> dict[str, Any]:
    """Per nation: its incarnations, how far the recording is complete, and why it ends."""
    return {
        nation: {
            "stream_messages": rec.stream_messages,
            "complete_to_s": rec.complete_to_s(),
            "truncated": rec.truncated,
            "aged_out": rec.aged_out,
            "incarnations": [
                {
                    "incarnation": inc.incarnation,
                    "first_cycle": inc.start.first_cycle if inc.start else None,
                    "stages": len(inc.stages),
                    "complete_to_s": inc.complete_to_s(),
                    "ended_cleanly": inc.end is not None,
                }
                for inc in rec.incarnations
            ],
        }
        for nation, rec in sorted(recordings.items())
    }


def export_tables(
    manifest: Manifest,
    loaded: LoadedScenario,
    recordings: Mapping[str, NationRecording],
    out: Path,
) -> dict[str, Any]:
    """Write the recording as run-output tables under `out`; what was written, in numbers."""
    sensor_nation = {s.id: s.nation for s in loaded.scenario.sensors}
    plots, picture, warnings, threats = recorded_tables(recordings, sensor_nation)
    out.mkdir(parents=True, exist_ok=True)
    write_table(out / "plots.parquet", plots, PLOTS_SCHEMA)
    write_table(out / "picture.parquet", picture, PICTURE_SCHEMA)
    write_warnings(out / "warnings.jsonl", warnings)
    with (out / "threats.jsonl").open("w", encoding="utf-8") as f:
        for row in threats:
            f.write(json.dumps(row, default=str) + "\n")
    for name in ("truth.parquet", "run.json"):
        if (manifest.folder / name).is_file():
            shutil.copyfile(manifest.folder / name, out / name)
    if (manifest.folder / LAYERS_DIR).is_dir():  # the scenario's map layers (an exercise's)
        shutil.copytree(manifest.folder / LAYERS_DIR, out / LAYERS_DIR, dirs_exist_ok=True)
    summary = recording_summary(recordings)
    (out / "network.json").write_text(
        json.dumps({"fusion": "distributed", "recording": summary}, indent=2) + "\n"
    )
    return {
        "plots": len(plots["time_s"]),
        "picture_rows": len(picture["time_s"]),
        "warnings": len(warnings),
        "threats": len(threats),
        "truth": (out / "truth.parquet").is_file(),
        "recording": summary,
    }
