"""Shared fixtures: where the scenarios are, and small scenario builders."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: The repository's copy, and the team's shared folder beside the repository when present:
#: tests load both so the two never drift apart.
SCENARIO_DIRS = [REPO / "scenarios"] + (
    [REPO.parent / "shared" / "scenarios"]
    if (REPO.parent / "shared" / "scenarios").is_dir()
    else []
)
SCENARIO_FILES = sorted(p for d in SCENARIO_DIRS for p in d.glob("*.yaml"))


@pytest.fixture
def repo() -> Path:
    return REPO
