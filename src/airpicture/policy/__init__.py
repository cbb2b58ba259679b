"""Release rules: what each nation gives to whom, markings, and their enforcement."""

from airpicture.policy.enforce import ReleaseCounts, ReleaseGuard
from airpicture.policy.markings import ReleasePolicy, most_restrictive
from airpicture.policy.release import (
    plot_receivers_of_sensor,
    poolable_sensors,
    receivers_of_sensor,
    release_of_sensor,
    track_receivers_of_sensor,
    viewable_sensors,
)

__all__ = [
    "ReleaseCounts",
    "ReleaseGuard",
    "ReleasePolicy",
    "most_restrictive",
    "plot_receivers_of_sensor",
    "poolable_sensors",
    "receivers_of_sensor",
    "release_of_sensor",
    "track_receivers_of_sensor",
    "viewable_sensors",
]
