"""`registration.parquet`: each viewer's estimates of its sensors' biases, and their report section.

Rows (ARCHITECTURE.md, "Run output"): `time_s, viewer, sensor_id, quantity,
estimate, sigma` — quantities named as in the scenario's `bias:` block, the
site error by component (`site_enu_m.e`, `.n`, `.u`); `estimate` NaN where the
quantity is not observable from what the viewer holds (its σ is then still given).
`registration_section(table)` draws one plot per sensor: each quantity's estimate
over time with its ±3σ band, normalised by its prior σ so that one axis holds them
all (the first σ of each quantity stands for its prior), and a table of the last
estimates.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa
from matplotlib.figure import Figure

from airpicture.metrics.report import Section, figure_html
from airpicture.tables import Table, read_table, write_table

REGISTRATION_SCHEMA: Final = pa.schema(
    [
        ("time_s", pa.float64()),
        ("viewer", pa.string()),
        ("sensor_id", pa.string()),
        ("quantity", pa.string()),
        ("estimate", pa.float64()),
        ("sigma", pa.float64()),
    ]
)


def write_registration(path: Path, table: Table) -> None:
    write_table(path, table, REGISTRATION_SCHEMA)


def read_registration(path: Path) -> Table:
    return read_table(path, REGISTRATION_SCHEMA)


def registration_section(table: Table) -> Section:
    """The report's "Sensor registration" section: a plot per (viewer, sensor)."""
    n = len(table["time_s"]) if "time_s" in table else 0
    if n == 0:
        return Section(
            "Sensor registration",
            '<p class="note">No registration estimates (registration off, or no '
            "registrable sensor).</p>",
        )
    parts = [
        '<p class="note">Each sensor\'s bias estimates over time, in units of the '
        "quantity's first σ, about its prior (the band is ±3σ); a gap is a quantity "
        "not observable from what the viewer holds. Last values in the table.</p>"
    ]
    viewers = np.asarray(table["viewer"]).astype(str)
    sensors = np.asarray(table["sensor_id"]).astype(str)
    quantities = np.asarray(table["quantity"]).astype(str)
    for viewer in sorted(set(viewers.tolist())):
        for sensor in sorted(set(sensors[viewers == viewer].tolist())):
            rows = (viewers == viewer) & (sensors == sensor)
            figure = Figure(figsize=(8, 2.6))
            ax = figure.add_subplot()
            cells: list[str] = []
            for name in sorted(set(quantities[rows].tolist())):
                sel = np.flatnonzero(rows & (quantities == name))
                t = np.asarray(table["time_s"], dtype=float)[sel] / 60.0
                est = np.asarray(table["estimate"], dtype=float)[sel]
                sig = np.asarray(table["sigma"], dtype=float)[sel]
                prior = float(sig[0]) if sig[0] > 0 else 1.0  # the first σ: about the prior
                (line,) = ax.plot(t, est / prior, label=name)
                ax.fill_between(
                    t, (est - 3 * sig) / prior, (est + 3 * sig) / prior, alpha=0.15,
                    color=line.get_color(),
                )  # fmt: skip
                last = f"{est[-1]:.4g} ± {sig[-1]:.3g}" if math.isfinite(est[-1]) else "—"
                cells.append(f"<tr><td>{html.escape(name)}</td><td>{last}</td></tr>")
            ax.set_xlabel("time since epoch (min)")
            ax.set_ylabel("estimate / prior σ")
            ax.set_title(f"{viewer}: {sensor}", fontsize=9)
            ax.legend(fontsize=7, ncol=4, loc="upper right")
            parts.append(figure_html(figure, f"registration of {sensor} by {viewer}"))
            parts.append(
                "<table><thead><tr><th>quantity</th><th>last estimate ± σ</th></tr></thead>"
                f"<tbody>{''.join(cells)}</tbody></table>"
            )
    return Section("Sensor registration", "".join(parts))
