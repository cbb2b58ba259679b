"""Web test fixtures; registers the `browser` marker (tests that drive headless Chromium)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives Debian's Chromium with Playwright (part of make test)"
    )
