"""Land and country outlines decoded from world-atlas TopoJSON: pure, no file reading.

Natural Earth outlines ship in the `world-atlas` npm package; `airpicture.atlas`
(the edge) finds and reads those files and hands the parsed TopoJSON to the
functions here, which turn it into rings of (lon_deg, lat_deg). Numeric code
(the threat part's `Geography`) takes the result as an argument.

TopoJSON in one paragraph: a topology stores every boundary once, as an *arc*
(a polyline); a polygon is a list of rings, each ring a list of arc indices,
where a negative index `~i` (that is `-i - 1`) means arc `i` walked backwards.
A quantized file stores each arc as integer deltas from its previous point;
`transform` maps the running sums back to degrees:
`lon = x * scale[0] + translate[0]`, `lat = y * scale[1] + translate[1]`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


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


@dataclass(frozen=True)
class CountryShape:
    """One country of world-atlas: ISO 3166-1 numeric id, Natural Earth name, outline rings."""

    iso_numeric: str
    name: str
    #: Every ring (outer boundaries and holes alike) as `(n, 2)` lon/lat arrays;
    #: a point is inside when an odd number of rings hold it.
    rings: tuple[FloatArray, ...]


def country_shapes_of(topology: dict[str, Any]) -> tuple[CountryShape, ...]:
    """Every country of a world-atlas `countries-*.json` topology that has an outline."""
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


@dataclass(frozen=True)
class CountryOutlines:
    """The country outlines a run has: loaded at the edge (`airpicture.atlas`), or none
    and why (then land and sea are not told apart, and the assessor notes it)."""

    shapes: tuple[CountryShape, ...] = ()
    #: Why there are no outlines ("" when they were loaded).
    problem: str = ""
