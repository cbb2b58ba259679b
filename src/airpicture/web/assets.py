"""Where the page's files come from: our own `static/`, and npm packages in `node_modules/`.

Everything the page loads is served from these folders by the server itself;
nothing is fetched from the internet (docs/web.md, "Offline assets").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from airpicture.errors import InputError

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"

#: URL prefix → folder inside node_modules.
VENDOR: Final = {
    "cesium": Path("cesium/Build/Cesium"),
    "milsymbol": Path("milsymbol"),
    "topojson-client": Path("topojson-client/src"),
    "world-atlas": Path("world-atlas"),
}
#: Cesium's offline imagery (Natural Earth II, a TMS tile set in the npm package).
NATURAL_EARTH: Final = Path("cesium/Build/Cesium/Assets/Textures/NaturalEarthII")


def find_node_modules() -> Path:
    """The project's `node_modules` (env `AIRPICTURE_NODE_MODULES`, else the nearest one up)."""
    env = os.environ.get("AIRPICTURE_NODE_MODULES")
    starts = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates = starts + [
        p / "node_modules" for p in (*here.parents, Path.cwd(), *Path.cwd().parents)
    ]
    for candidate in candidates:
        if (
            all((candidate / sub).is_dir() for sub in VENDOR.values())
            and (candidate / NATURAL_EARTH / "tilemapresource.xml").is_file()
        ):
            return candidate
    raise InputError(
        "node_modules",
        [
            "the page's npm packages (cesium, milsymbol, topojson-client, world-atlas) are not "
            "installed: run `make setup` (or `npm ci` in the repository), or set "
            "AIRPICTURE_NODE_MODULES to a node_modules folder that has them."
        ],
    )
