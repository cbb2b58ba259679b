"""The self-contained `report.html`: sections of HTML with plots embedded as PNG.

A report is a list of `Section`s written by `write_report(path, sections)`; the
picture-quality sections come from `quality_sections(evaluation)`, and later
parts (warnings, threat) append their own sections to the same list. Plots are
drawn with matplotlib's object API (no pyplot global state) and embedded as
base64 data URIs, so the file opens anywhere without network access.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from numpy.typing import NDArray

from airpicture.atlas import land_rings
from airpicture.errors import InputError
from airpicture.metrics.evaluation import Evaluation, first_times, gospa_per_target_m
from airpicture.metrics.siap import SIAP_MEASURES

FloatArray = NDArray[np.float64]

#: At most this many targets are drawn in the timeline figure (the table lists all).
TIMELINE_FIGURE_TARGETS: Final = 60
_COLOURS: Final = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")
_CSS: Final = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}thead th{background:#f3f3f3}
img{max-width:100%;height:auto}.note{color:#555;font-size:.9em}
nav a{margin-right:1em}
"""


@dataclass(frozen=True)
class Section:
    """One part of the report: a title and a fragment of trusted HTML."""

    title: str
    body_html: str
    anchor: str = ""

    def id(self) -> str:
        return self.anchor or "".join(c if c.isalnum() else "-" for c in self.title.lower())


def write_report(path: Path, sections: Sequence[Section], title: str) -> None:
    """Write `sections` as one self-contained HTML file at `path`."""
    made = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    nav = " ".join(f'<a href="#{s.id()}">{html.escape(s.title)}</a>' for s in sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">Written by airpicture on {made}.</p><nav>{nav}</nav>',
    ]
    for s in sections:
        parts.append(
            f'<section id="{s.id()}"><h2>{html.escape(s.title)}</h2>{s.body_html}</section>'
        )
    parts.append("</body></html>")
    Path(path).write_text("\n".join(parts), encoding="utf-8")


def figure_html(figure: Figure, alt: str) -> str:
    """A matplotlib figure as an `<img>` with an embedded PNG."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def utc_times(epoch: str, seconds: FloatArray | Sequence[float]) -> NDArray[np.datetime64]:
    """Seconds since the scenario epoch → UTC instants (numpy datetime64, ms) for time axes.

    An epoch that does not parse (a foreign run without one) counts from 1970-01-01:
    the axis still reads in clock time, only the date is wrong, and the label says so.
    """
    base = _epoch64(epoch)
    ms = np.rint(np.asarray(seconds, dtype=np.float64) * 1000.0).astype(np.int64)
    return base + ms.astype("timedelta64[ms]")


def _epoch64(epoch: str) -> np.datetime64:
    try:
        parsed = datetime.fromisoformat(epoch.replace("Z", "+00:00"))
    except ValueError:
        return np.datetime64(0, "ms")
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(parsed, "ms")


def _time_axis(times_s: FloatArray, epoch: str) -> tuple[NDArray[np.datetime64], str]:
    label = "time (UTC)" if _epoch64(epoch) != np.datetime64(0, "ms") else "time (UTC, no epoch)"
    return utc_times(epoch, times_s), label


# ---------------------------------------------------------------- sections


def quality_sections(evaluation: Evaluation) -> list[Section]:
    """Every picture-quality section, in reading order."""
    return [
        _summary_section(evaluation),
        _map_section(evaluation),
        _gospa_section(evaluation),
        _siap_section(evaluation),
        _commonality_section(evaluation),
        _timeline_section(evaluation),
    ]


def _summary_section(ev: Evaluation) -> Section:
    info = ev.run.info
    s = ev.settings
    rows = [
        ("Scenario", info.scenario),
        ("Epoch", info.epoch),
        ("Fusion", info.fusion),
        (
            "Duration",
            f"{info.duration_s:g} s, {ev.run.times_s.size} snapshots "
            f"every {info.picture_interval_s:g} s",
        ),
        ("Viewers evaluated", ", ".join(ev.run.viewer_names)),
        ("Targets in truth", str(ev.run.truth.target_ids.size)),
        ("GOSPA", f"c = {s.gospa.c_m:g} m, p = {s.gospa.p:g}, α = 2"),
        (
            "Track-to-truth association",
            f"threshold {s.association.threshold_m:g} m, confirm after "
            f"{s.association.consec_pairs_confirm}, end after "
            f"{s.association.consec_misses_end} misses",
        ),
        ("Commonality distance", f"{s.commonality.max_separation_m:g} m"),
    ]
    body = (
        "<table>"
        + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
        + "</table>"
    )
    body += (
        '<p class="note">A truth counts for a viewer only while a sensor whose data that viewer '
        "receives could detect it (the eligible truths). Distances are 3D, in ECEF metres.</p>"
    )
    if ev.run.notes:
        body += "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in ev.run.notes) + "</ul>"
    return Section("Run", body, "run")


def _unwrap_lon(lon_deg: FloatArray, centre_deg: float) -> FloatArray:
    """Longitudes moved into [centre − 180, centre + 180) so a Pacific map does not split."""
    return np.asarray((lon_deg - centre_deg + 180.0) % 360.0 - 180.0 + centre_deg, dtype=np.float64)


def _lines_with_breaks(
    group: NDArray[np.int64], step: NDArray[np.int64], x: FloatArray, y: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Concatenate per-group polylines (sorted by step) with NaN breaks, for one plot call."""
    if group.size == 0:
        return np.empty(0), np.empty(0)
    order = np.lexsort((step, group))
    g, xs, ys = group[order], x[order], y[order]
    breaks = np.flatnonzero(np.diff(g)) + 1
    return np.insert(xs, breaks, np.nan), np.insert(ys, breaks, np.nan)


