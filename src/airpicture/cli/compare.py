"""`airpicture compare SCENARIO --variant NAME:CHANGE[,CHANGE…] --out DIR`: what-if for planners.

The scenario is simulated once; the baseline and every variant then run the
network over the *same* truth and reports, and each nation's picture is
evaluated against the *baseline's* eligible truths (what the baseline's
allowed sources could see), so that a lost sensor or a tighter release rule
shows as lost completeness rather than as a smaller yardstick.

Changes a variant can make (several, comma-separated):

| change | meaning |
|---|---|
| `fusion=centralized` (or `distributed`) | the fusion architecture |
| `without=SENSOR` | the sensor is out for the whole run (its reports are dropped) |
| `outage=SENSOR@START-END` | the sensor is out from START to END (s) |
| `release.NATION.tracks=A+B` | a nation's default track release (`plots` likewise; empty: none) |
| `release.SENSOR.plots=A+B` | one sensor's release override (`tracks` likewise) |
| `latency.FROM-TO=S`, `loss.FROM-TO=P` | one network link's latency (s) and loss probability |

Writes DIR/compare.json, DIR/report.html (a comparison section) and one run
folder per variant (DIR/NAME/); prints the table.
"""

from __future__ import annotations

import argparse
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table as RichTable

from airpicture.cli.options import add_scenario_overrides, scenario_overrides
from airpicture.cli.run import network_with_progress, write_network_outputs
from airpicture.errors import InputError
from airpicture.metrics import EvaluationSettings, Section, evaluate_run, write_report
from airpicture.network import NetworkSettings
from airpicture.network.run import Fusion
from airpicture.scenario import LoadedScenario, Scenario, load_scenario
from airpicture.sim.simulate import Simulation, simulate
from airpicture.tables import Table


@dataclass(frozen=True)
class Variant:
    name: str
    changes: tuple[str, ...] = ()
    fusion: Fusion | None = None
    #: Sensor id → (start_s, end_s) during which its reports are dropped.
    outages: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: Dotted paths into the scenario (release rules, links) → new value.
    scenario_edits: tuple[tuple[str, str], ...] = ()


_CHANGE = re.compile(r"^(?P<key>[A-Za-z0-9_.\-]+)=(?P<value>.*)$")


def parse_variant(text: str) -> Variant:
    """`NAME:CHANGE,CHANGE…` → Variant; InputError naming the option on anything unclear."""
    source = f"--variant {text}"
    if ":" not in text:
        raise InputError(
            source, ["write NAME:CHANGE[,CHANGE…], e.g. no-sbirs:without=USA-SBIRS-GEO"]
        )
    name, _, rest = text.partition(":")
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", name):
        raise InputError(source, [f"variant name {name!r}: use letters, digits, - and _ only"])
    fusion: Fusion | None = None
    outages: dict[str, tuple[float, float]] = {}
    edits: list[tuple[str, str]] = []
    changes = tuple(c.strip() for c in rest.split(",") if c.strip())
    if not changes:
        raise InputError(source, ["give at least one change after the colon"])
    for change in changes:
        m = _CHANGE.match(change)
        if not m:
            raise InputError(source, [f"{change!r} is not KEY=VALUE"])
        key, value = m["key"], m["value"]
        if key == "fusion":
            if value not in ("distributed", "centralized"):
                raise InputError(source, [f"fusion={value}: use distributed or centralized"])
            fusion = "centralized" if value == "centralized" else "distributed"
        elif key == "without":
            outages[value] = (-np.inf, np.inf)
        elif key == "outage":
            window = re.fullmatch(r"(.+)@([0-9.]+)-([0-9.]+)", value)
            if not window:
                raise InputError(source, [f"outage={value}: write outage=SENSOR@START-END (s)"])
            outages[window[1]] = (float(window[2]), float(window[3]))
        elif key.startswith(("release.", "latency.", "loss.")):
            edits.append((key, value))
        else:
            raise InputError(
                source,
                [f"unknown change {key!r}; use fusion, without, outage, release., latency., loss."],
            )
    return Variant(name, changes, fusion, outages, tuple(edits))


