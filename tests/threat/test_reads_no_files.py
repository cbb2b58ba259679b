"""The numeric layers read no files: country outlines are loaded at the edge and given.

ARCHITECTURE.md: `geo`, `threat` (and the other numeric layers) read no files.
In a fresh interpreter, every way of opening a file is made to fail; then a
`Geography` is built from outlines given in memory and a nation's assessor
assesses a ballistic-looking track. Nothing may try to read a file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from airpicture import atlas
from airpicture.geo.land import CountryOutlines
from airpicture.threat import NationalAssessor
from airpicture.threat.geography import Geography
from tests.threat.scenarios import launch_scenario

REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import builtins, io, os, pathlib

import numpy as np

from airpicture.geo import geodetic_to_ecef
from airpicture.geo.land import CountryOutlines, CountryShape
from airpicture.threat import BoostReports, NationalAssessor
from airpicture.threat.geography import Geography
from airpicture.tracking import TrackView
from tests.threat.scenarios import launch_scenario

scenario = launch_scenario().scenario  # built before files are refused
# A square "Japan" (ISO 3166 numeric 392) given in memory: no file behind it.
square = np.array([[138.0, 34.0], [142.0, 34.0], [142.0, 38.0], [138.0, 38.0], [138.0, 34.0]])
outlines = CountryOutlines(shapes=(CountryShape("392", "Japan", (square,)),))
pos = geodetic_to_ecef(39.5, 131.0, 150_000.0)
up = pos / np.linalg.norm(pos)
east = np.cross([0.0, 0.0, 1.0], up)
vel = 2500.0 * east / np.linalg.norm(east)


def view(t):
    sources = np.empty(1, dtype=object)
    sources[:] = [["RADAR"]]
    return TrackView(
        time_s=t, track_id=np.array(["T1"], dtype=object), number=np.arange(1),
        confirmed=np.ones(1, bool), x=np.r_[pos + vel * t, vel][None],
        P=np.diag([1e6, 1e6, 1e6, 1e2, 1e2, 1e2])[None],
        mode_probabilities=np.array([[0.0, 0.0, 1.0]]), mode_names=("cv", "manoeuvre", "ballistic"),
        ident=np.full(1, "", dtype="U16"), sources=sources,
    )


def assess_once():
    geography = Geography([("Tokyo", 35.68, 139.76)], outlines)
    assessor = NationalAssessor(scenario, "JPN", countries=outlines)
    warnings = []
    for k in range(30):
        warnings += assessor.assess(view(5.0 * k), BoostReports.none(), 5.0 * k).warnings
    return geography.describe(36.0, 140.0)[0], len(warnings), dict(assessor.notes)


assess_once()  # compiled kernels load from numba's cache (files) at their first call


def refuse(*args, **kwargs):
    raise AssertionError(f"a numeric layer tried to read a file: {args[:1]}")


builtins.open = io.open = os.open = refuse
pathlib.Path.open = pathlib.Path.read_text = pathlib.Path.read_bytes = refuse
where, warned, notes = assess_once()
assert where.endswith("on land in Japan"), where
assert warned > 0, notes
assert not any("outlines" in note for note in notes), notes
print("read no file")
"""


def test_geography_and_assessor_read_no_file() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("read no file")


def test_an_assessor_without_outlines_says_so() -> None:
    assessor = NationalAssessor(launch_scenario().scenario, "JPN")
    assert any("no country outlines given" in note for note in assessor.notes)
    assert not Geography([], CountryOutlines()).has_outlines


def test_a_missing_atlas_is_a_problem_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(atlas.NODE_MODULES_ENV, str(tmp_path))
    outlines = atlas.country_outlines.__wrapped__("110m")  # past the per-process cache
    assert outlines.shapes == () and "make setup" in outlines.problem
    geography = Geography([], outlines)
    assert "land and sea not told apart" in geography.problem


def test_installed_outlines_name_their_countries() -> None:
    outlines = atlas.country_outlines()
    if not outlines.shapes:
        pytest.skip(outlines.problem)
    japan = [s for s in outlines.shapes if s.iso_numeric == "392"]
    assert japan and japan[0].name == "Japan"
    assert Geography([], outlines).country_codes_at(35.68, 139.76).tolist() == ["392"]
