"""The world-atlas outlines, read from the installed npm package: the one module that does.

Natural Earth land and country outlines ship in `node_modules/world-atlas/` (an
npm package of the project's `package.json`, installed by `make setup`), so
nothing is downloaded at run time. This module finds that folder and reads its
TopoJSON files; `airpicture.geo.land` decodes them (pure). Runners (the network's
default assessor factory, the threat replay, the report) call it once per
process (results are cached) and pass the outlines down: the numeric layers
read no files (docs/design.md, "Country outlines are loaded at the edge").
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from airpicture.errors import InputError
from airpicture.geo.land import (
    CountryOutlines,
    FloatArray,
    country_shapes_of,
    topology_rings,
)

#: Environment variable naming a `node_modules` folder to use instead of searching.
NODE_MODULES_ENV: Final = "AIRPICTURE_NODE_MODULES"
#: Outline resolutions shipped by world-atlas (Natural Earth scale 1:N million).
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


def _read_topology(kind: str, resolution: str) -> dict[str, Any]:
    """The parsed `world-atlas/{kind}-{resolution}.json`; `InputError` says how to fix it."""
    if resolution not in RESOLUTIONS:
        raise InputError("resolution", [f"{resolution!r} is not one of {', '.join(RESOLUTIONS)}"])
    path = world_atlas_dir() / f"{kind}-{resolution}.json"
    try:
        topology: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(
            str(path), [f"cannot read the {kind} outlines ({exc}); re-run `make setup`"]
        ) from exc
    return topology


@lru_cache(maxsize=4)
def land_rings(resolution: str = "50m") -> tuple[FloatArray, ...]:
    """Natural Earth land outlines at `resolution` ("110m", "50m" or "10m")."""
    return tuple(topology_rings(_read_topology("land", resolution), "land"))


@lru_cache(maxsize=4)
def country_outlines(resolution: str = "50m") -> CountryOutlines:
    """Natural Earth country outlines with their names and ISO numeric codes.

    Missing or unreadable data is not an error here (a run goes on without telling
    land from sea): the result then has no shapes and says why in `problem`.
    """
    try:
        topology = _read_topology("countries", resolution)
    except InputError as exc:
        if exc.source == "resolution":
            raise
        return CountryOutlines(problem=f"country outlines unavailable ({exc})")
    return CountryOutlines(shapes=country_shapes_of(topology))
