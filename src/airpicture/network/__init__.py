"""The allied network: national nodes, the bus between them, and the runs that drive them.

See docs/design.md, "The allied network".
"""

from airpicture.network.assessor import (
    AssessorFactory,
    KinematicAssessor,
    kinematic_assessor,
    national_assessor,
)
from airpicture.network.bus import (
    Bus,
    Envelope,
    InProcessBus,
    KeepingBus,
    LinkQuality,
    scenario_links,
)
from airpicture.network.messages import (
    MESSAGE_VERSION,
    Heartbeat,
    MessageError,
    PlotBatch,
    TrackBatch,
    WarningBatch,
    decode,
    encode,
)
from airpicture.network.node import NationalNode, NodeSettings, NodeSnapshot
from airpicture.network.run import (
    NetworkResult,
    NetworkRun,
    NetworkSettings,
    NetworkSnapshot,
    run_network,
)

__all__ = [
    "MESSAGE_VERSION",
    "AssessorFactory",
    "Bus",
    "Envelope",
    "Heartbeat",
    "InProcessBus",
    "KeepingBus",
    "KinematicAssessor",
    "LinkQuality",
    "MessageError",
    "NationalNode",
    "NetworkResult",
    "NetworkRun",
    "NetworkSettings",
    "NetworkSnapshot",
    "NodeSettings",
    "NodeSnapshot",
    "PlotBatch",
    "TrackBatch",
    "WarningBatch",
    "decode",
    "encode",
    "kinematic_assessor",
    "national_assessor",
    "run_network",
    "scenario_links",
]
