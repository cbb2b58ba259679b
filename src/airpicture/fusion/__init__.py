"""Track-to-track fusion: association with hysteresis, covariance intersection, network numbers.

Numeric only: imports `tracking`, `geo`, NumPy and SciPy, never the network.
See docs/design.md, "Track-to-track fusion".
"""

from airpicture.fusion.intersection import covariance_intersection, ifci_weights
from airpicture.fusion.numbering import NumberBlocks, format_number
from airpicture.fusion.picture import FusedTracks, SourceTracks, SystemPicture
from airpicture.fusion.settings import FusionSettings

__all__ = [
    "FusedTracks",
    "FusionSettings",
    "NumberBlocks",
    "SourceTracks",
    "SystemPicture",
    "covariance_intersection",
    "format_number",
    "ifci_weights",
]
