"""Web test fixtures: the `browser` marker, Debian's Chromium, and one short pacific-shield run.

The run (to 420 s: RED-BM-1 launches at 300 s) and the browser are made once per test
process and shared by the browser tests, so that each pays for neither.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS

SCENARIO = REPO / "scenarios" / "pacific-shield.yaml"
FIXTURE_WARNINGS = Path(__file__).parent / "fixtures" / "warnings_pacific_shield.jsonl"
RUN_SECONDS = 420


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives Debian's Chromium with Playwright (part of make test)"
    )


def _has_launch_warning(path: Path) -> bool:
    if not path.is_file():
        return False
    return any(json.loads(line).get("kind") == "launch" for line in path.read_text().splitlines())


@pytest.fixture(scope="session")
def ps_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pacific-shield to 420 s, with its warnings (the fixture's when the run makes none)."""
    from airpicture.cli import main as airpicture

    out = tmp_path_factory.mktemp("ps-run")
    code = airpicture(
        ["run", str(SCENARIO), "--out", str(out), "--duration-s", str(RUN_SECONDS), "--no-report"]
    )
    assert code == 0
    if not _has_launch_warning(out / "warnings.jsonl"):
        shutil.copy(FIXTURE_WARNINGS, out / "warnings.jsonl")
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium, for one test module. Not for the session: while Playwright's sync API is
    open its event loop is the thread's running loop, so `asyncio.run` in any later test
    on the same worker (tests/web/test_guard.py) would fail."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.fail("Debian's Chromium is missing: `apt-get install chromium` (make setup does)")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()
