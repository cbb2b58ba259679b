"""Scenario format v1: the model (`model`) and the loader with its error messages (`load`)."""

from airpicture.scenario.load import LoadedScenario, ScenarioOverrides, load_scenario
from airpicture.scenario.model import (
    ADSBSensor,
    Asset,
    BallisticTarget,
    GeneratedAircraft,
    OTHSensor,
    Place,
    Radar2DSensor,
    RadarSensor,
    RouteTarget,
    Scenario,
    SensorBase,
    SpaceIRSensor,
    TrafficTarget,
)

__all__ = [
    "ADSBSensor",
    "Asset",
    "BallisticTarget",
    "GeneratedAircraft",
    "LoadedScenario",
    "OTHSensor",
    "Place",
    "Radar2DSensor",
    "RadarSensor",
    "RouteTarget",
    "Scenario",
    "ScenarioOverrides",
    "SensorBase",
    "SpaceIRSensor",
    "TrafficTarget",
    "load_scenario",
]
