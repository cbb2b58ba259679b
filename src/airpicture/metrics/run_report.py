"""The run report's own sections: the summary in words, sensors and links, a timeline per threat.

`quality_sections` (report.py) draws the picture measures; these sections add
what a reader wants first (a summary), and what the run folder holds beyond
truth and picture: the reports each sensor made and how much of each nation's
picture they fed (plots.parquet, picture.parquet's `sources`), the load on each
link (network.json), and for each ballistic missile the launch, its first
detection, each nation's first warning and the impact (metrics.json's warning
measures, run.json). A section whose input the folder lacks says so.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from matplotlib.figure import Figure

from airpicture.metrics.evaluation import Evaluation, gospa_per_target_m
from airpicture.metrics.report import Section, figure_html, utc_times

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def _m(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value / 1000:,.1f} km" if abs(value) >= 10_000 else f"{value:,.0f} m"


def summary_section(ev: Evaluation, document: dict[str, Any]) -> Section:
    """What a reader needs first: each nation's picture and warnings in one sentence each."""
    items = []
    for viewer, v in ev.viewers.items():
        s = v.siap.summary
        targets = len(document["viewers"][viewer]["eligible"]["targets"])
        items.append(
            f"<li><b>{html.escape(viewer)}</b> held {_pct(s.get('completeness'))} of what its "
            f"sensors and partners could see ({targets} targets); "
            f"{_pct(s.get('spuriousness'))} of its tracks were false; GOSPA "
            f"{_m(gospa_per_target_m(v))} per target; position error "
            f"{_m(s.get('position_accuracy_m'))} on average.</li>"
        )
    common = document.get("commonality", {})
    if common.get("applicable"):
        items.append(
            f"<li>Commonality: where two or more nations could hold a target, all of them held "
            f"it under the same track number {_pct(common['overall']['value'])} of the time."
            "</li>"
        )
    warnings = document.get("warnings")
    if warnings:
        for nation, nm in warnings.get("nations", {}).items():
            missiles = nm.get("missiles", {})
            warned = [m for m in missiles.values() if m.get("warned")]
            times = [m["launch_to_first_warning_s"] for m in warned]
            first = (
                f", first warning {min(times):,.0f}–{max(times):,.0f} s after launch"
                if times
                else ""
            )
            items.append(
                f"<li>{html.escape(nation)} was warned of {len(warned)} of {len(missiles)} "
                f"ballistic missile(s){first}; {nm.get('false_warnings', 0)} false warning(s)."
                "</li>"
            )
    if ev.run.notes:
        items.append(f"<li>{len(ev.run.notes)} note(s) on the input: see Run below.</li>")
    return Section("Summary", f"<ul>{''.join(items)}</ul>", "summary")


