"""Where the page's files come from: our own `static/`, and npm packages in a `node_modules/`.

Everything the page loads is served from these folders by the server itself;
nothing is fetched from the internet (docs/web.md, "Offline assets").

A wheel carries the npm packages' files the page needs as `airpicture/node_modules/`
(bundled at build time by setup.py, in npm's layout), so an installed package serves
the page with no repository and no npm; in a repository checkout (an editable install)
the repository's own `node_modules` is found further up.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from airpicture.errors import InputError

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
#: The npm packages bundled into an installed wheel (setup.py's build step).
BUNDLED_NODE_MODULES: Final = Path(__file__).resolve().parent.parent / "node_modules"

#: URL prefix → folder inside node_modules.
VENDOR: Final = {
    "cesium": Path("cesium/Build/Cesium"),
    "milsymbol": Path("milsymbol"),
    "topojson-client": Path("topojson-client/src"),
    "world-atlas": Path("world-atlas"),
}
#: Cesium's offline imagery (Natural Earth II, a TMS tile set in the npm package).
NATURAL_EARTH: Final = Path("cesium/Build/Cesium/Assets/Textures/NaturalEarthII")


def _complete(candidate: Path) -> bool:
    return (
        all((candidate / sub).is_dir() for sub in VENDOR.values())
        and (candidate / NATURAL_EARTH / "tilemapresource.xml").is_file()
    )


def find_node_modules() -> Path:
    """The page's npm packages: `$AIRPICTURE_NODE_MODULES` when set (an operator's explicit
    choice), else the installed package's own bundle, else the nearest `node_modules` up
    from this package or the working folder (a repository checkout)."""
    env = os.environ.get("AIRPICTURE_NODE_MODULES")
    starts = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates = [
        *starts,
        BUNDLED_NODE_MODULES,
        *(p / "node_modules" for p in (*here.parents, Path.cwd(), *Path.cwd().parents)),
    ]
    for candidate in candidates:
        if _complete(candidate):
            return candidate
    raise InputError(
        "node_modules",
        [
            "the page's npm packages (cesium, milsymbol, topojson-client, world-atlas) are not "
            "installed: install airpicture from a wheel built in the repository (`pip wheel .` "
            "bundles them), run `make setup` (or `npm ci`) in the repository, or set "
            "AIRPICTURE_NODE_MODULES to a node_modules folder that has them."
        ],
    )
