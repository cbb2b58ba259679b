"""Build step: the page's front end goes into the wheel, copied from the npm packages.

`pip wheel .` / `pip install .` run `build_py`, which here also copies the files the
page and the outline reader need from the repository's `node_modules` (installed by
`npm ci` from package-lock.json; `make setup` does it) into the built package as
`airpicture/node_modules/`, in npm's own layout. Both readers — `airpicture.web.assets`
(the page's vendor files) and `airpicture.atlas` (country and land outlines) — find a
`node_modules` folder beside the package before any other, so an installed wheel serves
the page and runs scenarios offline, with no repository and no npm (docs/web.md,
"Installing").

Why a build step and not files kept in `src/`: the npm packages stay the one copy (pinned
by package-lock.json), the source tree holds no generated 15 MB, and a wheel cannot be
built without the front end (the build stops and says how to get it). An editable install
(`pip install -e .`, what `make setup` does) copies nothing: it reads the repository's own
`node_modules`.

Everything else (name, dependencies, package data) is in pyproject.toml.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
NODE_MODULES_ENV = "AIRPICTURE_NODE_MODULES"

#: npm package → (paths to copy, relative to the package; glob patterns to leave out).
#: What the page loads (web/assets.py VENDOR) and what airpicture.atlas reads, nothing more:
#: Cesium's ES module build (not its IIFE `Cesium.js` nor CommonJS `index.cjs`), milsymbol's
#: ES sources, topojson-client's sources, the 1:50m and 1:110m outlines (1:10m is unused).
BUNDLE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cesium": (
        ("Build/Cesium", "LICENSE.md", "package.json"),
        ("Build/Cesium/Cesium.js", "Build/Cesium/index.cjs", "*.map", "*.d.ts"),
    ),
    "milsymbol": (("index.js", "index.mjs", "src", "LICENSE", "package.json"), ("*.map",)),
    "topojson-client": (("src", "LICENSE", "package.json"), ()),
    "world-atlas": (
        (
            "countries-50m.json",
            "countries-110m.json",
            "land-50m.json",
            "land-110m.json",
            "LICENSE",
            "package.json",
        ),
        (),
    ),
}
#: The one file whose absence means "the npm packages are not installed".
MARKER = "cesium/Build/Cesium/Assets/Textures/NaturalEarthII/tilemapresource.xml"


def node_modules() -> Path:
    """`$AIRPICTURE_NODE_MODULES`, else the repository's `node_modules`; stops the build
    with how to get them when they are absent."""
    folder = Path(os.environ.get(NODE_MODULES_ENV) or ROOT / "node_modules")
    if not (folder / MARKER).is_file():
        raise SystemExit(
            f"airpicture build: {folder} does not hold the page's npm packages (no {MARKER}). "
            "Run `npm ci` in the repository (or `make setup`) before building the wheel, or set "
            f"{NODE_MODULES_ENV} to a node_modules folder that has cesium, milsymbol, "
            "topojson-client and world-atlas."
        )
    return folder


def bundle(source: Path, target: Path) -> list[Path]:
    """Copy BUNDLE's files from `source` (a node_modules) under `target`; the files written."""
    written: list[Path] = []
    for package, (paths, excluded) in BUNDLE.items():
        base = source / package

        def skip(relative: str, excluded: tuple[str, ...] = excluded) -> bool:
            return any(fnmatch.fnmatch(relative, pattern) for pattern in excluded)

        for path in paths:
            origin = base / path
            if not origin.exists():
                raise SystemExit(f"airpicture build: {origin} is missing; run `npm ci`")
            files = [origin] if origin.is_file() else sorted(origin.rglob("*"))
            for file in files:
                relative = file.relative_to(base).as_posix()
                if not file.is_file() or skip(relative):
                    continue
                out = target / package / relative
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(file, out)
                written.append(out)
    return written


class BuildWithFrontEnd(build_py):  # type: ignore[misc]
    """`build_py`, then the front end into `airpicture/node_modules` of the build."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the repository's node_modules
        target = Path(self.build_lib) / "airpicture" / "node_modules"
        if target.exists():
            shutil.rmtree(target)
        self._bundled = [str(p) for p in bundle(node_modules(), target)]

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs: list[str] = super().get_outputs(include_bytecode)
        return outputs + list(getattr(self, "_bundled", []))


setup(cmdclass={"build_py": BuildWithFrontEnd})