def sensors_section(run_dir: Path, ev: Evaluation) -> Section:
    """Per sensor: reports of targets, false alarms, and the share of each picture it fed."""
    plots_path = run_dir / "plots.parquet"
    picture_path = run_dir / "picture.parquet"
    if not plots_path.is_file():
        return Section("Sensors", "<p class='note'>No plots.parquet in this folder.</p>", "sensors")
    plots = pq.read_table(plots_path, columns=["sensor_id", "target_id"]).to_pydict()
    sensor = np.asarray(plots["sensor_id"], dtype=object).astype(str)
    target = np.asarray([t or "" for t in plots["target_id"]], dtype=object)
    names, index = np.unique(sensor, return_inverse=True)
    reports = np.bincount(index, minlength=names.size)
    false = np.bincount(index[target == ""], minlength=names.size)
    viewers = list(ev.viewers)
    share: dict[str, dict[str, float]] = {v: {} for v in viewers}
    if picture_path.is_file() and "sources" in pq.read_schema(picture_path).names:
        pic = pq.read_table(picture_path, columns=["viewer", "sources"]).to_pydict()
        for viewer in viewers:
            rows = [s or [] for w, s in zip(pic["viewer"], pic["sources"], strict=True)
                    if w == viewer]  # fmt: skip
            if not rows:
                continue
            counts: dict[str, int] = {}
            for sources in rows:
                for sid in set(sources):
                    counts[sid] = counts.get(sid, 0) + 1
            share[viewer] = {k: c / len(rows) for k, c in counts.items()}
    sensor_nation = ev.run.info.sensor_nation
    all_ids = sorted(set(names.tolist()) | set(sensor_nation))
    head = "".join(f"<th>in {html.escape(v)}'s tracks</th>" for v in viewers)
    body = []
    position = {str(n): i for i, n in enumerate(names.tolist())}
    for sid in all_ids:
        i = position.get(sid)
        n_rep = int(reports[i]) if i is not None else 0
        n_false = int(false[i]) if i is not None else 0
        cells = "".join(f"<td>{_pct(share[v].get(sid)) if share[v] else '—'}</td>" for v in viewers)
        body.append(
            f"<tr><td>{html.escape(sid)}</td><td>{html.escape(sensor_nation.get(sid, ''))}</td>"
            f"<td>{html.escape(ev.run.info.sensor_type.get(sid, ''))}</td>"
            f"<td>{n_rep - n_false:,}</td><td>{n_false:,}</td>{cells}</tr>"
        )
    text = (
        "<p class='note'>Reports of targets and false alarms (plots.parquet); share of each "
        "viewer's track rows whose sources include the sensor (picture.parquet), as far as "
        "the viewer knows.</p><table><thead><tr><th>sensor</th><th>nation</th><th>type</th>"
        f"<th>target reports</th><th>false alarms</th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )
    return Section("What each sensor contributed", text, "sensors")


def links_section(run_dir: Path, duration_s: float) -> Section:
    """Per link: messages sent, lost, delivered and bytes (network.json), per node the work."""
    path = run_dir / "network.json"
    if not path.is_file():
        return Section("Links", "<p class='note'>No network.json in this folder.</p>", "links")
    stats = json.loads(path.read_text(encoding="utf-8"))
    links = stats.get("links", {})
    duration = max(float(duration_s), 0.0) if math.isfinite(duration_s) else 0.0
    rows = []
    for name, link in sorted(links.items()):
        sent = int(link.get("sent", 0))
        lost = int(link.get("lost", 0))
        size = int(link.get("bytes_sent", 0))
        rate = f"{8 * size / duration / 1000:,.1f}" if duration else "—"
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{sent:,}</td><td>{lost:,}</td>"
            f"<td>{int(link.get('delivered', 0)):,}</td><td>{size / 1e6:,.2f}</td>"
            f"<td>{rate}</td></tr>"
        )
    nodes = []
    for nation, node in sorted(stats.get("nodes", {}).items()):
        received = node.get("messages", {}).get("received", {})
        released = node.get("release", {}).get("released", {})
        withheld = node.get("release", {}).get("withheld", {})
        cpu = sum(float(x) for x in node.get("seconds", {}).values())
        nodes.append(
            f"<tr><td>{html.escape(nation)}</td><td>{int(received.get('plots', 0)):,}</td>"
            f"<td>{int(received.get('tracks', 0)):,}</td>"
            f"<td>{int(released.get('plots', 0)):,} / {int(released.get('tracks', 0)):,}</td>"
            f"<td>{int(withheld.get('plots', 0)):,} / {int(withheld.get('tracks', 0)):,}</td>"
            f"<td>{cpu:,.1f}</td></tr>"
        )
    text = (
        "<table><thead><tr><th>link</th><th>messages sent</th><th>lost</th><th>delivered</th>"
        "<th>MB sent</th><th>mean kbit/s</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        "<table><thead><tr><th>node</th><th>plots received</th><th>tracks received</th>"
        "<th>released plots / tracks</th><th>withheld plots / tracks</th><th>CPU s</th></tr>"
        f"</thead><tbody>{''.join(nodes)}</tbody></table>"
    ) + _partner_links_table(stats.get("nodes", {}))
    if not duration:
        text += "<p class='note'>The run's duration is unknown: no mean rate.</p>"
    return Section("The load on each link", text, "links")


