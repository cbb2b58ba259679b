"""The standard atmosphere against the published ICAO / US Standard Atmosphere 1976 table."""

from __future__ import annotations

import numpy as np
import pytest

from airpicture.geo.atmosphere import (
    P11_PA,
    altitude_from_pressure_m,
    geometric_altitude_m,
    geometric_from_geopotential_m,
    geopotential_from_geometric_m,
    pressure_altitude_m,
    pressure_altitude_slope,
    pressure_from_altitude_m,
)

# (geopotential altitude m, pressure Pa) from the US Standard Atmosphere 1976 table
# (= ICAO standard atmosphere below 20 km), to the table's 5 significant figures.
ISA_TABLE = [
    (0.0, 101_325.0),
    (1_000.0, 89_874.6),
    (3_000.0, 70_108.5),
    (5_000.0, 54_019.9),
    (9_000.0, 30_742.5),
    (11_000.0, 22_632.1),
    (15_000.0, 12_044.6),
    (20_000.0, 5_474.89),
]


@pytest.mark.parametrize(("alt_m", "pressure_pa"), ISA_TABLE)
def test_pressure_matches_the_standard_table(alt_m: float, pressure_pa: float) -> None:
    assert pressure_from_altitude_m(alt_m) == pytest.approx(pressure_pa, rel=2e-5)
    assert altitude_from_pressure_m(pressure_pa) == pytest.approx(alt_m, abs=0.5)


def test_tropopause_pressure() -> None:
    assert pytest.approx(22_632.06, abs=0.05) == P11_PA


def test_geopotential_against_table() -> None:
    # US Standard Atmosphere 1976: 11 000 m geopotential is 11 019.1 m geometric;
    # 20 000 m geopotential is 20 063.1 m geometric.
    assert geometric_from_geopotential_m(11_000.0) == pytest.approx(11_019.1, abs=0.05)
    assert geometric_from_geopotential_m(20_000.0) == pytest.approx(20_063.1, abs=0.05)
    h = np.linspace(-500.0, 20_000.0, 101)
    assert np.allclose(geometric_from_geopotential_m(geopotential_from_geometric_m(h)), h)


def test_pressure_altitude_round_trip_and_slope() -> None:
    h = np.linspace(0.0, 15_000.0, 31)
    assert np.allclose(geometric_altitude_m(pressure_altitude_m(h)), h, atol=1e-6)
    step = 0.5
    numeric = (pressure_altitude_m(h + step) - pressure_altitude_m(h - step)) / (2 * step)
    assert np.allclose(pressure_altitude_slope(h), numeric, rtol=1e-9)
    # FL350 (35 000 ft pressure altitude) is about 10 688 m geometric in a standard day
    assert geometric_altitude_m(35_000 * 0.3048) == pytest.approx(10_686.2, abs=0.5)
