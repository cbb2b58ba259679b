"""A variant of a scenario: what changes against the baseline (`NAME:CHANGE,CHANGE…`).

| change | meaning |
|---|---|
| `fusion=centralized` (or `distributed`) | the fusion architecture |
| `without=SENSOR` | the sensor is out for the whole run (its reports are dropped) |
| `outage=SENSOR@START-END` | the sensor is out from START to END (s) |
| `release.NATION.tracks=A+B` | a nation's default track release (`plots` likewise; empty: none) |
| `release.SENSOR.plots=A+B` | one sensor's release override (`tracks` likewise) |
| `latency.FROM-TO=S`, `loss.FROM-TO=P` | one network link's latency (s) and loss probability |
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from pydantic import ValidationError

from airpicture.errors import InputError
from airpicture.network.run import Fusion
from airpicture.scenario import LoadedScenario, Scenario
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
            window = re.fullmatch(r"(.+)@(\d+(?:\.\d*)?)-(\d+(?:\.\d*)?)", value)
            if not window:
                raise InputError(source, [f"outage={value}: write outage=SENSOR@START-END (s)"])
            start_s, end_s = float(window[2]), float(window[3])
            if end_s <= start_s:
                raise InputError(
                    source,
                    [
                        f"outage={value}: the end ({end_s:g} s) is not after the start "
                        f"({start_s:g} s); write outage=SENSOR@START-END with START < END, "
                        f"e.g. {window[1]}@{end_s:g}-{start_s:g}"
                    ],
                )
            outages[window[1]] = (start_s, end_s)
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
