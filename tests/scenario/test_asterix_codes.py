"""ASTERIX SAC/SIC of a scenario's sensors: declared pairs are unique, the others are derived."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from airpicture.scenario import load_scenario
from airpicture.scenario.model import Scenario
from tests.conftest import SCENARIO_FILES


def scenario(sensors: list[dict[str, Any]]) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "codes",
            "epoch": "2026-01-01T23:00:00Z",
            "duration_s": 60,
            "nations": {"USA": {}, "JPN": {}},
            "sensors": sensors,
        }
    )


def radar(sensor_id: str, nation: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": sensor_id,
        "nation": nation,
        "type": "radar2d",
        "lat_deg": 35.0,
        "lon_deg": 139.0,
        "scan_period_s": 10,
        "max_range_m": 300_000,
        "sigma_range_m": 50,
        "sigma_az_deg": 0.1,
        **extra,
    }


def adsb(sensor_id: str, nation: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": sensor_id,
        "nation": nation,
        "type": "adsb",
        "lat_deg": 35.0,
        "lon_deg": 139.0,
        "max_range_m": 400_000,
        "report_period_s": 1,
        "sigma_pos_m": 30,
        **extra,
    }


def test_declared_pairs_are_kept_and_the_others_derived_per_nation() -> None:
    s = scenario(
        [
            radar("J1", "JPN"),
            radar("U1", "USA", sac=2, sic=1),
            adsb("J2", "JPN", sac=1, sic=1),
            adsb("U2", "USA"),
        ]
    )
    # nations sorted: JPN → SAC 1, USA → SAC 2; SIC skips pairs that are declared
    assert s.asterix_codes() == {"J1": (1, 2), "U1": (2, 1), "J2": (1, 1), "U2": (2, 2)}


def test_a_radar_and_an_adsb_station_may_not_share_a_pair() -> None:
    with pytest.raises(ValidationError, match="SAC/SIC 7/9 is already 'R1'"):
        scenario([radar("R1", "USA", sac=7, sic=9), adsb("A1", "JPN", sac=7, sic=9)])


def test_sac_without_sic_is_refused() -> None:
    with pytest.raises(ValidationError, match="give both sac and sic"):
        scenario([radar("R1", "USA", sac=7)])


def test_codes_out_of_range_are_refused() -> None:
    with pytest.raises(ValidationError):
        scenario([radar("R1", "USA", sac=256, sic=1)])


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_every_shared_scenario_gets_a_unique_pair_for_each_asterix_sensor(path: Any) -> None:
    s = load_scenario(path).scenario
    codes = s.asterix_codes()
    assert len(set(codes.values())) == len(codes)
    expected = {x.id for x in s.sensors if x.type in ("radar", "radar2d", "adsb")}
    assert set(codes) == expected
