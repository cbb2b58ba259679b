"""Roles are swappable: the tracker calls only through `TrackerRoles`."""

from __future__ import annotations

import numpy as np

from airpicture.tracking.association import GNNAssociator, JPDAAssociator, gnn_assign
from airpicture.tracking.roles import Assigner, TrackerRoles
from airpicture.tracking.settings import TrackerSettings
from airpicture.tracking.store import CONFIRMED
from airpicture.tracking.tracker import Tracker
from tests.tracking.plotgen import aircraft, radar, scan_plots


def test_a_replacement_associator_is_used() -> None:
    calls: list[int] = []

    def counting_gnn(
        track_index: np.ndarray, meas_index: np.ndarray, cost: np.ndarray, miss_cost: float
    ) -> tuple[np.ndarray, np.ndarray]:
        calls.append(int(track_index.size))
        return gnn_assign(track_index, meas_index, cost, miss_cost)

    role: Assigner = counting_gnn
    rng = np.random.default_rng(8)
    s = radar(false_alarms=5.0)
    pos0, vel0 = aircraft(rng, 5)
    tracker = Tracker([s], roles=TrackerRoles(assigner=role))
    tracker.process(scan_plots(rng, s, pos0, vel0, 60.0))
    tracker.flush()
    assert calls and sum(calls) > 0
    assert (tracker.tracks.status == CONFIRMED).sum() >= 4


def test_the_associator_is_chosen_once_from_the_settings() -> None:
    s = radar()
    assert isinstance(Tracker([s]).associator, GNNAssociator)
    jpda = Tracker([s], TrackerSettings(association="jpda")).associator
    assert isinstance(jpda, JPDAAssociator)
