"""The small three-nation test scenario (tests/network/netscen.py) as a scenario file."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.network.netscen import NATIONS, SENSORS, TARGETS


def write_scenario(path: Path, duration_s: float = 60.0, seed: int = 3) -> Path:
    share_all = {n: {"tracks": [m for m in NATIONS if m != n], "plots": []} for n in NATIONS}
    data = {
        "name": "study-test",
        "epoch": "2026-01-01T00:00:00Z",
        "duration_s": duration_s,
        "seed": seed,
        "picture_interval_s": 5,
        "nations": {n: {"release": share_all[n]} for n in NATIONS},
        "sensors": SENSORS,
        "targets": TARGETS,
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path
