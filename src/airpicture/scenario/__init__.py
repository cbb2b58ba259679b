"""Scenario format v1: the model (`model`) and the loader with its error messages (`load`)."""

from airpicture.scenario.layers import LAYERS_DIR, layer_documents, read_geojson, write_layers
from airpicture.scenario.load import LoadedScenario, ScenarioOverrides, load_scenario
from airpicture.scenario.model import (
    ADSBSensor,
    Asset,
    BallisticTarget,
    GeneratedAircraft,
    MapLayerFile,
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
    "LAYERS_DIR",
    "ADSBSensor",
    "Asset",
    "BallisticTarget",
    "GeneratedAircraft",
    "LoadedScenario",
    "MapLayerFile",
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
    "layer_documents",
    "load_scenario",
    "read_geojson",
    "write_layers",
]
