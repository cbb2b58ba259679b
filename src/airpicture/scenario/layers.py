"""Map layers: GeoJSON files (airspace, ADIZ, FIR, exercise areas) drawn on every page.

One reader, `read_geojson`, for every way a layer arrives: a scenario's `layers:`
(checked when the scenario loads), and a run folder's `layers/*.geojson` (read by
the COP server). It refuses, naming the file and the fix, anything the page could
not draw or that could exhaust the server or the browser: more than
`MAX_LAYER_BYTES`, nesting deeper than `MAX_LAYER_DEPTH`, more than
`MAX_LAYER_POSITIONS` positions, a position that is not a finite WGS-84 lon/lat,
NaN or Infinity, or a top level that is not GeoJSON (RFC 7946).

`write_layers` copies a scenario's layers into a run folder's `layers/` (what
`airpicture run`, `simulate` and `exercise` write), one `NAME.geojson` each with
the scenario's colour in its top-level `"color"`, so that a replay of the run
draws what the live pages drew.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from airpicture.errors import InputError

if TYPE_CHECKING:
    from airpicture.scenario.load import LoadedScenario

#: Folder of a run output holding the GeoJSON layers to draw, one `NAME.geojson` a layer.
LAYERS_DIR: Final = "layers"
#: A detailed FIR or ADIZ outline is a few hundred kB; every layer goes to every page.
MAX_LAYER_BYTES: Final = 8 * 2**20
#: FeatureCollection → features → Feature → geometry → MultiPolygon coordinates is 8 deep.
MAX_LAYER_DEPTH: Final = 32
#: Positions in one file (the page draws each as a vertex).
MAX_LAYER_POSITIONS: Final = 500_000
#: A layer's colour, in the scenario or a file's top-level "color": `#rgb` or `#rrggbb`
#: (what every browser parses; anything else the page could not draw).
LAYER_COLOR_PATTERN: Final = r"^#(?:[0-9a-fA-F]{3}){1,2}$"
GEOJSON_TYPES: Final = frozenset(
    {
        "FeatureCollection",
        "Feature",
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
    }
)
_FIX: Final = (
    "give a GeoJSON file (RFC 7946: a FeatureCollection, Feature or geometry in WGS-84 "
    "lon/lat degrees)"
)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number GeoJSON may hold")


def _finite_float(text: str) -> float:
    """A JSON number as a float, refused if it overflows (1e400 reads as infinity, which
    no JSON can hold: the layer could not be written into a run folder or sent on)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is too large a number")
    return value


def read_geojson(path: Path) -> dict[str, Any]:
    """The GeoJSON object in `path`, checked (see the module doc); `InputError` naming the
    file and saying how to fix it otherwise."""
    if path.is_dir():
        raise InputError(str(path), [f"is a folder, not a GeoJSON file; {_FIX}"])
    if not path.is_file():
        raise InputError(str(path), [f"no such GeoJSON file; {_FIX}"])
    size = path.stat().st_size
    if size > MAX_LAYER_BYTES:
        raise InputError(
            str(path),
            [
                f"{size:,} bytes; a map layer is at most {MAX_LAYER_BYTES:,} (simplify the "
                "outlines, e.g. `ogr2ogr -simplify 0.001`, or split the file)"
            ],
        )
    try:
        data = json.loads(
            path.read_bytes(), parse_constant=_refuse_constant, parse_float=_finite_float
        )
    except RecursionError:
        raise InputError(
            str(path), [f"nested deeper than {MAX_LAYER_DEPTH} levels; {_FIX}"]
        ) from None
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError included
        raise InputError(str(path), [f"not a readable JSON file ({exc}); {_FIX}"]) from None
    if not isinstance(data, dict) or data.get("type") not in GEOJSON_TYPES:
        raise InputError(
            str(path),
            [
                "not GeoJSON: the top level must be an object whose 'type' is "
                "FeatureCollection, Feature or a geometry (RFC 7946), in WGS-84 lon/lat degrees"
            ],
        )
    problem = _shape_problem(data)
    if problem is not None:
        raise InputError(str(path), [f"{problem}; {_FIX}"])
    return data


def _shape_problem(data: dict[str, Any]) -> str | None:
    """Why `data` is too deep, too large or holds a position that is not lon/lat (None: fine).

    Walks the tree with a stack (no recursion); a list whose first item is a number is a
    position."""
    positions = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_LAYER_DEPTH:
            return f"nested deeper than {MAX_LAYER_DEPTH} levels"
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            if value and _is_number(value[0]):
                positions += 1
                if positions > MAX_LAYER_POSITIONS:
                    return f"more than {MAX_LAYER_POSITIONS:,} positions (simplify the outlines)"
                if not _is_position(value):
                    shown = json.dumps(value)[:80]
                    return f"position {shown} is not [lon_deg, lat_deg] or [lon, lat, alt_m]"
            else:
                stack.extend((v, depth + 1) for v in value)
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_position(value: list[Any]) -> bool:
    if not 2 <= len(value) <= 3 or not all(_is_number(v) and math.isfinite(v) for v in value):
        return False
    return bool(-180.0 <= value[0] <= 180.0 and -90.0 <= value[1] <= 90.0)


def layer_documents(loaded: LoadedScenario) -> list[tuple[str, dict[str, Any]]]:
    """Each of the scenario's `layers:` as (name, GeoJSON), its `color` put in the GeoJSON's
    top-level `"color"` (where a run folder's layer keeps its colour)."""
    out = []
    for layer in loaded.scenario.layers:
        data = read_geojson(loaded.base_dir / layer.path)
        if layer.color is not None:
            data = {**data, "color": layer.color}
        out.append((layer.layer_name, data))
    return out


def write_layers(loaded: LoadedScenario, out_dir: Path) -> list[Path]:
    """Copy the scenario's `layers:` into `out_dir/layers/NAME.geojson` (with its colour);
    the files written (none when the scenario names no layer)."""
    written = []
    for name, data in layer_documents(loaded):
        folder = out_dir / LAYERS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{name}.geojson"
        target.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        written.append(target)
    return written
