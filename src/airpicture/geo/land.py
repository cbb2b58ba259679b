"""Coastlines from the `world-atlas` TopoJSON files installed by `make setup`.

Natural Earth land outlines ship in `node_modules/world-atlas/` (an npm package
listed in the project's `package.json`), so maps never download anything at run
time. This module finds that folder and decodes its TopoJSON into rings of
(lon_deg, lat_deg) — enough to draw land on a report map.

TopoJSON in one paragraph: a topology stores every boundary once, as an *arc*
(a polyline); a polygon is a list of rings, each ring a list of arc indices,
where a negative index `~i` (that is `-i - 1`) means arc `i` walked backwards.
A quantized file stores each arc as integer deltas from its previous point;
`transform` maps the running sums back to degrees:
`lon = x * scale[0] + translate[0]`, `lat = y * scale[1] + translate[1]`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from airpicture.errors import InputError

FloatArray = NDArray[np.float64]

#: Environment variable naming a `node_modules` folder to use instead of searching.
NODE_MODULES_ENV: Final = "AIRPICTURE_NODE_MODULES"
#: Land outline resolutions shipped by world-atlas (Natural Earth scale 1:N million).
RESOLUTIONS: Final = ("110m", "50m", "10m")


def world_atlas_dir(start: Path | None = None) -> Path:
    """The installed `node_modules/world-atlas` folder.

    Looks in `$AIRPICTURE_NODE_MODULES` first, then walks up from this package's
    folder and from `start` (default: the working directory) to the first
    `node_modules/world-atlas`. Raises `InputError` saying how to install it.
    """
    override = os.environ.get(NODE_MODULES_ENV)
    if override:
        candidate = Path(override) / "world-atlas"
        if candidate.is_dir():
            return candidate
        raise InputError(
            NODE_MODULES_ENV,
            [
                f"{override!r} has no world-atlas folder; point it at a node_modules folder "
                "that has one, or unset it and run `make setup`"
            ],
        )
    roots = [Path(__file__).resolve().parent, (start or Path.cwd()).resolve()]
    for root in roots:
        for folder in (root, *root.parents):
            candidate = folder / "node_modules" / "world-atlas"
            if candidate.is_dir():
                return candidate
    raise InputError(
        "node_modules/world-atlas",
        [
            "the coastline data is not installed; run `make setup` in the project folder "
            f"(it runs `npm ci`), or set {NODE_MODULES_ENV} to a node_modules folder "
            "with world-atlas"
        ],
    )


def decode_arcs(
    arcs: Sequence[Sequence[Sequence[float]]], transform: Any | None
) -> list[FloatArray]:
    """TopoJSON arcs → list of `(n, 2)` arrays of (lon_deg, lat_deg).

    Quantized arcs (with a `transform`) are delta-encoded:
    position_k = Σ_{i≤k} delta_i, then lon, lat = position * scale + translate.
    """
    decoded: list[FloatArray] = []
    if transform is None:
        for arc in arcs:
            decoded.append(np.asarray(arc, dtype=np.float64)[:, :2])
        return decoded
    scale = np.asarray(transform["scale"], dtype=np.float64)
    translate = np.asarray(transform["translate"], dtype=np.float64)
    for arc in arcs:
        deltas = np.asarray(arc, dtype=np.float64)[:, :2]
        # p_k = Σ_{i≤k} Δ_i ; lonlat = p * scale + translate
        decoded.append(np.cumsum(deltas, axis=0) * scale + translate)
    return decoded


def _ring(arc_indices: Sequence[int], arcs: Sequence[FloatArray]) -> FloatArray:
    """Join the arcs of one ring; consecutive arcs share their joining point."""
    pieces: list[FloatArray] = []
    for k, index in enumerate(arc_indices):
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        pieces.append(arc if k == 0 else arc[1:])
    return np.concatenate(pieces, axis=0) if pieces else np.empty((0, 2))


def topology_rings(topology: dict[str, Any], object_name: str) -> list[FloatArray]:
    """Every polygon ring of `topology['objects'][object_name]`, as `(n, 2)` lon/lat arrays."""
    arcs = decode_arcs(topology["arcs"], topology.get("transform"))
    rings: list[FloatArray] = []

    def visit(geometry: dict[str, Any]) -> None:
        kind = geometry.get("type")
        if kind == "GeometryCollection":
            for child in geometry.get("geometries", []):
                visit(child)
        elif kind == "Polygon":
            rings.extend(_ring(r, arcs) for r in geometry["arcs"])
        elif kind == "MultiPolygon":
            for polygon in geometry["arcs"]:
                rings.extend(_ring(r, arcs) for r in polygon)

    visit(topology["objects"][object_name])
    return rings


@lru_cache(maxsize=4)
def land_rings(resolution: str = "50m") -> tuple[FloatArray, ...]:
    """Natural Earth land outlines at `resolution` ("110m", "50m" or "10m")."""
    if resolution not in RESOLUTIONS:
        raise InputError("resolution", [f"{resolution!r} is not one of {', '.join(RESOLUTIONS)}"])
    path = world_atlas_dir() / f"land-{resolution}.json"
    try:
        topology = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(
            str(path), [f"cannot read the land outlines ({exc}); re-run `make setup`"]
        ) from exc
    return tuple(topology_rings(topology, "land"))


@dataclass(frozen=True)
class CountryShape:
    """One country of world-atlas: ISO 3166-1 numeric id, Natural Earth name, outline rings."""

    iso_numeric: str
    name: str
    #: Every ring (outer boundaries and holes alike) as `(n, 2)` lon/lat arrays;
    #: a point is inside when an odd number of rings hold it.
    rings: tuple[FloatArray, ...]


@lru_cache(maxsize=4)
def country_shapes(resolution: str = "50m") -> tuple[CountryShape, ...]:
    """Natural Earth country outlines with their names (world-atlas `countries-*.json`)."""
    if resolution not in RESOLUTIONS:
        raise InputError("resolution", [f"{resolution!r} is not one of {', '.join(RESOLUTIONS)}"])
    path = world_atlas_dir() / f"countries-{resolution}.json"
    try:
        topology = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(
            str(path), [f"cannot read the country outlines ({exc}); re-run `make setup`"]
        ) from exc
    arcs = decode_arcs(topology["arcs"], topology.get("transform"))
    shapes: list[CountryShape] = []
    for geometry in topology["objects"]["countries"].get("geometries", []):
        kind = geometry.get("type")
        polygons = (
            [geometry["arcs"]]
            if kind == "Polygon"
            else geometry["arcs"]
            if kind == "MultiPolygon"
            else []
        )
        rings = tuple(_ring(r, arcs) for polygon in polygons for r in polygon)
        if rings:
            shapes.append(
                CountryShape(
                    iso_numeric=str(geometry.get("id", "")),
                    name=str(geometry.get("properties", {}).get("name", "")),
                    rings=rings,
                )
            )
    return tuple(shapes)
