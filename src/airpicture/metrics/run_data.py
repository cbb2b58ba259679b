"""A run's output folder, loaded as arrays ready for evaluation.

Reads `run.json`, `truth.parquet` and `picture.parquet` (ARCHITECTURE.md, "Run
output"), checks them, puts every row on the snapshot grid
`t_k = k * picture_interval_s`, converts positions and velocities to ECEF, and
computes the *eligible truth* mask: truth row `r` counts for viewer `V` iff

    set(detectable_by[r]) ∩ set(viewers[V]) ≠ ∅

i.e. some sensor whose data `V` may receive could detect the target then.
Problems become `InputError`s that name the file and say how to fix it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from numpy.typing import NDArray

from airpicture.errors import InputError
from airpicture.geo import enu_basis, enu_vector_to_ecef, geodetic_to_ecef
from airpicture.tables import OPTIONAL_COLUMNS, PICTURE_SCHEMA, TRUTH_SCHEMA, Table, read_table

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
ObjectArray = NDArray[np.object_]

#: The truth columns evaluation needs: the contract's columns plus the truth
#: identity (for the ID measures) and the sensors that could detect the target.
TRUTH_EVALUATION_SCHEMA: Final = pa.schema(
    [
        *TRUTH_SCHEMA,
        ("identity", pa.string()),
        ("detectable_by", pa.list_(pa.string())),
    ]
)
#: The viewer whose picture holds every sensor (a centralized run).
ALL_VIEWER: Final = "ALL"
#: Identity strings that mean "no identity declared" (Stone Soup's `None`).
NO_IDENTITY: Final = frozenset({"", "unknown"})
#: Rows whose time is within this fraction of the picture interval of a grid
#: time belong to that snapshot (float noise from `k * dt` versus summed steps).
_GRID_TOLERANCE: Final = 1e-6


@dataclass(frozen=True)
class RunInfo:
    """The parts of `run.json` evaluation uses."""

    scenario: str
    epoch: str
    duration_s: float
    seed: int
    picture_interval_s: float
    fusion: str
    nations: tuple[str, ...]
    sensor_nation: Mapping[str, str]
    sensor_type: Mapping[str, str]
    viewers: Mapping[str, tuple[str, ...]]
    #: The truth is known up to this time (recorded traffic can end before the run):
    #: later snapshots are not judged. Absent from run.json: the whole run.
    truth_until_s: float = math.inf


@dataclass(frozen=True, eq=False)
class TruthRows:
    """Truth, one row per (snapshot, target), sorted by snapshot then target."""

    target_ids: ObjectArray  # (n_targets,) target_id strings
    target_kind: ObjectArray  # (n_targets,) kind of each target (its last row's)
    step: IntArray  # (N,) snapshot index
    target: IntArray  # (N,) index into target_ids
    lat_deg: FloatArray
    lon_deg: FloatArray
    alt_m: FloatArray
    position_ecef_m: FloatArray  # (N, 3)
    velocity_ecef_mps: FloatArray  # (N, 3)
    identity: ObjectArray  # (N,) friend/neutral/hostile/unknown
    eligible: BoolArray  # (N, n_viewers), columns in RunData.viewer_names order

    @property
    def size(self) -> int:
        return int(self.step.size)


@dataclass(frozen=True, eq=False)
class TrackRows:
    """One viewer's picture, one row per (snapshot, track), sorted by snapshot then track."""

    viewer: str
    track_ids: ObjectArray  # (n_tracks,) network track numbers
    step: IntArray
    track: IntArray  # index into track_ids
    lat_deg: FloatArray
    lon_deg: FloatArray
    alt_m: FloatArray
    position_ecef_m: FloatArray
    velocity_ecef_mps: FloatArray
    identity: ObjectArray

    @property
    def size(self) -> int:
        return int(self.step.size)


@dataclass(frozen=True, eq=False)
class RunData:
    """Everything evaluation reads from a run folder."""

    info: RunInfo
    times_s: FloatArray  # (n_steps,) snapshot times, seconds since epoch
    viewer_names: tuple[str, ...]  # evaluated viewers, columns of TruthRows.eligible
    truth: TruthRows
    pictures: Mapping[str, TrackRows]
    notes: tuple[str, ...]  # honest remarks about the input (dropped duplicates, ...)


