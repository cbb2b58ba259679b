"""registration.parquet round trip and the report's registration section."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from airpicture.metrics.registration import (
    read_registration,
    registration_section,
    write_registration,
)


def _table() -> dict[str, np.ndarray]:
    t = np.repeat([30.0, 60.0], 2)
    return {
        "time_s": t,
        "viewer": np.array(["JPN"] * 4, dtype=object),
        "sensor_id": np.array(["R1"] * 4, dtype=object),
        "quantity": np.array(["az_deg", "range_m"] * 2, dtype=object),
        "estimate": np.array([0.19, np.nan, 0.2, 151.0]),
        "sigma": np.array([0.02, 200.0, 0.01, 5.0]),
    }


def test_registration_parquet_round_trips(tmp_path: Path) -> None:
    table = _table()
    write_registration(tmp_path / "registration.parquet", table)
    back = read_registration(tmp_path / "registration.parquet")
    for column, values in table.items():
        if values.dtype.kind == "f":
            np.testing.assert_array_equal(back[column], values)
        else:
            assert back[column].tolist() == values.tolist()


def test_the_section_has_a_plot_per_sensor_and_the_last_estimates() -> None:
    section = registration_section(_table())
    assert section.title == "Sensor registration"
    assert section.body_html.count("<img") == 1
    assert "0.2 ± 0.01" in section.body_html and "151 ± 5" in section.body_html
    empty = registration_section({c: v[:0] for c, v in _table().items()})
    assert "No registration estimates" in empty.body_html
