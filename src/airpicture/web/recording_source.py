"""A `PictureSource` over a recording: one nation's recorded picture, for the web page's
replay (`airpicture serve RECORDING_DIR --nation JPN`, cli/serve.py).

The recording (`network/recording.py`) is read once, at construction (call it before
the server's event loop starts: reading runs its own loop), and that nation's recorded
pictures and the warnings on its picture — the ones its node issued to it, and the
partners' it took — are written as a run folder in `work_dir`, which `RunFolderSource`
replays with the page's existing time controls (pause, speed, jump, the scrubber over
the whole recording). The page's sign-in rules do not change: the picture's only
viewer is that nation, so only its accounts (and ALL's, if any) may sign in. A
recording cut short replays to where it is complete (`truncated`, `complete_to_s`;
`serve` says so).
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Literal

from airpicture.errors import InputError
from airpicture.network.recording import read_manifest, read_recording, table_from_wire
from airpicture.scenario import LAYERS_DIR
from airpicture.tables import PICTURE_SCHEMA, Table, concat_tables, write_table
from airpicture.threat.warning import Warning, write_warnings
from airpicture.web.sources import PictureFrame, RunFolderSource, RunInfo


class RecordingSource:
    """One nation's recorded picture and warnings, replayed (a `PictureSource`)."""

    def __init__(self, recording_dir: Path, nation: str, work_dir: Path) -> None:
        manifest = read_manifest(recording_dir)
        if nation not in manifest.nations:
            raise InputError(
                str(recording_dir),
                [f"{nation!r} is not recorded here; it has {', '.join(manifest.nations)}"],
            )
        recording = asyncio.run(read_recording(manifest, [nation]))[nation]
        pictures: list[Table] = []
        warnings: list[Warning] = []
        for inc in recording.incarnations:
            for record in inc.stages:
                if record.picture is not None:
                    pictures.append(table_from_wire(record.picture))
                warnings.extend(w for w in record.warnings if nation in w.recipients)
                warnings.extend(record.received_warnings)
        if not pictures:
            raise InputError(str(recording_dir), [f"no recorded picture of {nation}"])
        work_dir.mkdir(parents=True, exist_ok=True)
        write_table(
            work_dir / "picture.parquet", concat_tables(pictures, PICTURE_SCHEMA), PICTURE_SCHEMA
        )
        warnings.sort(key=lambda w: w.time_s)
        write_warnings(work_dir / "warnings.jsonl", warnings)
        if not (manifest.folder / "run.json").is_file():
            raise InputError(
                str(manifest.folder / "run.json"),
                ["the recording lacks run.json (an exercise copies it there)"],
            )
        shutil.copyfile(manifest.folder / "run.json", work_dir / "run.json")
        if (manifest.folder / LAYERS_DIR).is_dir():
            shutil.copytree(manifest.folder / LAYERS_DIR, work_dir / LAYERS_DIR, dirs_exist_ok=True)
        self.nation = nation
        self.truncated = recording.truncated
        self.complete_to_s = recording.complete_to_s()
        self._inner = RunFolderSource(work_dir, manifest.scenario)

    @property
    def mode(self) -> Literal["replay"]:
        return "replay"

    @property
    def info(self) -> RunInfo:
        return self._inner.info

    def advance(self, to_time_s: float) -> list[PictureFrame]:
        return self._inner.advance(to_time_s)