def load_run(run_dir: Path) -> RunData:
    """Read and check a run folder (see module docstring)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(str(run_dir), ["no such folder; give the --out folder of a run"])
    info = read_run_info(run_dir / "run.json")
    truth_table = read_table(run_dir / "truth.parquet", TRUTH_EVALUATION_SCHEMA)
    picture_table = read_picture(run_dir)
    return build_run_data(info, truth_table, picture_table, source=str(run_dir))


#: The picture files a folder may hold, in the order they are looked for.
PICTURE_FILES: Final = ("picture.parquet", "picture.csv")


def read_picture(run_dir: Path) -> Table:
    """The folder's picture: picture.parquet, else picture.csv (the same columns).

    A CSV picture (another tracker's output) has one row per track and snapshot
    with the columns of ARCHITECTURE.md (docs/architecture.md), "Run output";
    `sources` is text there (sensor ids separated by spaces or `;`). Columns
    beyond those are kept; optional ones may be absent.
    """
    for name in PICTURE_FILES:
        if (run_dir / name).is_file():
            path = run_dir / name
            break
    else:
        raise InputError(
            str(run_dir),
            [
                "holds no picture.parquet or picture.csv; give the folder with the picture "
                "to judge (columns: docs/architecture.md, 'Run output')"
            ],
        )
    if path.suffix == ".parquet":
        return read_table(path, PICTURE_SCHEMA)
    return read_csv_table(path, PICTURE_SCHEMA)


def read_csv_table(path: Path, schema: pa.Schema) -> Table:
    """A CSV file as a run-output table: `schema`'s columns checked and typed like Parquet's."""
    string_columns = {f.name: pa.string() for f in schema if not pa.types.is_floating(f.type)}
    try:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types=string_columns, strings_can_be_null=False
            ),
        )
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputError(str(path), [f"not a readable CSV file ({exc})"]) from None
    missing = [
        f.name
        for f in schema
        if f.name not in table.column_names and f.name not in OPTIONAL_COLUMNS
    ]
    if missing:
        raise InputError(
            str(path),
            [
                f"columns {missing} are missing; see docs/architecture.md, 'Run output', for "
                "the columns a picture must have"
            ],
        )
    out: Table = {}
    for f in schema:
        if f.name not in table.column_names:
            continue
        column = table.column(f.name)
        if pa.types.is_floating(f.type):
            try:
                out[f.name] = np.asarray(
                    column.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
                )
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise InputError(str(path), [f"column {f.name!r} is not numeric ({exc})"]) from None
        elif pa.types.is_list(f.type):
            texts = column.fill_null("").to_pylist()
            values = np.empty(len(texts), dtype=np.object_)
            values[:] = [[x for x in str(t).replace(";", " ").split() if x] for t in texts]
            out[f.name] = values
        else:
            out[f.name] = np.asarray(column.fill_null("").to_pylist(), dtype=np.object_)
    n = table.num_rows
    for f in schema:
        if f.name not in out:  # an optional column the file does not have
            out[f.name] = (
                np.full(n, np.nan) if pa.types.is_floating(f.type) else np.full(n, "", dtype=object)
            )
    return out


def read_run_info(path: Path) -> RunInfo:
    """Parse and check `run.json`."""
    if not path.is_file():
        raise InputError(str(path), ["no such file; run `airpicture simulate` or `run` to make it"])
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(str(path), [f"not readable JSON ({exc})"]) from exc
    if not isinstance(raw, dict):
        raise InputError(str(path), ["must hold a JSON object"])
    return parse_run_info(raw, str(path))


def parse_run_info(raw: Mapping[str, Any], source: str) -> RunInfo:
    """Check the fields of a `run.json` object; every problem is listed at once."""
    problems: list[str] = []

    def field(name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        value = raw.get(name, default)
        if value is None or not isinstance(value, kind) or isinstance(value, bool):
            problems.append(f"field {name!r} is missing or not a {getattr(kind, '__name__', kind)}")
            return default
        return value

    interval = field("picture_interval_s", (int, float), 0.0)
    duration = field("duration_s", (int, float), 0.0)
    if isinstance(interval, int | float) and not (math.isfinite(interval) and interval > 0):
        problems.append("field 'picture_interval_s' must be a positive number of seconds")
    nations = field("nations", list, [])
    sensors = field("sensors", dict, {})
    viewers = field("viewers", dict, {})
    sensor_nation: dict[str, str] = {}
    sensor_type: dict[str, str] = {}
    for sensor_id, spec in sensors.items():
        if not isinstance(spec, dict):
            problems.append(f"sensors[{sensor_id!r}] must be an object with 'nation' and 'type'")
            continue
        sensor_nation[str(sensor_id)] = str(spec.get("nation", ""))
        sensor_type[str(sensor_id)] = str(spec.get("type", ""))
    viewer_sensors: dict[str, tuple[str, ...]] = {}
    for viewer, ids in viewers.items():
        if not isinstance(ids, list) or not all(isinstance(s, str) for s in ids):
            problems.append(f"viewers[{viewer!r}] must be a list of sensor ids")
            continue
        viewer_sensors[str(viewer)] = tuple(ids)
    missing_viewers = [n for n in nations if n not in viewer_sensors]
    if missing_viewers:
        problems.append(f"'viewers' has no entry for nations {missing_viewers}")
    truth_until = raw.get("truth_until_s", math.inf)
    if not isinstance(truth_until, int | float) or isinstance(truth_until, bool):
        problems.append("field 'truth_until_s' must be a number of seconds")
        truth_until = math.inf
    if problems:
        raise InputError(source, problems)
    return RunInfo(
        scenario=str(raw.get("scenario", "")),
        epoch=str(raw.get("epoch", "")),
        duration_s=float(duration),
        seed=int(raw.get("seed", 0) or 0),
        picture_interval_s=float(interval),
        fusion=str(raw.get("fusion", "")),
        nations=tuple(str(n) for n in nations),
        sensor_nation=sensor_nation,
        sensor_type=sensor_type,
        viewers=viewer_sensors,
        truth_until_s=float(truth_until),
    )


def _grid_steps(time_s: FloatArray, interval_s: float, source: str) -> IntArray:
    """Snapshot index of each row; rows off the `k * interval_s` grid are an input error."""
    if time_s.size == 0:
        return np.empty(0, dtype=np.int64)
    if not np.all(np.isfinite(time_s)):
        raise InputError(source, ["column 'time_s' has missing or non-finite values"])
    steps_f = np.rint(time_s / interval_s)
    off_grid = np.abs(time_s - steps_f * interval_s) > _GRID_TOLERANCE * max(interval_s, 1.0)
    off_grid |= steps_f < 0
    if np.any(off_grid):
        bad = np.unique(time_s[off_grid])[:5].tolist()
        raise InputError(
            source,
            [
                f"{int(off_grid.sum())} rows have times off the snapshot grid k × "
                f"picture_interval_s = k × {interval_s:g} s (for example {bad}); truth and "
                "picture must be sampled at the same times as run.json says"
            ],
        )
    return steps_f.astype(np.int64)


def _ecef_state(columns: Mapping[str, NDArray[np.generic]]) -> tuple[FloatArray, FloatArray]:
    """ECEF position `(N, 3)` and velocity `(N, 3)` from the geodetic and ENU-velocity columns."""

    def f(name: str) -> FloatArray:
        return np.asarray(columns[name], dtype=np.float64)

    position = geodetic_to_ecef(f("lat_deg"), f("lon_deg"), f("alt_m")).reshape(-1, 3)
    basis = enu_basis(f("lat_deg"), f("lon_deg")).reshape(-1, 3, 3)
    enu = np.stack([f("vel_e_mps"), f("vel_n_mps"), f("vel_u_mps")], axis=-1)
    velocity = enu_vector_to_ecef(enu, basis).reshape(-1, 3)
    return position, velocity


def _drop_non_finite(
    table: Table, columns: tuple[str, ...], source: str, notes: list[str]
) -> Table:
    """Rows without a full finite position and velocity cannot be measured: drop them, say so."""
    bad = np.zeros(len(table[columns[0]]), dtype=bool)
    for name in columns:
        bad |= ~np.isfinite(np.asarray(table[name], dtype=np.float64))
    if not np.any(bad):
        return table
    first = int(np.flatnonzero(bad)[0])
    id_column = "target_id" if "target_id" in table else "track_id"
    notes.append(
        f"{source}: {int(bad.sum())} rows with a missing or non-finite position or velocity "
        f"were left out (first: row {first}, {id_column} {table[id_column][first]!s}, "
        f"time_s {float(table['time_s'][first]):g})"
    )
    return {name: np.asarray(values)[~bad] for name, values in table.items()}


def _sort_and_dedupe(step: IntArray, entity: IntArray) -> tuple[IntArray, int]:
    """Row order by (step, entity); of rows sharing a key keep the last one in file order.

    Stone Soup's `last_timestamp_generator` likewise uses a track's last state at
    a timestamp.
    """
    order = np.lexsort((np.arange(step.size), entity, step))
    s, e = step[order], entity[order]
    last = np.ones(order.size, dtype=bool)
    last[:-1] = (s[1:] != s[:-1]) | (e[1:] != e[:-1])
    return order[last], int(order.size - last.sum())


def _eligibility(
    detectable_by: NDArray[np.generic],
    viewer_names: tuple[str, ...],
    viewers: Mapping[str, tuple[str, ...]],
) -> BoolArray:
    """`(N, n_viewers)`: does some sensor in `detectable_by[r]` feed viewer `v`?"""
    n_rows = detectable_by.size
    lengths = np.fromiter((len(v) for v in detectable_by), dtype=np.int64, count=n_rows)
    flat = np.asarray(list(chain.from_iterable(detectable_by)), dtype=np.object_)
    eligible = np.zeros((n_rows, len(viewer_names)), dtype=bool)
    if flat.size == 0:
        return eligible
    sensor_names, sensor_index = np.unique(flat.astype(str), return_inverse=True)
    # feeds[s, v]: sensor s's data reaches viewer v
    feeds = np.zeros((sensor_names.size, len(viewer_names)), dtype=bool)
    position = {name: i for i, name in enumerate(sensor_names.tolist())}
    for v, viewer in enumerate(viewer_names):
        for sensor_id in viewers.get(viewer, ()):
            if sensor_id in position:
                feeds[position[sensor_id], v] = True
    row_of_flat = np.repeat(np.arange(n_rows), lengths)
    hits = feeds[sensor_index]  # (n_flat, n_viewers)
    np.logical_or.at(eligible, row_of_flat, hits)
    return eligible


def _viewers_to_evaluate(info: RunInfo, picture_viewers: list[str], source: str) -> tuple[str, ...]:
    unknown = [v for v in picture_viewers if v not in info.viewers]
    if unknown:
        raise InputError(
            source,
            [
                f"the picture has viewers {unknown} that the run's viewers (run.json, or the "
                "scenario's nations and ALL) do not list; without their sensor list their "
                "eligible truths are unknown: name each picture's viewer a nation of the "
                "scenario, or ALL for one picture fed by every sensor"
            ],
        )
    # Every nation always has a picture to judge in a distributed run (an empty
    # one is an honest all-missed result); ALL is judged when it has a picture
    # or the run is centralized.
    wanted = list(info.nations) if info.fusion != "centralized" else []
    if info.fusion == "centralized" and ALL_VIEWER in info.viewers:
        wanted.append(ALL_VIEWER)
    wanted += [v for v in picture_viewers if v not in wanted]
    if not wanted:
        wanted = [v for v in info.viewers if v != ALL_VIEWER] or list(info.viewers)
    return tuple(wanted)


def _before(truth: Table, picture: Table, until_s: float) -> tuple[Table, Table, int]:
    """Truth and picture rows up to `until_s`, and how many snapshot times were cut."""
    t_truth = np.asarray(truth["time_s"], dtype=np.float64)
    t_pic = np.asarray(picture["time_s"], dtype=np.float64)
    limit = until_s + 1e-6
    cut = np.unique(np.concatenate([t_truth[t_truth > limit], t_pic[t_pic > limit]])).size
    return (
        {k: np.asarray(v)[t_truth <= limit] for k, v in truth.items()},
        {k: np.asarray(v)[t_pic <= limit] for k, v in picture.items()},
        int(cut),
    )


def build_run_data(info: RunInfo, truth: Table, picture: Table, source: str) -> RunData:
    """Turn the three inputs into evaluation arrays (see module docstring)."""
    notes: list[str] = []
    truth_src = f"{source}/truth.parquet"
    picture_src = f"{source}/picture.parquet"
    dt = info.picture_interval_s

    if math.isfinite(info.truth_until_s):
        truth, picture, n_after = _before(truth, picture, info.truth_until_s)
        if n_after:
            notes.append(
                f"{n_after} snapshot(s) after {info.truth_until_s:.1f} s are not judged: the "
                "truth is known only until then (the recorded traffic ends)"
            )
    kinematic = ("lat_deg", "lon_deg", "alt_m", "vel_e_mps", "vel_n_mps", "vel_u_mps")
    truth = _drop_non_finite(truth, kinematic, truth_src, notes)
    picture = _drop_non_finite(picture, kinematic, picture_src, notes)
    truth_step_all = _grid_steps(np.asarray(truth["time_s"], dtype=np.float64), dt, truth_src)
    picture_step_all = _grid_steps(np.asarray(picture["time_s"], dtype=np.float64), dt, picture_src)

    judged_s = min(info.duration_s, info.truth_until_s)
    n_steps = math.floor(judged_s / dt + 1e-9) + 1 if judged_s >= 0 else 1
    for steps in (truth_step_all, picture_step_all):
        if steps.size:
            n_steps = max(n_steps, int(steps.max()) + 1)
    times_s = np.arange(n_steps, dtype=np.float64) * dt

    picture_viewers = sorted({str(v) for v in picture["viewer"]})
    viewer_names = _viewers_to_evaluate(info, picture_viewers, picture_src)

    target_names, target_all = np.unique(truth["target_id"].astype(str), return_inverse=True)
    keep, dropped = _sort_and_dedupe(truth_step_all, target_all.astype(np.int64))
    if dropped:
        notes.append(f"truth.parquet: {dropped} duplicate (time, target) rows; the last was used")
    t = {name: np.asarray(values)[keep] for name, values in truth.items()}
    position, velocity = _ecef_state(t)
    target = target_all.astype(np.int64)[keep]
    kind = np.empty(target_names.size, dtype=np.object_)
    kind[target] = t["kind"]
    truth_rows = TruthRows(
        target_ids=target_names.astype(np.object_),
        target_kind=kind,
        step=truth_step_all[keep],
        target=target,
        lat_deg=t["lat_deg"].astype(np.float64),
        lon_deg=t["lon_deg"].astype(np.float64),
        alt_m=t["alt_m"].astype(np.float64),
        position_ecef_m=position,
        velocity_ecef_mps=velocity,
        identity=np.asarray([str(v) for v in t["identity"]], dtype=np.object_),
        eligible=_eligibility(t["detectable_by"], viewer_names, info.viewers),
    )

    pictures: dict[str, TrackRows] = {}
    viewer_col = np.asarray([str(v) for v in picture["viewer"]], dtype=np.object_)
    for viewer in viewer_names:
        mask = viewer_col == viewer
        rows = {name: np.asarray(values)[mask] for name, values in picture.items()}
        steps = picture_step_all[mask]
        ids, track_all = np.unique(rows["track_id"].astype(str), return_inverse=True)
        keep_p, dropped_p = _sort_and_dedupe(steps, track_all.astype(np.int64))
        if dropped_p:
            notes.append(
                f"picture.parquet: viewer {viewer} has {dropped_p} duplicate (time, track_id) "
                "rows; the last was used"
            )
        r = {name: values[keep_p] for name, values in rows.items()}
        pos, vel = _ecef_state(r)
        pictures[viewer] = TrackRows(
            viewer=viewer,
            track_ids=ids.astype(np.object_),
            step=steps[keep_p],
            track=track_all.astype(np.int64)[keep_p],
            lat_deg=r["lat_deg"].astype(np.float64),
            lon_deg=r["lon_deg"].astype(np.float64),
            alt_m=r["alt_m"].astype(np.float64),
            position_ecef_m=pos,
            velocity_ecef_mps=vel,
            identity=np.asarray([str(v) for v in r["identity"]], dtype=np.object_),
        )
        if pictures[viewer].size == 0:
            notes.append(f"viewer {viewer} has no tracks in picture.parquet")
    if truth_rows.size == 0:
        notes.append("truth.parquet has no rows: truth-side measures are undefined")
    return RunData(
        info=info,
        times_s=times_s,
        viewer_names=viewer_names,
        truth=truth_rows,
        pictures=pictures,
        notes=tuple(notes),
    )