def _partner_links_table(nodes: dict[str, Any]) -> str:
    """Per node and partner, the link as the node saw it (network.json `partner_links`:
    `network/liveness.py`): its state at the end, when last heard, messages and heartbeats
    taken, items refused, and when it was down. Nothing for a run without them."""
    rows = []
    for nation, node in sorted(nodes.items()):
        sent = node.get("heartbeats_sent", {})
        for partner, link in sorted(node.get("partner_links", {}).items()):
            heard = link.get("last_heard_s")
            outages = link.get("outages", [])
            spans = ", ".join(
                f"{o['down_s']:g}–{'' if o.get('up_s') is None else format(o['up_s'], 'g')} s"
                for o in outages
            )
            more = int(link.get("times_down", 0)) - len(outages)
            if more > 0:
                spans = f"{more} earlier, {spans}"
            state = str(link.get("state", ""))
            rows.append(
                f"<tr><td>{html.escape(nation)}</td><td>{html.escape(partner)}</td>"
                f"<td>{html.escape(state.upper() if state == 'down' else state)}</td>"
                f"<td>{'never' if heard is None else f'{float(heard):g} s'}</td>"
                f"<td>{int(link.get('messages', 0)):,}</td>"
                f"<td>{int(link.get('heartbeats', 0)):,} / {int(sent.get(partner, 0)):,}</td>"
                f"<td>{int(link.get('refused', 0)):,}</td>"
                f"<td>{html.escape(spans) or '—'}</td></tr>"
            )
    if not rows:
        return ""
    return (
        "<p class='note'>Each node's links as it saw them: a partner silent for longer than "
        "the node's limit is down until heard again (an outage with no end was still on when "
        "the run ended).</p><table><thead><tr><th>node</th><th>partner</th><th>at the end</th>"
        "<th>last heard</th><th>messages taken</th><th>heartbeats taken / sent</th>"
        "<th>refused</th><th>down</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def threat_timeline_section(run_dir: Path, ev: Evaluation, document: dict[str, Any]) -> Section:
    """Per ballistic missile: launch → first detection → first warning per nation → impact."""
    warnings = document.get("warnings")
    run_json = run_dir / "run.json"
    if not warnings or not run_json.is_file():
        return Section(
            "Timeline per threat",
            "<p class='note'>No warning measures for this folder (no warnings.jsonl or "
            "run.json).</p>",
            "threats",
        )
    ballistic = json.loads(run_json.read_text(encoding="utf-8")).get("ballistic", {})
    nations = list(warnings.get("nations", {}))
    missiles = sorted({m for nm in warnings["nations"].values() for m in nm.get("missiles", {})})
    if not missiles:
        return Section("Timeline per threat", "<p>No ballistic missiles.</p>", "threats")
    epoch = ev.run.info.epoch
    figure = Figure(figsize=(11, 0.55 * len(missiles) + 1.4))
    ax = figure.add_subplot(1, 1, 1)
    rows = []
    for row, missile in enumerate(missiles):
        per = {n: warnings["nations"][n]["missiles"].get(missile, {}) for n in nations}
        launch = next((m["launch_s"] for m in per.values() if m.get("launch_s") is not None), None)
        detect = [m.get("first_detection_s") for m in per.values()]
        detect_s = min((d for d in detect if d is not None and math.isfinite(d)), default=None)
        impact = ballistic.get(missile, {}).get("impact_time_s")
        if launch is not None and impact is not None:
            span = utc_times(epoch, [launch, impact])
            ax.plot(span, [row, row], color="#cccccc", linewidth=6, zorder=1)
        for value, marker, label in ((launch, "o", "launch"), (detect_s, "s", "first detection"),
                                     (impact, "X", "impact")):  # fmt: skip
            if value is not None:
                ax.plot(utc_times(epoch, [value]), [row], marker=marker, color="#333333",
                        linestyle="none", label=label if row == 0 else None, zorder=3)  # fmt: skip
        cells = []
        for k, nation in enumerate(nations):
            first = per[nation].get("first_warning_s") if per[nation].get("warned") else None
            cells.append("missed" if first is None else f"{first:,.0f}")
            if first is not None:
                legend = f"{nation} first warning" if row == 0 else None
                ax.plot(utc_times(epoch, [first]), [row + 0.12 * (k - len(nations) / 2)],
                        marker="v", color=_COLOURS[k % len(_COLOURS)], linestyle="none",
                        label=legend, zorder=4)  # fmt: skip
        rows.append(
            f"<tr><td>{html.escape(missile)}</td><td>{_s(launch)}</td><td>{_s(detect_s)}</td>"
            + "".join(f"<td>{c}</td>" for c in cells)
            + f"<td>{_s(impact)}</td></tr>"
        )
    ax.set_yticks(range(len(missiles)), missiles, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("time (UTC)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=7)
    figure.tight_layout()
    head = "".join(f"<th>{html.escape(n)} first warning (s)</th>" for n in nations)
    table = (
        "<table><thead><tr><th>missile</th><th>launch (s)</th><th>first detection (s)</th>"
        f"{head}<th>impact (s)</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    note = (
        "<p class='note'>Seconds since the scenario epoch in the table; first detection by any "
        "sensor a nation hears from; first warning: the nation's first launch notice or "
        "impact-area warning that belongs to the missile (docs/threat.md).</p>"
    )
    return Section(
        "Timeline per threat",
        figure_html(figure, "launch, detection, warnings and impact per missile") + table + note,
        "threats",
    )


def _s(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:,.0f}"
