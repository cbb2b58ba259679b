"""Measurement models, one class per sensor kind, behind the `MeasurementModel` Protocol.

| scenario `type` | class | module | z |
|---|---|---|---|
| `radar` | `Radar3D` | `radar` | range, az, el [, range rate] |
| `radar2d` | `Radar2D` | `radar2d` | slant range, az |
| `oth` | `OTHRadar` | `oth` | geodesic ground range, bearing |
| `space_ir` | `SpaceIR` | `space_ir` | az, el from the satellite |
| `adsb` | `ADSB` | `adsb` | ECEF position (and identity) |

Adding a sensor kind is one class (a frozen `SensorSite` subclass that
satisfies `MeasurementModel`) and one entry in `MEASUREMENT_MODELS`. The two
range–azimuth kinds share `range_azimuth.RangeAzimuthSite` (z, R, residual,
clutter, pre-gate) and add only their geometry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Protocol

from airpicture.tracking.measurement.adsb import ADSB
from airpicture.tracking.measurement.base import (
    MeasurementModel,
    SensorSite,
    SensorSpec,
    SensorValueError,
    UnknownSensorTypeError,
)
from airpicture.tracking.measurement.oth import OTHRadar
from airpicture.tracking.measurement.radar import Radar3D
from airpicture.tracking.measurement.radar2d import Radar2D
from airpicture.tracking.measurement.space_ir import SpaceIR


class MeasurementModelClass(Protocol):
    """A measurement model class: builds its model from a scenario sensor."""

    def from_spec(self, spec: SensorSpec) -> MeasurementModel: ...


#: The scenario's sensor `type` → its measurement model class.
MEASUREMENT_MODELS: Final[dict[str, MeasurementModelClass]] = {
    "radar": Radar3D,
    "radar2d": Radar2D,
    "oth": OTHRadar,
    "space_ir": SpaceIR,
    "adsb": ADSB,
}


def measurement_model(spec: SensorSpec) -> MeasurementModel:
    """The measurement model of one scenario sensor, chosen by its `type`."""
    model_class = MEASUREMENT_MODELS.get(spec.type)
    if model_class is None:
        raise UnknownSensorTypeError(spec.id, spec.type, tuple(MEASUREMENT_MODELS))
    return model_class.from_spec(spec)


def sensor_models(specs: Sequence[SensorSpec]) -> list[MeasurementModel]:
    """The measurement models of a scenario's `sensors` list, in its order."""
    return [measurement_model(spec) for spec in specs]


__all__ = [
    "ADSB",
    "MEASUREMENT_MODELS",
    "MeasurementModel",
    "MeasurementModelClass",
    "OTHRadar",
    "Radar2D",
    "Radar3D",
    "SensorSite",
    "SensorSpec",
    "SensorValueError",
    "SpaceIR",
    "UnknownSensorTypeError",
    "measurement_model",
    "sensor_models",
]
