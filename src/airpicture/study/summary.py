"""A study's statistics: per nation and measure, the baseline and each variant's paired difference.

`summarise(records, variants, seeds)` turns the per-run records (one per
variant and seed, `airpicture.study.runs`) into rows: for each (nation,
measure) and each (nation, missile, warning measure), the per-seed values of
every variant (aligned with `seeds`, None where a run failed or the measure is
undefined), the baseline's mean and 95 % interval, and every variant's own mean
and paired difference from the baseline (`airpicture.study.stats`). The rows
hold the per-seed values, so anyone can recompute every interval from
compare.json. `findings(rows)` says the significant differences in words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

from airpicture.study.runs import MISSILE_MEASURES, PICTURE_MEASURES
from airpicture.study.stats import mean_interval, paired_difference
from airpicture.study.variants import Variant

BASELINE: Final = "baseline"


def _lookup(record: dict[str, Any] | None, path: Sequence[str]) -> float | None:
    node: Any = record
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    if node is None:
        return None
    value = float(node)
    return value if math.isfinite(value) else None


def summarise(
    records: Sequence[dict[str, Any]], variants: Sequence[Variant], seeds: Sequence[int]
) -> list[dict[str, Any]]:
    """Rows of statistics (module docstring); the first variant is the baseline."""
    by_run = {(r["variant"], int(r["seed"])): r for r in records}
    names = [v.name for v in variants]
    viewers: list[str] = []
    missiles: list[tuple[str, str]] = []
    for name in names:  # baseline's viewers first, then any only a variant has (ALL)
        for seed in seeds:
            record = by_run.get((name, seed))
            if record is None:
                continue
            viewers += [v for v in record["viewers"] if v not in viewers]
            for nation, per in record.get("missiles", {}).items():
                missiles += [(nation, m) for m in per if (nation, m) not in missiles]
    rows: list[dict[str, Any]] = []
    for viewer in viewers:
        for key, label, unit, better in PICTURE_MEASURES:
            path: tuple[str, ...] = ("viewers", viewer, key)
            rows.append(_row("picture", viewer, None, key, label, unit, better, path))
    for nation, missile in missiles:
        for key, label, unit, better in MISSILE_MEASURES:
            path = ("missiles", nation, missile, key)
            rows.append(_row("missile", nation, missile, key, label, unit, better, path))
    out = []
    for row in rows:
        path = row.pop("_path")
        per_seed = {name: [_lookup(by_run.get((name, s)), path) for s in seeds] for name in names}
        if all(v is None for vals in per_seed.values() for v in vals):
            continue
        base = per_seed[names[0]]
        row["per_seed"] = per_seed
        row["baseline"] = mean_interval(base).to_json()
        row["variants"] = {
            name: {
                "mean": mean_interval(per_seed[name]).to_json(),
                "difference": paired_difference(base, per_seed[name]).to_json(),
            }
            for name in names[1:]
        }
        out.append(row)
    return out


def _row(
    group: str,
    nation: str,
    missile: str | None,
    key: str,
    label: str,
    unit: str,
    better: str,
    path: tuple[str, ...],
) -> dict[str, Any]:
    return {
        "group": group,
        "nation": nation,
        "missile": missile,
        "measure": key,
        "label": label,
        "unit": unit,
        "better": better,
        "_path": path,
    }


def format_value(value: float | None, unit: str, *, difference: bool = False) -> str:
    """A figure as a planner reads it: % (points for differences), s, m, per hour."""
    if value is None:
        return "—"
    if unit == "%":
        return f"{100 * value:+.1f} pts" if difference else f"{100 * value:.1f} %"
    if unit == "/h":
        return f"{value:+.2f}/h" if difference else f"{value:.2f}/h"
    if unit == "m" and (abs(value) >= 10_000):
        return f"{value / 1000:+,.1f} km" if difference else f"{value / 1000:,.1f} km"
    sign = "+" if difference else ""
    return f"{value:{sign},.0f} {unit}"


def format_half_width(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "%":
        return f"{100 * value:.1f} pts"
    if unit == "/h":
        return f"{value:.2f}/h"
    if unit == "m" and value >= 10_000:
        return f"{value / 1000:,.1f} km"
    return f"{value:,.0f} {unit}"


def _changes_text(variant: Variant) -> str:
    return ", ".join(variant.changes) or "the scenario as it is"


def findings(rows: Sequence[dict[str, Any]], variants: Sequence[Variant]) -> list[dict[str, Any]]:
    """Each significant paired difference as a sentence, most certain first.

    "no-tpy2 (without=…) delays launch → first impact-area warning for JPN on
    BM-1 by 35 s ± 12 s (95 % interval 23 s to 47 s; baseline 120 s; p = 0.001;
    8 seeds) — worse".
    """
    out = []
    for row in rows:
        for variant in variants[1:]:
            diff = row["variants"][variant.name]["difference"]
            if not diff["significant"]:
                continue
            mean = diff["mean"]
            unit = row["unit"]
            if unit == "s":
                verb = "delays" if mean > 0 else "advances"
            else:
                verb = "raises" if mean > 0 else "lowers"
            good = (mean > 0) == (row["better"] == "higher")
            target = f" for {row['nation']}" + (f" on {row['missile']}" if row["missile"] else "")
            magnitude = format_value(abs(mean), unit, difference=False)
            if unit == "%":
                magnitude = f"{100 * abs(mean):.1f} percentage points"
            text = (
                f"{variant.name} ({_changes_text(variant)}) {verb} {row['label']}{target} "
                f"by {magnitude} ± {format_half_width(diff['half_width'], unit)} "
                f"(95 % interval {format_value(diff['ci_low'], unit, difference=True)} to "
                f"{format_value(diff['ci_high'], unit, difference=True)}; baseline "
                f"{format_value(row['baseline']['mean'], unit)}; p = {diff['p_value']:.3g}; "
                f"{diff['n']} paired seeds) — {'better' if good else 'worse'}"
            )
            out.append(
                {
                    "variant": variant.name,
                    "nation": row["nation"],
                    "missile": row["missile"],
                    "measure": row["measure"],
                    "better": good,
                    "p_value": diff["p_value"],
                    "text": text,
                }
            )
    out.sort(key=lambda f: (f["p_value"], f["variant"], f["nation"]))
    return out
