"""Warning measures (airpicture.metrics.warnings) on the short launch scenario's run folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from airpicture.metrics.warnings import warning_measures, warnings_section
from airpicture.sim.simulate import simulate
from airpicture.threat import assess_plots, write_jsonl
from airpicture.threat.warning import PredictedImpact, Warning, write_warnings
from tests.threat.scenarios import launch_scenario


def test_measures_from_a_run_folder(tmp_path: Path) -> None:
    loaded = launch_scenario(duration_s=480.0)
    sim = simulate(loaded)
    sim.write(tmp_path)
    assert warning_measures(tmp_path) is None  # no warnings.jsonl yet
    run = assess_plots(sim.plots, loaded.scenario, viewers=sim.run_info()["viewers"])
    bogus = Warning(
        time_s=100.0, warning_id="X", kind="impact_area", track_id="T9",
        recipients=("JPN",), text="bogus",
        predicted_impact=PredictedImpact(lat_deg=10.0, lon_deg=160.0, time_s=400.0,
                                         semi_major_m=5000, semi_minor_m=3000,
                                         orientation_deg=0.0, confidence=0.95),
    )  # fmt: skip
    write_warnings(tmp_path / "warnings.jsonl", [*run.warnings, bogus])
    write_jsonl(tmp_path / "threats.jsonl", run.threats)
    m = warning_measures(tmp_path)
    assert m is not None
    jpn = m["nations"]["JPN"]
    assert jpn["false_warnings"] == 1 and jpn["false_warning_ids"] == ["X"]
    assert jpn["missed_missiles"] == []
    bm = jpn["missiles"]["BM"]
    assert bm["launch_to_first_warning_s"] == pytest.approx(15.0, abs=20.0)
    assert bm["detection_to_first_warning_s"] < 60.0
    assert bm["impact_error_2min_before_m"] < 10_000.0
    assert m["nations"]["USA"]["false_warnings"] == 0
    assert "Warnings" in warnings_section(m).title


def test_a_warning_before_a_launch_is_not_about_that_missile(tmp_path: Path) -> None:
    # The same aim point warned of before the missile left the ground: a false warning,
    # never that missile's (found in compare: a run ending at RED-BM-2's launch counted
    # RED-BM-1's warnings as RED-BM-2's, "warned 200 s before launch", 727 km off).
    loaded = launch_scenario(duration_s=480.0)
    sim = simulate(loaded)
    sim.write(tmp_path)
    info = sim.run_info()
    bm = info["ballistic"]["BM"]
    (launch_s,) = [t.launch_s for t in loaded.scenario.targets if t.id == "BM"]
    early = Warning(
        time_s=float(launch_s) - 10.0, warning_id="EARLY", kind="impact_area", track_id="T1",
        recipients=("JPN",), text="early",
        predicted_impact=PredictedImpact(lat_deg=bm["impact_lat_deg"],
                                         lon_deg=bm["impact_lon_deg"], time_s=400.0,
                                         semi_major_m=5000, semi_minor_m=3000,
                                         orientation_deg=0.0, confidence=0.95),
    )  # fmt: skip
    write_warnings(tmp_path / "warnings.jsonl", [early])
    jpn = warning_measures(tmp_path)["nations"]["JPN"]  # type: ignore[index]
    assert jpn["false_warning_ids"] == ["EARLY"] and jpn["missed_missiles"] == ["BM"]


def test_a_missile_launched_as_the_run_ends_is_not_judged(tmp_path: Path) -> None:
    loaded = launch_scenario(duration_s=480.0)
    (launch_s,) = [t.launch_s for t in loaded.scenario.targets if t.id == "BM"]
    short = launch_scenario(duration_s=float(launch_s))
    sim = simulate(short)
    sim.write(tmp_path)
    write_warnings(tmp_path / "warnings.jsonl", [])
    jpn = warning_measures(tmp_path)["nations"]["JPN"]  # type: ignore[index]
    assert jpn["missiles"] == {} and jpn["missed_missiles"] == []
