"""Which nations may receive each sensor's data, from the scenario's release rules.

A sensor's `release` overrides its nation's default; its own nation always
holds its data. Two markings per sensor: who may receive its *plots* (raw
reports) and who may receive *tracks* derived from it. The marking of a
product derived from several sensors is the intersection of theirs (the most
restrictive wins): `airpicture.policy.markings`.
"""

from __future__ import annotations

from airpicture.scenario import Scenario, SensorBase
from airpicture.scenario.model import Release


def release_of_sensor(scenario: Scenario, sensor: SensorBase) -> Release:
    if sensor.release is not None:
        return sensor.release
    return scenario.nations[sensor.nation].release


def track_receivers_of_sensor(scenario: Scenario, sensor: SensorBase) -> frozenset[str]:
    """Nations that may receive tracks derived from this sensor, its own nation included."""
    return frozenset({sensor.nation, *release_of_sensor(scenario, sensor).tracks})


def plot_receivers_of_sensor(scenario: Scenario, sensor: SensorBase) -> frozenset[str]:
    """Nations that may receive this sensor's plots (raw reports), its own nation included."""
    return frozenset({sensor.nation, *release_of_sensor(scenario, sensor).plots})


def receivers_of_sensor(scenario: Scenario, sensor: SensorBase) -> frozenset[str]:
    """Nations that may receive this sensor's tracks or plots, its own nation included."""
    return track_receivers_of_sensor(scenario, sensor) | plot_receivers_of_sensor(scenario, sensor)


def poolable_sensors(scenario: Scenario) -> list[str]:
    """Sensors whose plots a centralized (pooled) tracker may use.

    The centralized run is the alliance's accuracy reference: one tracker over
    the data the nations share. A sensor whose owner releases nothing to anyone
    (neither tracks nor plots) is national only, and is not pooled — unless the
    scenario has a single nation, whose central tracker is simply its own.
    """
    if len(scenario.nations) == 1:
        return [s.id for s in scenario.sensors]
    return [s.id for s in scenario.sensors if len(receivers_of_sensor(scenario, s)) > 1]


def viewable_sensors(scenario: Scenario) -> dict[str, list[str]]:
    """For each nation, and `ALL` (a centralized picture), the sensors whose data it may hold."""
    viewers: dict[str, list[str]] = {nation: [] for nation in scenario.nations}
    for sensor in scenario.sensors:
        for nation in sorted(receivers_of_sensor(scenario, sensor)):
            viewers[nation].append(sensor.id)
    viewers["ALL"] = poolable_sensors(scenario)
    return viewers
