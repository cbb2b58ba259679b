"""Mode C `pressure_alt_m` in the plots table and on the wire; older files and senders lack it."""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from airpicture.network.messages import (
    PlotBatch,
    decode,
    encode,
    plot_batch_from_table,
    plots_table,
)
from airpicture.tables import PLOTS_SCHEMA, Table, read_table, write_table


def _plots() -> Table:
    n = 3
    table: Table = {f.name: np.full(n, np.nan) for f in PLOTS_SCHEMA}
    table["time_s"] = np.array([1.0, 2.0, 3.0])
    for name, value in {"sensor_id": "s", "nation": "UK", "ident": "", "target_id": "t"}.items():
        table[name] = np.full(n, value, dtype=np.object_)
    table["range_m"] = np.array([1e4, 2e4, 3e4])
    table["az_deg"] = np.array([10.0, 20.0, 30.0])
    table["pressure_alt_m"] = np.array([3048.0, np.nan, 9144.0])
    return table


def test_plots_table_round_trips_pressure_altitude(tmp_path: Path) -> None:
    path = tmp_path / "plots.parquet"
    write_table(path, _plots(), PLOTS_SCHEMA)
    back = read_table(path, PLOTS_SCHEMA)
    assert back["pressure_alt_m"][0] == 3048.0
    assert np.isnan(back["pressure_alt_m"][1])
    assert back["pressure_alt_m"][2] == 9144.0


def test_an_older_plots_file_without_the_column_reads_as_nan(tmp_path: Path) -> None:
    path = tmp_path / "plots.parquet"
    write_table(path, _plots(), PLOTS_SCHEMA)
    old = pq.read_table(path).drop_columns(["pressure_alt_m"])
    pq.write_table(old, path)
    back = read_table(path, PLOTS_SCHEMA)
    assert back["pressure_alt_m"].dtype == np.float64
    assert back["pressure_alt_m"].shape == (3,)
    assert np.isnan(back["pressure_alt_m"]).all()
    assert back["range_m"].tolist() == [1e4, 2e4, 3e4]


def test_a_schema_repeating_the_column_writes_it_once(tmp_path: Path) -> None:
    path = tmp_path / "plots.parquet"
    schema = pa.schema([*PLOTS_SCHEMA, pa.field("pressure_alt_m", pa.float64())])
    write_table(path, _plots(), schema)
    assert pq.read_table(path).column_names.count("pressure_alt_m") == 1


def _batch() -> PlotBatch:
    return plot_batch_from_table(_plots(), sender="UK", seq=1, sent_s=4.0, releasable_to={})


def test_the_plot_batch_carries_pressure_altitude() -> None:
    message = decode(encode(_batch()))
    assert isinstance(message, PlotBatch)
    back = plots_table(message)
    assert back["pressure_alt_m"][0] == 3048.0
    assert np.isnan(back["pressure_alt_m"][1])


def test_an_older_senders_batch_without_it_decodes_to_nan() -> None:
    wire = msgspec.msgpack.decode(encode(_batch()))
    del wire["pressure_alt_m"]
    message = decode(msgspec.msgpack.encode(wire))
    assert isinstance(message, PlotBatch)
    back = plots_table(message)
    assert np.isnan(back["pressure_alt_m"]).all()
    assert back["range_m"].tolist() == [1e4, 2e4, 3e4]


def test_a_writer_that_does_not_know_the_column_writes_nan(tmp_path: Path) -> None:
    path = tmp_path / "plots.parquet"
    old = {k: v for k, v in _plots().items() if k != "pressure_alt_m"}
    write_table(path, old, PLOTS_SCHEMA)
    assert np.isnan(read_table(path, PLOTS_SCHEMA)["pressure_alt_m"]).all()


def test_rows_without_the_column_send_nan() -> None:
    rows = {k: v for k, v in _plots().items() if k != "pressure_alt_m"}
    batch = plot_batch_from_table(rows, sender="UK", seq=1, sent_s=4.0, releasable_to={})
    assert np.isnan(plots_table(batch)["pressure_alt_m"]).all()
