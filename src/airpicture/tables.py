"""The run-output tables (`truth`, `plots`, `picture`): their columns, and Parquet I/O.

These are the contracts of ARCHITECTURE.md, "Run output". Every part that writes
or reads one of these files goes through this module, so that a column is named,
typed and checked in one place. Tables are plain `dict[str, numpy array]`
(column-wise, no DataFrame dependency in the numeric core).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.typing import NDArray

Table = dict[str, NDArray[np.generic]]


def kinematic_columns(
    lat_deg: NDArray[np.float64],
    lon_deg: NDArray[np.float64],
    alt_m: NDArray[np.float64],
    vel_enu_mps: NDArray[np.float64],
) -> Table:
    """The position and velocity columns of truth and picture rows, from geodetic
    positions `(N,)` and local east-north-up velocities `(N, 3)`."""
    return {
        "lat_deg": lat_deg,
        "lon_deg": lon_deg,
        "alt_m": alt_m,
        "vel_e_mps": vel_enu_mps[:, 0],
        "vel_n_mps": vel_enu_mps[:, 1],
        "vel_u_mps": vel_enu_mps[:, 2],
    }


TRUTH_SCHEMA: Final = pa.schema(
    [
        ("time_s", pa.float64()),
        ("target_id", pa.string()),
        ("kind", pa.string()),
        ("lat_deg", pa.float64()),
        ("lon_deg", pa.float64()),
        ("alt_m", pa.float64()),
        ("vel_e_mps", pa.float64()),
        ("vel_n_mps", pa.float64()),
        ("vel_u_mps", pa.float64()),
    ]
)

PLOTS_SCHEMA: Final = pa.schema(
    [
        ("time_s", pa.float64()),
        ("sensor_id", pa.string()),
        ("nation", pa.string()),
        ("range_m", pa.float64()),
        ("az_deg", pa.float64()),
        ("el_deg", pa.float64()),
        ("range_rate_mps", pa.float64()),
        ("lat_deg", pa.float64()),
        ("lon_deg", pa.float64()),
        ("alt_m", pa.float64()),
        ("ident", pa.string()),
        # Mode C (barometric) altitude of a 2D / secondary radar's report, metres of
        # pressure altitude (not geometric: see geo/atmosphere.py); NaN where absent.
        ("pressure_alt_m", pa.float64()),
        # Mode 3/A code of a secondary radar's report (4 octal digits), "" where absent.
        ("mode3a", pa.string()),
        ("target_id", pa.string()),
    ]
)

PICTURE_SCHEMA: Final = pa.schema(
    [
        ("time_s", pa.float64()),
        ("viewer", pa.string()),
        ("track_id", pa.string()),
        ("lat_deg", pa.float64()),
        ("lon_deg", pa.float64()),
        ("alt_m", pa.float64()),
        ("vel_e_mps", pa.float64()),
        ("vel_n_mps", pa.float64()),
        ("vel_u_mps", pa.float64()),
        ("cls", pa.string()),
        ("identity", pa.string()),
        ("sources", pa.list_(pa.string())),
        # What CAT062 and Cursor-on-Target carry beyond the kinematics (issue 14). All are
        # optional on read: a picture without them (an older file, another tracker's)
        # reads them as NaN / "" and is evaluated as before.
        # 1σ position error in the track's local east, north, up (m), from its covariance.
        ("sigma_e_m", pa.float64()),
        ("sigma_n_m", pa.float64()),
        ("sigma_u_m", pa.float64()),
        # Identification the tracks hold: a callsign, or a Mode S address (6 lower-case hex
        # digits); "" when none.
        ("ident", pa.string()),
        # Mode 3/A code, 4 octal digits ("7000"); "" when none.
        ("mode3a", pa.string()),
        # Mode C: pressure altitude of the last report that had one (m, standard
        # atmosphere; not geometric); NaN when none.
        ("pressure_alt_m", pa.float64()),
        # Seconds from the track's last update to `time_s`: by any sensor, and by each
        # kind CAT062 I290 names: a primary / 3D radar (psr), a secondary / 2D radar (ssr),
        # ADS-B (ads). NaN where the tracker does not say or no such sensor updated it.
        ("update_age_s", pa.float64()),
        ("psr_age_s", pa.float64()),
        ("ssr_age_s", pa.float64()),
        ("ads_age_s", pa.float64()),
    ]
)

#: The picture columns a picture may lack (PICTURE_SCHEMA's after `sources`).
PICTURE_OPTIONAL_COLUMNS: Final = frozenset(
    PICTURE_SCHEMA.names[PICTURE_SCHEMA.names.index("sources") + 1 :]
)

#: Columns added after files were first written: a file without one reads as all NaN
#: (float columns) or "" (string columns) instead of failing, so older run outputs
#: and other trackers' pictures stay readable.
OPTIONAL_COLUMNS: Final = frozenset({"pressure_alt_m", "mode3a"}) | PICTURE_OPTIONAL_COLUMNS


class TableError(ValueError):
    """A run-output file is missing, unreadable or lacks a required column."""

    def __init__(self, path: Path, problem: str, fix: str) -> None:
        self.path = path
        self.problem = problem
        self.fix = fix
        super().__init__(f"{path}: {problem}. {fix}")


def empty_table(schema: pa.Schema) -> Table:
    """A table with every column of `schema` and no rows."""
    return {field.name: np.empty(0, dtype=_numpy_dtype(field.type)) for field in schema}


def _numpy_dtype(arrow_type: pa.DataType) -> type[np.generic]:
    return np.float64 if pa.types.is_floating(arrow_type) else np.object_


def write_table(path: Path, columns: Mapping[str, NDArray[np.generic]], schema: pa.Schema) -> None:
    """Write `columns` to Parquet with exactly `schema`'s columns, in its order.

    A name the schema repeats is written once, at its first place (a schema extending
    PLOTS_SCHEMA may still list a column PLOTS_SCHEMA has since gained); an optional
    column (`OPTIONAL_COLUMNS`) the caller does not give is written as NaN.
    """
    first: dict[str, pa.Field] = {}
    for f in schema:
        first.setdefault(f.name, f)
    schema = pa.schema(list(first.values()), metadata=schema.metadata)
    missing = [f.name for f in schema if f.name not in columns and f.name not in OPTIONAL_COLUMNS]
    if missing:
        raise ValueError(f"cannot write {path.name}: columns {missing} are missing")
    n = len(next(iter(columns.values()))) if columns else 0
    columns = {
        **{f.name: _absent(f.type, n) for f in schema if f.name in OPTIONAL_COLUMNS},
        **columns,
    }
    arrays = []
    for field in schema:
        values = columns[field.name]
        if pa.types.is_string(field.type):
            arrays.append(pa.array([None if v is None else str(v) for v in values], field.type))
        elif pa.types.is_list(field.type):
            arrays.append(pa.array([list(v) for v in values], field.type))
        else:
            arrays.append(pa.array(np.asarray(values, dtype=np.float64), field.type))
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), path, compression="zstd")


def read_table(path: Path, schema: pa.Schema) -> Table:
    """Read a run-output file, checking that every column of `schema` is there.

    Extra columns are kept (a newer writer may add some); float columns come back
    as float64 with NaN for nulls, strings as object arrays with "" for nulls,
    lists as object arrays of lists.
    """
    if not path.is_file():
        raise TableError(path, "no such file", "Run `airpicture simulate` (or `run`) to make it.")
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise TableError(
            path, f"not a readable Parquet file ({exc})", "Re-create the file."
        ) from exc
    missing = [
        f.name
        for f in schema
        if f.name not in table.column_names and f.name not in OPTIONAL_COLUMNS
    ]
    if missing:
        raise TableError(
            path,
            f"columns {missing} are missing",
            "See ARCHITECTURE.md, 'Run output', for the columns each file must have.",
        )
    out: Table = {}
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
            out[name] = column.to_numpy(zero_copy_only=False).astype(np.float64)
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            values = column.fill_null("").to_numpy(zero_copy_only=False)
            out[name] = np.asarray(values, dtype=np.object_)
        else:
            pylist = column.to_pylist()
            out[name] = np.empty(len(pylist), dtype=np.object_)
            out[name][:] = [[] if v is None else v for v in pylist]
    for field in schema:
        if field.name not in out:  # an optional column an older writer did not have
            out[field.name] = _absent(field.type, table.num_rows)
    return out


def _absent(arrow_type: pa.DataType, n: int) -> NDArray[np.generic]:
    """An optional column a table lacks: NaN (numbers) or "" (strings), n rows."""
    if pa.types.is_floating(arrow_type):
        return np.full(n, np.nan)
    return np.full(n, "", dtype=np.object_)


def take_rows(table: Mapping[str, NDArray[np.generic]], index: NDArray[np.generic]) -> Table:
    """The rows `index` (an integer index or a boolean mask) of every column."""
    return {name: values[index] for name, values in table.items()}


def concat_tables(tables: list[Table], schema: pa.Schema) -> Table:
    """Concatenate tables column by column (an empty list gives an empty table)."""
    if not tables:
        return empty_table(schema)
    return {
        f.name: np.concatenate(
            [
                t[f.name]
                if f.name in t or f.name not in OPTIONAL_COLUMNS
                # a table made without an optional column (another tracker's rows)
                else _absent(f.type, len(next(iter(t.values()))))
                for t in tables
            ]
        )
        for f in schema
    }


def json_default(value: object) -> object:
    """`json.dumps(..., default=json_default)` for the run's JSON outputs (warnings,
    threats, network.json, a node's stats): numpy scalars and arrays as their Python
    values, anything else JSON cannot hold as its text."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def mode3a_column(values: NDArray[np.generic] | None, n: int) -> NDArray[np.str_]:
    """A plots table's `mode3a` as 4-character strings: each value that is a Mode 3/A code
    (4 octal digits) as it is, anything else (absent, NaN, "") as ""; all "" when the
    table has no such column (`values` None)."""
    if values is None:
        return np.full(n, "", dtype="U4")
    # As text, at most 5 characters (a NaN reads "nan"; anything longer is not a code).
    text = np.asarray(values, dtype=object).astype("U5")
    ok = (np.char.str_len(text) == 4) & np.char.isdigit(text)
    ok &= ~np.char.count(text, "8").astype(bool) & ~np.char.count(text, "9").astype(bool)
    return np.where(ok, text, "").astype("U4")
