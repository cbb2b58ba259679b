"""Scenario format v1: every shared file loads unchanged; bad input gets one clear error."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from airpicture.cli import main
from airpicture.errors import InputError
from airpicture.scenario import (
    BallisticTarget,
    GeneratedAircraft,
    RadarSensor,
    ScenarioOverrides,
    TrafficTarget,
    load_scenario,
)
from tests.conftest import REPO, SCENARIO_FILES

PACIFIC = REPO / "scenarios" / "pacific-shield.yaml"


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_shared_scenario_loads_unchanged(path: Path) -> None:
    scenario = load_scenario(path).scenario
    assert scenario.sensors and scenario.targets
    assert scenario.epoch.tzinfo is not None


def test_repository_copies_match_the_shared_folder() -> None:
    shared = REPO.parent / "shared"
    if not shared.is_dir():
        pytest.skip("no ../shared beside the repository")
    for path in (shared / "scenarios").glob("*.yaml"):
        assert (REPO / "scenarios" / path.name).read_bytes() == path.read_bytes()
    for path in (shared / "data").iterdir():
        assert (REPO / "data" / path.name).read_bytes() == path.read_bytes()


def test_pacific_shield_fields_are_read_with_units_and_defaults() -> None:
    s = load_scenario(PACIFIC).scenario
    assert s.fusion == "distributed" and s.picture_interval_s == 5.0 and s.seed == 7
    tpy2 = s.sensor("USA-TPY2-SHARIKI")
    assert isinstance(tpy2, RadarSensor)
    assert (tpy2.boresight_az_deg, tpy2.half_width_deg, tpy2.min_el_deg) == (270, 60, 1.0)
    assert tpy2.sigma_range_rate_mps == 1.0
    sbirs = s.sensor("USA-SBIRS-GEO")
    assert sbirs.release is not None and sbirs.release.tracks == ["JPN"]
    bm1 = s.targets[0]
    assert isinstance(bm1, BallisticTarget) and bm1.apogee_m == 550_000 and bm1.burnout_s == 90
    assert [a.name for a in s.assets][:2] == ["Tokyo", "Naha"]


def test_overrides_change_seed_duration_and_generated_count() -> None:
    loaded = load_scenario(
        REPO / "scenarios" / "dense-traffic.yaml",
        ScenarioOverrides(seed=99, duration_s=60.0, count=10_000),
    )
    block = loaded.scenario.targets[0]
    assert isinstance(block, GeneratedAircraft) and block.count == 10_000
    assert (loaded.scenario.seed, loaded.scenario.duration_s) == (99, 60.0)


def test_traffic_path_is_relative_to_the_scenario_file() -> None:
    loaded = load_scenario(REPO / "scenarios" / "uk-opensky.yaml")
    spec = loaded.scenario.targets[0]
    assert isinstance(spec, TrafficTarget)
    assert spec.path(loaded.base_dir).is_file()


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = PACIFIC.read_text()
    assert old in text, old
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


@pytest.mark.parametrize(
    ("old", "new", "expected", "line_needle"),
    [
        (
            "sigma_az_deg: 0.02, sigma_el_deg: 0.02, sigma_range_rate_mps",
            "sigma_az_dg: 0.02, sigma_el_deg: 0.02, sigma_range_rate_mps",
            r"sensors\[6\] \(USA-TPY2-SHARIKI\)\.sigma_az_dg: unknown field 'sigma_az_dg'; "
            r"did you mean 'sigma_az_deg'\?",
            "sigma_az_dg",
        ),
        (
            "lat_deg: 38.08",
            "lat_deg: 98.08",
            r"sensors\[0\] \(JPN-FPS5-SADO\)\.lat_deg: Input should be less than or equal to 90",
            "98.08",
        ),
        (
            "nation: AUS, type: oth",
            "nation: AUZ, type: oth",
            r"sensors\[11\] \(AUS-JORN-LONGREACH\)\.nation: nation 'AUZ' is not declared",
            "AUZ",
        ),
        (
            "id: USA-DDG-SOJ",
            "id: USA-TPY2-SHARIKI",
            r"sensors\[8\] \(USA-TPY2-SHARIKI\)\.id: duplicate sensor id 'USA-TPY2-SHARIKI'",
            "USA-TPY2-SHARIKI, nation: USA, type: radar, lat_deg: 39.5",
        ),
        (
            "apogee_m: 550000",
            "apogee_m: 15000",
            r"targets\[0\] \(RED-BM-1\)\.apogee_m: apogee_m 15000 is below",
            "apogee_m: 15000",
        ),
        (
            "impact: {lat_deg: 41.0, lon_deg: 157.0}",
            "impact: {lat_deg: -30.0, lon_deg: 20.0}",
            r"targets\[0\] \(RED-BM-1\)\.apogee_m: a \d+ km range .* needs about \d+ m/s",
            "apogee_m: 550000, burnout_s: 90",
        ),
        (
            "{id: ANA001, kind: aircraft",
            "{id: ANA001, kind: airplane",
            r"targets\[5\] \(ANA001\)\.kind: Input should be 'aircraft' or 'cruise_missile'",
            "ANA001",
        ),
        ("fusion: distributed", "fusion: federated", r"fusion: Input should be", "federated"),
    ],
)
def test_bad_input_names_file_line_and_field(
    tmp_path: Path, old: str, new: str, expected: str, line_needle: str
) -> None:
    path = _broken(tmp_path, old, new)
    with pytest.raises(InputError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert re.search(expected, message), message
    assert f"line {_line_of(path, line_needle)}," in message, message


def test_yaml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text('name: x\nepoch: "2026-01-01T00:00:00Z"\nsensors: [\n  {id: a\n')
    with pytest.raises(InputError, match=r"bad\.yaml:5:1: YAML syntax error"):
        load_scenario(path)


def test_duplicate_yaml_keys_are_rejected(tmp_path: Path) -> None:
    path = _broken(tmp_path, "seed: 7", "seed: 7\nseed: 8")
    with pytest.raises(InputError, match=r"line \d+: seed is given twice"):
        load_scenario(path)


def test_missing_traffic_file_names_the_path(tmp_path: Path) -> None:
    shutil.copy(REPO / "scenarios" / "uk-opensky.yaml", tmp_path / "uk.yaml")
    with pytest.raises(InputError, match=r"traffic file '\.\./data/opensky.*' not found"):
        load_scenario(tmp_path / "uk.yaml")


def test_missing_required_field(tmp_path: Path) -> None:
    tail = "sigma_range_m: 60, sigma_az_deg: 0.08,\n     pd: 0.9, false_alarms_per_scan: 10"
    path = _broken(tmp_path, "max_range_m: 370000, " + tail, tail)
    with pytest.raises(InputError, match=r"\(JPN-ARSR-MITSUTOGE\)\.max_range_m: required field"):
        load_scenario(path)


def test_command_line_exits_2_with_one_readable_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _broken(tmp_path, "lat_deg: 38.08", "lat_deg: 98.08")
    assert main(["simulate", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "broken.yaml" in err and "Traceback" not in err
    assert main(["simulate", str(tmp_path / "nope.yaml"), "--out", str(tmp_path)]) == 2
    assert (
        main(
            [
                "simulate",
                str(REPO / "scenarios" / "uk-opensky.yaml"),
                "--out",
                str(tmp_path),
                "--count",
                "3",
            ]
        )
        == 2
    )


def test_a_trajectory_the_solver_cannot_fly_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 21 km apogee over 2,700 km passes the vacuum check but not the atmosphere."""
    path = _broken(tmp_path, "apogee_m: 550000", "apogee_m: 21000")
    assert main(["simulate", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "targets[0] (RED-BM-1)" in err and "cannot fly RED-BM-1" in err
    assert "Traceback" not in err
