"""Attainable commonality: what the release rules allow each pair, beside what it measured."""

from __future__ import annotations

import numpy as np

from airpicture.metrics.commonality import (
    CommonalityResult,
    PairCommonality,
    attainable_commonality,
    sensor_rows,
)

NATIONS = ("AUS", "JPN", "USA")


def _result(pairs: list[PairCommonality]) -> CommonalityResult:
    empty = np.zeros(0, dtype=bool)
    return CommonalityResult(NATIONS, tuple(pairs), 0, 0, np.zeros(1, np.int64),
                             np.zeros(1, np.int64), empty, empty)  # fmt: skip


def test_a_pair_can_agree_only_where_a_sensor_seeing_the_object_releases_to_both() -> None:
    # sensors: J1 (JPN's, tracks to USA), U1 (USA's, tracks to nobody), A1 (AUS's, to all)
    sensors = ["J1", "U1", "A1"]
    marking = np.array(
        [
            [False, True, True],  # J1: JPN, USA
            [False, False, True],  # U1: USA only
            [True, True, True],  # A1: everyone
        ]
    )
    detectable_by = np.empty(4, dtype=object)
    detectable_by[:] = [["J1"], ["U1"], ["J1", "U1"], ["A1"]]
    detectable = sensor_rows(detectable_by, sensors)
    np.testing.assert_array_equal(detectable[2], [True, True, False])
    eligible = {
        "AUS": np.array([True, True, True, True]),
        "JPN": np.array([True, True, True, True]),
        "USA": np.array([True, True, True, True]),
    }
    pairs = [
        PairCommonality("JPN", "USA", 4, 3, 0, 1, 0),
        PairCommonality("AUS", "USA", 4, 1, 1, 2, 0),
    ]
    bounds = {(b.nation_a, b.nation_b): b for b in attainable_commonality(
        _result(pairs), eligible, detectable, marking, NATIONS)}  # fmt: skip
    jpn_usa = bounds[("JPN", "USA")]
    # rows 0 and 2 through J1, row 3 through A1; row 1 only USA's own sensor sees
    assert jpn_usa.attainable == 3 and jpn_usa.attainable_value == 0.75
    assert jpn_usa.measured_value == 0.75 and jpn_usa.held_value == 0.75
    aus_usa = bounds[("AUS", "USA")]
    assert aus_usa.attainable == 1  # only A1's row: nothing else may reach AUS
    assert aus_usa.held_value == 1 / 3
