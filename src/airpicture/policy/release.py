"""Which nations may receive each sensor's data, from the scenario's release rules.

A sensor's `release` overrides its nation's default; its own nation always
holds its data. (Fusion products and their "most restrictive marking wins" rule
build on these per-sensor sets.)
"""

from __future__ import annotations

from airpicture.scenario import Scenario, SensorBase
from airpicture.scenario.model import Release


def release_of_sensor(scenario: Scenario, sensor: SensorBase) -> Release:
    if sensor.release is not None:
        return sensor.release
    return scenario.nations[sensor.nation].release


def receivers_of_sensor(scenario: Scenario, sensor: SensorBase) -> frozenset[str]:
    """Nations that may receive this sensor's tracks or plots, its own nation included."""
    release = release_of_sensor(scenario, sensor)
    return frozenset({sensor.nation, *release.tracks, *release.plots})


def viewable_sensors(scenario: Scenario) -> dict[str, list[str]]:
    """For each nation, and `ALL` (a centralized picture), the sensors whose data it may hold."""
    viewers: dict[str, list[str]] = {nation: [] for nation in scenario.nations}
    for sensor in scenario.sensors:
        for nation in sorted(receivers_of_sensor(scenario, sensor)):
            viewers[nation].append(sensor.id)
    viewers["ALL"] = [s.id for s in scenario.sensors]
    return viewers
