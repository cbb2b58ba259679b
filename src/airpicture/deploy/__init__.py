"""The NATS deployment of an exercise: accounts, NKeys, TLS, servers (docs/deployment.md).

`init_exercise` writes a deployment (server configuration, PKI, NKey seeds,
`deployment.json`); `Deployment.load` reads it back; `connect_options` gives a
nation's node or feed what `nats.connect` needs; `start_servers` runs the servers.
"""

from airpicture.deploy.accounts import (
    LINK_CONSUMER,
    LINK_KINDS,
    Role,
    Route,
    link_stream,
    link_subject,
    message_id,
    node_subject,
    sensor_subject,
    sensors_stream,
)
from airpicture.deploy.layout import (
    Deployment,
    NationAccess,
    connect_options,
    init_exercise,
    start_servers,
)
from airpicture.deploy.server import ServerGroup, nats_server_bin

__all__ = [
    "LINK_CONSUMER",
    "LINK_KINDS",
    "Deployment",
    "NationAccess",
    "Role",
    "Route",
    "ServerGroup",
    "connect_options",
    "init_exercise",
    "link_stream",
    "link_subject",
    "message_id",
    "nats_server_bin",
    "node_subject",
    "sensor_subject",
    "sensors_stream",
    "start_servers",
]