def apply_edits(loaded: LoadedScenario, variant: Variant) -> LoadedScenario:
    """The scenario with the variant's release and link edits, validated again."""
    if not variant.scenario_edits:
        return loaded
    data = loaded.scenario.model_dump(mode="json")
    source = f"--variant {variant.name}"
    for key, value in variant.scenario_edits:
        kind, _, rest = key.partition(".")
        if kind == "release":
            owner, _, what = rest.rpartition(".")
            if what not in ("tracks", "plots"):
                raise InputError(source, [f"{key}: end with .tracks or .plots"])
            codes = [c for c in value.split("+") if c]
            if owner in data["nations"]:
                data["nations"][owner]["release"][what] = codes
            else:
                sensors = [s for s in data["sensors"] if s["id"] == owner]
                if not sensors:
                    raise InputError(source, [f"{key}: {owner!r} is neither a nation nor a sensor"])
                base = sensors[0]["release"] or data["nations"][sensors[0]["nation"]]["release"]
                sensors[0]["release"] = {**base, what: codes}
        else:
            pair = rest.split("-")
            if len(pair) != 2:
                raise InputError(source, [f"{key}: name the link as FROM-TO, e.g. USA-JPN"])
            links = [
                link
                for link in data.get("links", [])
                if not (link["from_nation"] == pair[0] and pair[1] in (link["to_nations"] or []))
            ]
            quality = {"latency_s": 0.0, "loss_probability": 0.0}
            for link in data.get("links", []):
                to = link["to_nations"]
                if link["from_nation"] == pair[0] and (to is None or pair[1] in to):
                    quality = {k: link[k] for k in quality}
            quality["latency_s" if kind == "latency" else "loss_probability"] = float(value)
            links.append({"from_nation": pair[0], "to_nations": [pair[1]], **quality})
            data["links"] = links
    try:
        scenario = Scenario.model_validate(data, context={"base_dir": loaded.base_dir})
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise InputError(source, problems) from None
    return LoadedScenario(scenario=scenario, path=loaded.path)


def drop_outages(plots: Table, outages: dict[str, tuple[float, float]]) -> Table:
    keep = np.ones(len(plots["time_s"]), dtype=bool)
    time_s = np.asarray(plots["time_s"], dtype=np.float64)
    sensor_id = np.asarray(plots["sensor_id"], dtype=object)
    for sensor, (start, end) in outages.items():
        keep &= ~((sensor_id == sensor) & (time_s >= start) & (time_s <= end))
    return {c: v[keep] for c, v in plots.items()}


def run_variant(
    sim: Simulation, variant: Variant, out: Path, settings: NetworkSettings, console: Console
) -> dict[str, Any]:
    """Run one variant over the shared simulation; its figures per viewer."""
    loaded = apply_edits(sim.loaded, variant)
    unknown = [s for s in variant.outages if s not in {x.id for x in loaded.scenario.sensors}]
    if unknown:
        raise InputError(
            f"--variant {variant.name}", [f"no sensor {s!r} in the scenario" for s in unknown]
        )
    plots = drop_outages(sim.plots, variant.outages)
    result = network_with_progress(loaded, plots, settings, variant.fusion, console)
    # Truth, reports and eligibility are the baseline's: only the network differs.
    sim.fusion_used = result.fusion_used
    sim.write(out)
    write_network_outputs(out, result)
    metrics = evaluate_run(out, EvaluationSettings(), write_report=False)
    return summarise(variant, metrics, result.seconds)