def _draw_land(ax: object, lon_min: float, lon_max: float, lat_min: float, lat_max: float) -> str:
    """Fill land on `ax` (a matplotlib Axes); returns a note if the data is missing."""
    try:
        rings = land_rings("50m")
    except InputError as exc:
        return str(exc)
    polygons = []
    for ring in rings:
        # rings that cross the antimeridian (Fiji, Chukotka) jump by 360°: make them continuous
        continuous = np.unwrap(ring[:, 0], period=360.0)
        for shift in (-360.0, 0.0, 360.0):
            lon = continuous + shift
            if lon.max() < lon_min or lon.min() > lon_max:
                continue
            if ring[:, 1].max() < lat_min or ring[:, 1].min() > lat_max:
                continue
            polygons.append(np.column_stack([lon, ring[:, 1]]))
    collection = PolyCollection(
        polygons, facecolors="#ece6d6", edgecolors="#8a8a8a", linewidths=0.5, zorder=0
    )
    ax.add_collection(collection)  # type: ignore[attr-defined]
    return ""


def _map_section(ev: Evaluation) -> Section:
    truth = ev.run.truth
    viewers = list(ev.viewers)
    # Fit the map to what is judged: eligible truths and tracks (truth no one could see,
    # far outside every sensor, would otherwise shrink the picture into a corner).
    eligible_any = np.zeros(truth.size, dtype=bool)
    for v in viewers:
        eligible_any |= ev.viewers[v].eligible
    if not eligible_any.any():
        eligible_any[:] = True
    all_lon = [truth.lon_deg[eligible_any]] + [ev.run.pictures[v].lon_deg for v in viewers]
    all_lat = [truth.lat_deg[eligible_any]] + [ev.run.pictures[v].lat_deg for v in viewers]
    lon = np.concatenate(all_lon)
    lat = np.concatenate(all_lat)
    if lon.size == 0:
        return Section("Maps", '<p class="note">No truth and no tracks to draw.</p>', "maps")
    # circular mean longitude, so data around the antimeridian stays together
    centre = math.degrees(
        math.atan2(float(np.mean(np.sin(np.radians(lon)))), float(np.mean(np.cos(np.radians(lon)))))
    )
    lon_u = _unwrap_lon(lon, centre)
    # 0.5 %–99.5 % of the points: a few stray tracks do not set the scale
    lo_lon, hi_lon = (float(x) for x in np.percentile(lon_u, [0.5, 99.5]))
    lo_lat, hi_lat = (float(x) for x in np.percentile(lat, [0.5, 99.5]))
    pad_lon = max(0.3, 0.05 * (hi_lon - lo_lon))
    pad_lat = max(0.3, 0.05 * (hi_lat - lo_lat))
    lon_min, lon_max = lo_lon - pad_lon, hi_lon + pad_lon
    lat_min = max(-89.0, lo_lat - pad_lat)
    lat_max = min(89.0, hi_lat + pad_lat)
    aspect = 1.0 / max(math.cos(math.radians(0.5 * (lat_min + lat_max))), 0.1)

    n = len(viewers)
    # the map's shape on screen: Δlat / (Δlon · cos φ); tall maps go side by side,
    # wide ones one above the other, so each panel fills an 11-inch-wide page
    shape = (lat_max - lat_min) * aspect / max(lon_max - lon_min, 1e-6)
    columns = max(1, min(n, 4, math.floor(11.0 / max(1.0, 6.0 / max(shape, 1e-6)))))
    rows = math.ceil(n / columns)
    panel_width = 11.0 / columns
    panel_height = min(10.0, max(2.6, panel_width * 0.85 * shape + 0.9))
    figure = Figure(figsize=(11.0, panel_height * rows))
    note = ""
    truth_x, truth_y = _lines_with_breaks(
        truth.target, truth.step, _unwrap_lon(truth.lon_deg, centre), truth.lat_deg
    )
    for i, viewer in enumerate(viewers):
        ax = figure.add_subplot(rows, columns, i + 1)
        note = _draw_land(ax, lon_min, lon_max, lat_min, lat_max) or note
        ax.plot(truth_x, truth_y, color="#555555", linewidth=0.8, label="truth", zorder=2)
        elig = ev.viewers[viewer].eligible
        ax.plot(
            _unwrap_lon(truth.lon_deg[elig], centre),
            truth.lat_deg[elig],
            linestyle="none",
            marker=".",
            markersize=1.0,
            color="#b0b0b0",
            label="truth, eligible",
            zorder=1.5,
        )
        tracks = ev.run.pictures[viewer]
        tx, ty = _lines_with_breaks(
            tracks.track, tracks.step, _unwrap_lon(tracks.lon_deg, centre), tracks.lat_deg
        )
        ax.plot(
            tx,
            ty,
            color=_COLOURS[i % len(_COLOURS)],
            linewidth=1.0,
            marker=".",
            markersize=1.5,
            label="tracks",
            zorder=3,
        )
        ax.set_xlim(lon_min, lon_max)
        ax.set_ylim(lat_min, lat_max)
        ax.set_aspect(aspect)
        ax.set_title(f"{viewer}: {tracks.track_ids.size} tracks, {truth.target_ids.size} targets")
        ax.set_xlabel("longitude (°)")
        ax.set_ylabel("latitude (°)")
        ax.legend(loc="lower left", fontsize=7)
    figure.tight_layout()
    body = figure_html(figure, "map of truth and tracks per viewer")
    if note:
        body += f'<p class="note">No coastlines: {html.escape(note)}</p>'
    return Section("Maps", body, "maps")


