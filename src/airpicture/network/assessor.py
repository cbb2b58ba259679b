"""Assessor factories for the nodes: the threat part's (default) and a light kinematic one."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from airpicture.atlas import country_outlines
from airpicture.scenario import Scenario
from airpicture.threat import NationalAssessor
from airpicture.threat.assessment import Assessment, Assessor, BoostReports
from airpicture.tracking.view import TrackView, kinematic_class_ecef

#: Builds a nation's assessor (`nation` is "ALL" for a centralized picture).
AssessorFactory = Callable[[Scenario, str], Assessor]


class KinematicAssessor:
    """Class from the track's kinematics (`tracking.view.kinematic_class`), identity unknown."""

    def __init__(self, nation: str) -> None:
        self.nation = nation

    def assess(self, view: TrackView, boost: BoostReports, time_s: float) -> Assessment:
        n = view.x.shape[0]
        if n == 0:
            empty = np.empty(0, dtype=object)
            return Assessment(cls=empty, cls_confidence=np.empty(0), identity=empty.copy())
        cls = kinematic_class_ecef(view.x, view.mode_probabilities, view.mode_names)
        return Assessment(
            cls=cls,
            cls_confidence=np.full(n, 0.5),
            identity=np.full(n, "unknown", dtype=object),
        )


def kinematic_assessor(scenario: Scenario, nation: str) -> Assessor:
    """A light `AssessorFactory`: kinematic class, no warnings (for tests and scale runs)."""
    return KinematicAssessor(nation)


def national_assessor(scenario: Scenario, nation: str) -> Assessor:
    """The default `AssessorFactory`: the threat part's classification and warnings.

    For a centralized picture (`nation` "ALL") every defended asset is its own and
    its warnings go to the `ALL` viewer: the reference picture is for analysis.
    The country outlines are the installed world-atlas's, read here at the network's
    edge once per process (`airpicture.atlas`) and passed to the assessor.
    """
    return NationalAssessor(scenario, nation, countries=country_outlines())
