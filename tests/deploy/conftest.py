"""A fresh deployment per test (keys and certificates are cheap), and its servers running."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from airpicture.deploy import Deployment, init_exercise, start_servers
from tests.conftest import REPO
from tests.deploy.helpers import make_streams

PACIFIC_SHIELD = REPO / "scenarios" / "pacific-shield.yaml"


@pytest.fixture
def pacific(tmp_path: Path) -> Deployment:
    return init_exercise(PACIFIC_SHIELD, tmp_path / "exercise")


@pytest.fixture
def pacific_up(pacific: Deployment) -> Iterator[Deployment]:
    """pacific-shield on one server, every nation's streams made by its node."""
    with start_servers(pacific):
        asyncio.run(make_streams(pacific))
        yield pacific
