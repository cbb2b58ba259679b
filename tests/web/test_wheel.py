"""The wheel carries the page: built from the repository, installed where there is no
repository and no npm, `airpicture serve` answers every request of the page itself.

The wheel is built as `pip wheel .` builds it (setup.py's build step bundles the npm
packages), without build isolation so that nothing is fetched. It is installed with
`--no-deps` into an empty virtual environment that sees the project venv's
site-packages through a .pth file, for the dependencies only: a .pth folder's own .pth
files are not read, so the project's editable install (which points at src/) is not
seen, and `airpicture` is the wheel's. The server runs from a working folder outside the
repository, with no AIRPICTURE_NODE_MODULES, so no node_modules but the wheel's can be
found; the page, loaded in Chromium, must get every file it asks for from it.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.web.browser import Page
from tests.web.conftest import SCENARIO

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: What the page loads from the bundle (one file of each npm package it uses).
BUNDLED = [
    "airpicture/node_modules/cesium/Build/Cesium/index.js",
    "airpicture/node_modules/cesium/Build/Cesium/Widgets/widgets.css",
    "airpicture/node_modules/cesium/Build/Cesium/Assets/Textures/NaturalEarthII/tilemapresource.xml",
    "airpicture/node_modules/milsymbol/index.js",
    "airpicture/node_modules/topojson-client/src/index.js",
    "airpicture/node_modules/world-atlas/countries-50m.json",
    "airpicture/node_modules/world-atlas/land-50m.json",
    "airpicture/web/static/index.html",
    "airpicture/web/static/app.js",
]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # setuptools builds in the repository's build/ folder: two xdist workers building at
    # once collide there ("File exists: build/bdist..."), so they take turns.
    (REPO / "build").mkdir(exist_ok=True)
    with (REPO / "build" / ".wheel-test.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps",
             "--no-build-isolation", "--no-index", "-q", "-w", str(out)],
            check=True, cwd=out, env=_env_without_node_modules(),
        )  # fmt: skip
    (built,) = out.glob("airpicture-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty venv with the wheel installed (no deps): its `bin` folder."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "-q", str(wheel)],
        check=True, env=_env_without_node_modules(),
    )  # fmt: skip
    site = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True,
        ).strip()
    )
    (site / "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


def _env_without_node_modules() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "AIRPICTURE_NODE_MODULES"}
    env["COLUMNS"] = "200"
    return env


def test_the_wheel_holds_the_front_end(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    static = REPO / "src" / "airpicture" / "web" / "static"
    own = [f"airpicture/web/static/{f.name}" for f in static.iterdir() if f.is_file()]
    missing = [n for n in [*BUNDLED, *own] if n not in names]
    assert not missing, f"the wheel lacks {missing}"
    # Natural Earth II, every level that the npm package ships.
    tiles = [n for n in names if "/NaturalEarthII/" in n and n.endswith(".jpg")]
    shipped = REPO / "node_modules/cesium/Build/Cesium/Assets/Textures/NaturalEarthII"
    assert len(tiles) == sum(1 for _ in shipped.rglob("*.jpg"))


@pytest.fixture(scope="module")
def wheel_server(
    installed: Path, ps_run: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    """`airpicture serve` of the installed wheel over the run, from a folder outside the repo."""
    work = tmp_path_factory.mktemp("elsewhere")
    # Where the installed package is, and what it finds: the wheel's own files.
    where = subprocess.check_output(
        [str(installed / "python"), "-c",
         "import airpicture, airpicture.atlas as a, airpicture.web.assets as w;"
         "print(airpicture.__file__); print(w.find_node_modules()); print(a.world_atlas_dir())"],
        text=True, cwd=work, env=_env_without_node_modules(),
    ).split()  # fmt: skip
    package = Path(where[0]).parent
    assert package.is_relative_to(installed.parent), where
    assert Path(where[1]) == package / "node_modules"
    assert Path(where[2]) == package / "node_modules" / "world-atlas"
    proc = subprocess.Popen(
        [str(installed / "airpicture"), "serve", str(ps_run), "--scenario", str(SCENARIO),
         "--port", "0", "--speed", "20"],
        cwd=work, env=_env_without_node_modules(), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    passwords: dict[str, str] = {}
    url = None
    deadline = time.monotonic() + 120
    lines: list[str] = []
    while url is None and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if m := re.match(r"^\s+(usa|jpn|aus|all)\s+(\S+)\s*$", line):
            passwords[m.group(1)] = m.group(2)
        if m := re.search(r"serving at (http://127\.0\.0\.1:\d+)", line):
            url = m.group(1)
    try:
        assert url, f"the installed server did not start: {''.join(lines)}"
        yield url, passwords
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_the_installed_wheel_serves_the_page_offline(
    wheel_server: tuple[str, dict[str, str]], browser: Any, tmp_path: Path
) -> None:
    url, passwords = wheel_server
    page = Page(browser, url, passwords, artifacts=tmp_path)
    try:
        page.sign_in("jpn", "JPN")
        page.seek(330)
        page.wait_time(330)
        # The globe drew Natural Earth tiles and the outlines from the bundle.
        page.page.wait_for_function(
            "window.__cop.globe().outlineScales && window.__cop.globe().scene.globe.tilesLoaded",
            timeout=60_000,
        )
        assert len(page.tracks()) > 5
        local = page.local
        assert any("/vendor/cesium/Assets/Textures/NaturalEarthII/" in u for u in local)
        assert any("/vendor/world-atlas/countries-50m.json" in u for u in local)
        assert any("/vendor/milsymbol/" in u for u in local)
        page.screenshot("wheel-jpn.png")
    finally:
        page.close()  # no request left the machine; none failed
