"""Other parts read tracks through `airpicture.tracking.view` without loading the tracker."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from airpicture.tracking.view import BoostReports


@pytest.mark.parametrize(
    "module",
    [
        "airpicture.tracking.view",
        "airpicture.threat",
        "airpicture.threat.assessor",
        "airpicture.fusion",
    ],
)
def test_importing_a_reader_of_tracks_does_not_load_the_tracker(module: str) -> None:
    """The view, and the parts that read it (threat, fusion), import without the tracker."""
    code = f"import sys, {module}; print('airpicture.tracking.tracker' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_package_still_names_the_tracker() -> None:
    from airpicture.tracking import Tracker
    from airpicture.tracking.tracker import Tracker as Direct

    assert Tracker is Direct


def boost(times: list[float]) -> BoostReports:
    t = np.asarray(times)
    return BoostReports(
        t, np.full(t.size, "SAT", object), np.zeros((t.size, 3)), np.ones((t.size, 3))
    )


def test_boost_reports_between_a_cursor_and_a_time() -> None:
    b = boost([1.0, 2.0, 3.0, 4.0])
    assert b.between(1.0, 3.0).time_s.tolist() == [2.0, 3.0]
    assert len(b.between(4.0, 9.0)) == 0


def test_boost_reports_keep_the_newest_rows() -> None:
    b = boost([1.0, 2.0]).appended(boost([3.0, 4.0, 5.0]), max_rows=3)
    assert b.time_s.tolist() == [3.0, 4.0, 5.0]
