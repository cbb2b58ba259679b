"""The comparison report.html: findings in words, a plot per measure, then every figure."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from airpicture.metrics.report import Section, figure_html, write_report
from airpicture.study.summary import format_half_width, format_value
from airpicture.study.variants import Variant

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")


def write_comparison_report(
    path: Path, document: dict[str, Any], variants: Sequence[Variant]
) -> None:
    """report.html of a comparison (`document` is compare.json's content)."""
    sections = [
        _findings_section(document, variants),
        _runs_section(document, variants),
        _plots_section(document, variants, "picture", "Picture quality per nation"),
        _plots_section(document, variants, "missile", "Warnings per nation and missile"),
        _table_section(document, variants),
    ]
    title = f"{document['scenario']}: {len(variants) - 1} variant(s) against the baseline"
    write_report(path, sections, title)


def _findings_section(document: dict[str, Any], variants: Sequence[Variant]) -> Section:
    found = document["findings"]
    seeds = document["seeds"]
    method = (
        "Every variant ran on the same seeds as the baseline; a difference is the mean of the "
        "per-seed differences, with its 95 % paired-t interval. Significant: the interval "
        "excludes zero."
    )
    if not found:
        body = (
            f"<p><b>No difference from the baseline is significant at 95 % over {len(seeds)} "
            "seed(s).</b> The table below gives every interval; more seeds narrow them.</p>"
        )
    else:
        items = "".join(
            f"<li class='{'good' if f['better'] else 'bad'}'>{html.escape(f['text'])}</li>"
            for f in found
        )
        body = f"<p>{len(found)} significant difference(s), most certain first:</p><ul>{items}</ul>"
    failures = document.get("failures", [])
    if failures:
        body += (
            "<p><b>Runs that failed</b> (left out of every figure):</p><ul>"
            + "".join(
                f"<li>{html.escape(f['variant'])}, seed {f['seed']}: {html.escape(f['error'])}</li>"
                for f in failures
            )
            + "</ul>"
        )
    return Section("Findings", body + f"<p class='note'>{method}</p>", "findings")


def _runs_section(document: dict[str, Any], variants: Sequence[Variant]) -> Section:
    runs = document["runs"]
    rows = []
    for v in variants:
        mine = [r for r in runs if r["variant"] == v.name]
        cpu = sum(r["timing"]["cpu_s"] for r in mine)
        rows.append(
            f"<tr><td>{html.escape(v.name)}</td>"
            f"<td>{html.escape(', '.join(v.changes) or 'the scenario as it is')}</td>"
            f"<td>{len(mine)}</td><td>{cpu:,.0f}</td></tr>"
        )
    seeds = document["seeds"]
    body = (
        f"<p>Seeds {seeds[0]}–{seeds[-1]} ({len(seeds)}), the same for every variant; each run "
        "is the deterministic one-process network over that seed's truth and reports, judged "
        "against the baseline's eligible truths. Run folders: VARIANT/seed-N/.</p>"
        "<table><thead><tr><th>variant</th><th>changes</th><th>runs finished</th>"
        f"<th>CPU s</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return Section("Runs", body, "runs")


def _plots_section(
    document: dict[str, Any], variants: Sequence[Variant], group: str, title: str
) -> Section:
    rows = [r for r in document["statistics"] if r["group"] == group]
    if not rows:
        return Section(title, "<p>No figures of this kind in these runs.</p>", group)
    parts = []
    measures = list(dict.fromkeys(r["measure"] for r in rows))
    for measure in measures:
        mine = [r for r in rows if r["measure"] == measure]
        parts.append(_measure_figure(mine, variants))
    return Section(title, "".join(parts), group)


def _scale(unit: str) -> tuple[float, str]:
    return (100.0, "%") if unit == "%" else (1.0, unit)


def _measure_figure(rows: list[dict[str, Any]], variants: Sequence[Variant]) -> str:
    """Left: each variant's mean and 95 % interval; right: each paired difference and its
    interval, one column per nation (and missile). The right panel is the one to read:
    seed-to-seed spread that both runs of a seed share cancels in the difference."""
    unit = rows[0]["unit"]
    factor, shown = _scale(unit)
    labels = [r["nation"] + (f"\n{r['missile']}" if r["missile"] else "") for r in rows]
    n_panels = 2 if len(variants) > 1 else 1
    fig = Figure(figsize=(min(16.0, n_panels * max(4.5, 0.8 * len(rows) + 2.0)), 3.2))
    x = np.arange(len(rows), dtype=np.float64)

    def draw(ax: Any, series: list[tuple[str, str, list[dict[str, Any]]]], title: str) -> None:
        width = 0.8 / max(len(series), 1)
        for i, (name, colour, estimates) in enumerate(series):
            means = np.array([np.nan if e["mean"] is None else factor * e["mean"]
                              for e in estimates])  # fmt: skip
            low = [0.0 if e["ci_low"] is None or e["mean"] is None
                   else factor * (e["mean"] - e["ci_low"]) for e in estimates]  # fmt: skip
            high = [0.0 if e["ci_high"] is None or e["mean"] is None
                    else factor * (e["ci_high"] - e["mean"]) for e in estimates]  # fmt: skip
            ax.errorbar(x - 0.4 + width * (i + 0.5), means, yerr=[low, high], fmt="o",
                        capsize=3, color=colour, label=name)  # fmt: skip
        ax.set_xticks(x, labels, fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        ax.set_title(title, fontsize=9)

    means_ax = fig.add_subplot(1, n_panels, 1)
    draw(
        means_ax,
        [
            (
                v.name,
                _COLOURS[i % len(_COLOURS)],
                [r["baseline"] if i == 0 else r["variants"][v.name]["mean"] for r in rows],
            )
            for i, v in enumerate(variants)
        ],
        f"{rows[0]['label']}: mean, 95 % interval",
    )
    means_ax.set_ylabel(f"{rows[0]['label']} ({shown})", fontsize=8)
    if n_panels == 2:
        diff_ax = fig.add_subplot(1, 2, 2)
        diff_ax.axhline(0.0, color="#555555", linewidth=0.8)
        draw(
            diff_ax,
            [
                (
                    f"{v.name} − baseline",
                    _COLOURS[(i + 1) % len(_COLOURS)],
                    [r["variants"][v.name]["difference"] for r in rows],
                )
                for i, v in enumerate(variants[1:])
            ],
            "paired difference from the baseline, 95 % interval",
        )
        diff_ax.set_ylabel(f"difference ({'points' if unit == '%' else shown})", fontsize=8)
    fig.tight_layout()
    return figure_html(fig, f"{rows[0]['label']} per variant with 95 % intervals")


def _table_section(document: dict[str, Any], variants: Sequence[Variant]) -> Section:
    head = "<th>nation</th><th>missile</th><th>measure</th><th>baseline (95 % interval)</th>"
    head += "".join(f"<th>{html.escape(v.name)} − baseline</th>" for v in variants[1:])
    body = []
    for r in document["statistics"]:
        unit = r["unit"]
        b = r["baseline"]
        cells = [
            html.escape(r["nation"]),
            html.escape(r["missile"] or ""),
            html.escape(r["label"]),
            f"{format_value(b['mean'], unit)} ± {format_half_width(b['half_width'], unit)}",
        ]
        for v in variants[1:]:
            d = r["variants"][v.name]["difference"]
            mark = " <b>*</b>" if d["significant"] else ""
            p = "" if d["p_value"] is None else f" (p {d['p_value']:.2g})"
            cells.append(
                f"{format_value(d['mean'], unit, difference=True)} ± "
                f"{format_half_width(d['half_width'], unit)}{p}{mark}"
            )
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    text = (
        "<p>Baseline: mean ± half the 95 % interval over seeds. Variants: the mean paired "
        "difference from the baseline ± half its 95 % interval, the paired t-test's p-value; "
        "<b>*</b> significant. Every per-seed figure is in compare.json.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
    return Section("Every figure", text, "table")