def summarise(variant: Variant, metrics: dict[str, Any], seconds: float) -> dict[str, Any]:
    common = metrics.get("commonality", {})
    pairs = common.get("pairs", []) if common.get("applicable") else []
    rows = []
    for viewer, v in metrics["viewers"].items():
        mine = [p["value"] for p in pairs if viewer in (p["nation_a"], p["nation_b"])]
        mine = [x for x in mine if x is not None]
        siap = v["siap"]
        rows.append(
            {
                "viewer": viewer,
                "completeness": siap.get("completeness"),
                "spuriousness": siap.get("spuriousness"),
                "position_accuracy_m": siap.get("position_accuracy_m"),
                "track_number_change_rate_per_s": siap.get("track_number_change_rate_per_s"),
                "gospa_mean_m": v["gospa"]["mean"]["distance_m"],
                "commonality_with_partners": float(np.mean(mine)) if mine else None,
            }
        )
    overall = common.get("overall", {}).get("value") if common.get("applicable") else None
    return {
        "variant": variant.name,
        "changes": list(variant.changes),
        "fusion": metrics["run"].get("fusion") if isinstance(metrics.get("run"), dict) else None,
        "commonality_all_nations": overall,
        "network_seconds": seconds,
        "viewers": rows,
    }


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="run variants of a scenario (fusion, outages, release rules, links); one table",
        description=(
            "Simulate the scenario once, run the network for the baseline and each variant, "
            "and compare every nation's picture quality. Variants: NAME:CHANGE[,CHANGE…] with "
            "changes fusion=centralized, without=SENSOR, outage=SENSOR@START-END, "
            "release.NATION.tracks=A+B, release.SENSOR.plots=, latency.FROM-TO=S, loss.FROM-TO=P."
        ),
    )
    parser.add_argument("scenario", type=Path, help="scenario file (.yaml)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:CHANGES",
        help="a variant to compare with the baseline (repeat for several)",
    )
    add_scenario_overrides(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    console = Console()
    variants = [Variant("baseline")] + [parse_variant(v) for v in args.variant]
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise InputError("--variant", ["two variants have the same name; names must differ"])
    loaded = load_scenario(args.scenario, scenario_overrides(args))
    for variant in variants:
        apply_edits(loaded, variant)  # every variant's edits are checked before any runs
    console.print(f"[bold]{loaded.scenario.name}[/]: simulating once for {len(variants)} runs")
    sim = simulate(loaded)
    settings = NetworkSettings()
    results = []
    for variant in variants:
        console.print(f"[bold]{variant.name}[/] {' '.join(variant.changes)}")
        results.append(run_variant(sim, variant, args.out / variant.name, settings, console))
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    document = {"scenario": loaded.scenario.name, "variants": results}
    (out / "compare.json").write_text(json.dumps(document, indent=2) + "\n")
    console.print(comparison_table(results))
    write_report(
        out / "report.html", [comparison_section(results)], f"{loaded.scenario.name}: variants"
    )
    console.print(f"wrote {out / 'compare.json'} and {out / 'report.html'}")
    return 0


COLUMNS = (
    ("completeness", "completeness", "{:.1%}"),
    ("spuriousness", "spurious", "{:.1%}"),
    ("gospa_mean_m", "GOSPA (m)", "{:,.0f}"),
    ("position_accuracy_m", "pos. error (m)", "{:,.0f}"),
    ("commonality_with_partners", "commonality", "{:.1%}"),
    ("track_number_change_rate_per_s", "TN changes/s", "{:.4f}"),
)


def _cell(value: Any, fmt: str) -> str:
    return "—" if value is None else fmt.format(value)


def comparison_table(results: list[dict[str, Any]]) -> RichTable:
    table = RichTable(title="picture quality per variant and viewer")
    table.add_column("variant")
    table.add_column("viewer")
    for _, label, _ in COLUMNS:
        table.add_column(label, justify="right")
    for r in results:
        for row in r["viewers"]:
            table.add_row(r["variant"], row["viewer"], *(_cell(row[k], f) for k, _, f in COLUMNS))
    return table


def comparison_section(results: list[dict[str, Any]]) -> Section:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in COLUMNS)
    body = []
    for r in results:
        for row in r["viewers"]:
            cells = "".join(f"<td>{_cell(row[k], f)}</td>" for k, _, f in COLUMNS)
            body.append(
                f"<tr><td>{html.escape(r['variant'])}</td><td>{html.escape(row['viewer'])}</td>"
                f"{cells}</tr>"
            )
    changes = "".join(
        f"<li><b>{html.escape(r['variant'])}</b>: "
        f"{html.escape(', '.join(r['changes']) or 'the scenario as it is')}"
        f" — all-nation commonality {_cell(r['commonality_all_nations'], '{:.1%}')}, "
        f"network {r['network_seconds']:.1f} s</li>"
        for r in results
    )
    text = (
        "<p>Same truth and reports for every variant; each picture judged against the "
        "baseline's eligible truths (what its allowed sources could see).</p>"
        f"<ul>{changes}</ul><table><tr><th>variant</th><th>viewer</th>{head}</tr>"
        + "".join(body)
        + "</table>"
    )
    return Section("Variants compared", text, "variants")