def _gospa_section(ev: Evaluation) -> Section:
    viewers = list(ev.viewers)
    t, label = _time_axis(ev.run.times_s, ev.run.info.epoch)
    p = ev.settings.gospa.p
    unit = "m" if p == 1 else f"m^{p:g}"
    n = len(viewers)
    figure = Figure(figsize=(11, 2.6 * max(n, 1) + 0.5))
    for i, viewer in enumerate(viewers):
        g = ev.viewers[viewer].gospa
        ax = figure.add_subplot(max(n, 1), 1, i + 1)
        ax.stackplot(
            t,
            g.localisation,
            g.missed,
            g.false,
            labels=["localisation", "missed", "false"],
            colors=["#4c72b0", "#dd8452", "#c44e52"],
            alpha=0.85,
        )
        ax.set_ylabel("GOSPA (m)" if p == 1 else f"GOSPA^p ({unit})")
        mean = float(np.mean(g.distance_m)) if g.distance_m.size else float("nan")
        per_target = gospa_per_target_m(ev.viewers[viewer])
        ax.set_title(
            f"{viewer}: mean GOSPA {_fmt(mean, 0)} m (sum over targets), "
            f"{_fmt(per_target, 0)} m per target",
            fontsize=10,
        )
        held = ev.viewers[viewer].siap.counts.J
        with np.errstate(invalid="ignore", divide="ignore"):
            each = g.distance_m / np.where(held > 0, held, np.nan)
        twin = ax.twinx()
        twin.plot(t, each, color="#222222", linewidth=0.9, label="per target (right)")
        twin.set_ylabel("per target (m)")
        twin.legend(loc="upper left", fontsize=7)
        ax.legend(loc="upper right", fontsize=7)
        if i == n - 1:
            ax.set_xlabel(label)
    figure.tight_layout()
    rows = "".join(
        f"<tr><td>{html.escape(v)}</td><td>{_fmt(_mean(e.gospa.distance_m), 1)}</td>"
        f"<td>{_fmt(gospa_per_target_m(e), 1)}</td>"
        f"<td>{_fmt(_mean(e.gospa.localisation), 1)}</td><td>{_fmt(_mean(e.gospa.missed), 1)}</td>"
        f"<td>{_fmt(_mean(e.gospa.false), 1)}</td><td>{_fmt(_mean(e.gospa.n_missed), 2)}</td>"
        f"<td>{_fmt(_mean(e.gospa.n_false), 2)}</td></tr>"
        for v, e in ev.viewers.items()
    )
    table = (
        f"<table><thead><tr><th>viewer</th><th>GOSPA, sum (m)</th><th>GOSPA per target (m)</th>"
        f"<th>localisation ({unit})</th>"
        f"<th>missed ({unit})</th><th>false ({unit})</th><th>missed truths</th>"
        "<th>false tracks</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )
    note = (
        '<p class="note">Means over snapshots. GOSPA is one distance between the set of tracks '
        "and the set of eligible truths, so it grows with the number of targets; GOSPA per "
        "target = Σ_t GOSPA_t / Σ_t J(t) (J: eligible truths) is comparable across scenarios "
        "and nations. The parts are in units of m^p and add up to GOSPA^p.</p>"
    )
    return Section(
        "GOSPA over time", table + note + figure_html(figure, "GOSPA parts over time"), "gospa"
    )


def _mean(values: NDArray[np.float64] | NDArray[np.int64]) -> float | None:
    return float(np.mean(values)) if values.size else None


def _siap_section(ev: Evaluation) -> Section:
    viewers = list(ev.viewers)
    head = "".join(f"<th>{html.escape(v)}</th>" for v in viewers)
    rows = []
    for key, label, unit, target in SIAP_MEASURES:
        cells = "".join(
            f"<td>{_fmt(ev.viewers[v].siap.summary.get(key), 4 if 'rate' in key else 3)}</td>"
            for v in viewers
        )
        rows.append(
            f"<tr><td>{html.escape(label)}{f' ({unit})' if unit else ''}</td>"
            f"<td>{target}</td>{cells}</tr>"
        )
    counts = []
    for name, values in (
        ("truth-snapshots counted (ΣJ)", [int(ev.viewers[v].siap.counts.J.sum()) for v in viewers]),
        ("of them held (ΣJT)", [int(ev.viewers[v].siap.counts.JT.sum()) for v in viewers]),
        ("track-snapshots (ΣN)", [int(ev.viewers[v].siap.counts.N.sum()) for v in viewers]),
        ("tracks on a truth (ΣNA)", [int(ev.viewers[v].siap.counts.NA.sum()) for v in viewers]),
        ("associations", [ev.viewers[v].associations.size for v in viewers]),
    ):
        cells = "".join(f"<td>{value:,}</td>" for value in values)
        counts.append(f"<tr><td>{html.escape(name)}</td><td></td>{cells}</tr>")
    table = (
        f"<table><thead><tr><th>measure</th><th>ideal</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}{''.join(counts)}</tbody></table>"
    )
    note = (
        '<p class="note">Votruba et al. 2001 as Stone Soup computes them; "—" where a measure '
        "is undefined (nothing to count). See docs/metrics.md.</p>"
    )
    return Section("SIAP measures", table + note, "siap")


def _shade(value: float | None) -> str:
    if value is None:
        return "#f3f3f3"
    # red (0) → yellow (0.5) → green (1)
    red = int(255 * min(1.0, 2 * (1 - value)))
    green = int(200 * min(1.0, 2 * value))
    return f"rgb({red},{green},80)"


def _commonality_section(ev: Evaluation) -> Section:
    c = ev.commonality
    if c is None:
        return Section(
            "Commonality between nations",
            f'<p class="note">{html.escape(ev.commonality_note)}</p>',
            "commonality",
        )
    matrix = c.matrix()
    head = "".join(f"<th>{html.escape(n)}</th>" for n in c.nations)
    rows = []
    for i, a in enumerate(c.nations):
        cells = "".join(
            f'<td style="background:{_shade(matrix[i][j])}">{_fmt(matrix[i][j])}</td>'
            for j in range(len(c.nations))
        )
        rows.append(f"<tr><th>{html.escape(a)}</th>{cells}</tr>")
    table = f"<table><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    overall = (
        f"<p><b>All nations: {_fmt(c.value)}</b> of {c.eligible:,} (target, snapshot) instances "
        "that two or more nations could hold are held by every one of them under one track "
        f"number within {ev.settings.commonality.max_separation_m:g} m.</p>"
    )
    pair_rows = "".join(
        f"<tr><td>{html.escape(p.nation_a)}–{html.escape(p.nation_b)}</td><td>{p.eligible:,}</td>"
        f"<td>{p.common:,}</td><td>{p.not_held:,}</td><td>{p.different_numbers:,}</td>"
        f"<td>{p.too_far_apart:,}</td><td>{_fmt(p.value)}</td></tr>"
        for p in c.pairs
    )
    pairs = (
        "<table><thead><tr><th>pair</th><th>eligible to both</th><th>common</th>"
        "<th>not held by one</th>"
        "<th>different numbers</th><th>too far apart</th><th>commonality</th></tr></thead>"
        f"<tbody>{pair_rows}</tbody></table>"
    )
    t, label = _time_axis(ev.run.times_s, ev.run.info.epoch)
    figure = Figure(figsize=(11, 2.6))
    ax = figure.add_subplot(1, 1, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        series = c.common_per_step / np.where(c.eligible_per_step > 0, c.eligible_per_step, np.nan)
    ax.plot(t, series, color="#2ca02c")
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("commonality, all nations")
    ax.set_xlabel(label)
    figure.tight_layout()
    return Section(
        "Commonality between nations",
        overall + table + pairs + figure_html(figure, "commonality over time"),
        "commonality",
    )


def _timeline_section(ev: Evaluation) -> Section:
    truth = ev.run.truth
    viewers = list(ev.viewers)
    firsts = first_times(ev)
    ids = [str(t) for t in truth.target_ids]
    if not ids:
        return Section(
            "When each nation first held each target", '<p class="note">No targets.</p>', "timeline"
        )
    step_min = np.full(len(ids), np.iinfo(np.int64).max)
    step_max = np.full(len(ids), -1)
    np.minimum.at(step_min, truth.target, truth.step)
    np.maximum.at(step_max, truth.target, truth.step)
    t, label = _time_axis(ev.run.times_s, ev.run.info.epoch)
    earliest = [
        min([firsts[v]["first_eligible_s"].get(i, math.inf) for v in viewers], default=math.inf)
        for i in ids
    ]
    threat_rank = {"ballistic_missile": 0, "cruise_missile": 1}
    order = sorted(
        range(len(ids)),
        key=lambda j: (threat_rank.get(str(truth.target_kind[j]), 2), earliest[j], ids[j]),
    )
    shown = order[:TIMELINE_FIGURE_TARGETS]
    figure = Figure(figsize=(11, 0.22 * len(shown) + 1.4))
    ax = figure.add_subplot(1, 1, 1)
    for row, j in enumerate(shown):
        ax.plot(
            [t[step_min[j]], t[step_max[j]]], [row, row], color="#cccccc", linewidth=5, zorder=1
        )
    for k, v in enumerate(viewers):
        colour = _COLOURS[k % len(_COLOURS)]
        for key, filled, what in (
            ("first_eligible_s", False, "could first hold"),
            ("first_held_s", True, "first holds"),
        ):
            xs = [firsts[v][key].get(ids[j]) for j in shown]
            pts = [
                (utc_times(ev.run.info.epoch, [x])[0], row)
                for row, x in enumerate(xs)
                if x is not None
            ]
            if pts:
                ax.plot(
                    [p[0] for p in pts],
                    [p[1] for p in pts],
                    linestyle="none",
                    marker="v^os<>D"[k % 7],
                    markerfacecolor=colour if filled else "none",
                    markeredgecolor=colour,
                    label=f"{v} {what}",
                    zorder=3 if filled else 2,
                )
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels([ids[j] for j in shown], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(label)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=7)
    figure.tight_layout()
    more = (
        f'<p class="note">Figure: the first {len(shown)} of {len(ids)} targets (missiles, '
        "then by first eligibility); the table lists all.</p>"
        if len(ids) > len(shown)
        else ""
    )
    head = "".join(
        f"<th>{name} eligible (s)</th><th>{name} held (s)</th><th>{name} delay (s)</th>"
        for name in (html.escape(v) for v in viewers)
    )
    body_rows = []
    for j in order:
        cells = ""
        for v in viewers:
            e = firsts[v]["first_eligible_s"].get(ids[j])
            h = firsts[v]["first_held_s"].get(ids[j])
            delay = None if e is None or h is None else h - e
            cells += f"<td>{_fmt(e, 0)}</td><td>{_fmt(h, 0)}</td><td>{_fmt(delay, 0)}</td>"
        body_rows.append(
            f"<tr><td>{html.escape(ids[j])}</td><td>{html.escape(str(truth.target_kind[j]))}</td>{cells}</tr>"
        )
    table = (
        f"<details{' open' if len(ids) <= 40 else ''}>"
        f"<summary>Table of {len(ids)} targets</summary>"
        f"<table><thead><tr><th>target</th><th>kind</th>{head}</tr></thead>"
        f"<tbody>{''.join(body_rows)}</tbody></table></details>"
    )
    intro = (
        '<p class="note">Grey bar: the target exists. Hollow marker: the first snapshot at '
        "which the nation could hold it (eligible); filled marker: the first at which its "
        "picture held it (an associated track). Delay = held − eligible. Missiles first.</p>"
    )
    return Section(
        "When each nation first held each target",
        intro + figure_html(figure, "first-held timeline") + more + table,
        "timeline",
    )
