"""Three servers, one per nation, joined by leaf nodes: messages cross, the rules still hold."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.errors import TimeoutError as NatsTimeoutError

from airpicture.deploy import (
    Deployment,
    ServerGroup,
    connect_options,
    init_exercise,
    link_stream,
    message_id,
    start_servers,
)
from tests.deploy.conftest import PACIFIC_SHIELD
from tests.deploy.helpers import connect, make_streams, stream_messages


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Deployment, ServerGroup]]:
    deployment = init_exercise(PACIFIC_SHIELD, tmp_path / "exercise", servers_per_nation=True)
    with start_servers(deployment) as servers:
        asyncio.run(make_streams(deployment))
        yield deployment, servers


@pytest.fixture
def three_servers(running: tuple[Deployment, ServerGroup]) -> Deployment:
    return running[0]


def test_each_nation_has_its_own_server(three_servers: Deployment) -> None:
    d = three_servers
    assert len(d.server_specs) == 3 and len(set(d.servers)) == 3
    assert [s.name for s in d.server_specs] == ["ap-AUS", "ap-JPN", "ap-USA"]
    assert {n: a.servers for n, a in d.nations.items()} == {
        s.jetstream_accounts[0]: [f"tls://{s.host}:{s.client_port}"] for s in d.server_specs
    }
    # A nation's streams are stored by its own server only.
    for spec in d.server_specs:
        [nation] = spec.jetstream_accounts
        stored = {p.name for p in Path(spec.jetstream_dir).glob("**/streams/*")}
        assert stored == {f"{nation}_LINK", f"{nation}_SENSORS"}


def test_a_message_crosses_from_leaf_to_leaf_and_from_the_hub(three_servers: Deployment) -> None:
    d = three_servers

    async def main() -> None:
        usa, _ = await connect(d, "USA")  # on ap-USA, a leaf
        ack = await usa.jetstream().publish(
            "ap.link.JPN.USA.tracks",
            b"from USA",
            headers={"Nats-Msg-Id": message_id("USA", "JPN", "tracks", 7)},
        )
        again = await usa.jetstream().publish(
            "ap.link.JPN.USA.tracks",
            b"from USA",
            headers={"Nats-Msg-Id": message_id("USA", "JPN", "tracks", 7)},
        )
        await usa.close()
        assert (ack.stream, ack.seq, ack.domain, again.duplicate) == ("JPN_LINK", 1, "JPN", True)
        aus, _ = await connect(d, "AUS")  # on ap-AUS, the hub
        ack = await aus.jetstream().publish("ap.link.USA.AUS.warnings", b"from AUS")
        await aus.close()
        assert (ack.stream, ack.domain) == ("USA_LINK", "USA")
        jpn, _ = await connect(d, "JPN")  # on ap-JPN, the other leaf
        sub = await jpn.jetstream().pull_subscribe(
            "ap.link.JPN.>", durable="node", stream=link_stream("JPN")
        )
        [msg] = await sub.fetch(1, timeout=5)
        await msg.ack_sync()
        await jpn.close()
        assert (msg.subject, msg.data) == ("ap.link.JPN.USA.tracks", b"from USA")
        assert await stream_messages(d, "USA") == [("ap.link.USA.AUS.warnings", b"from AUS")]

    asyncio.run(main())


def test_the_hub_still_refuses_what_the_release_rules_forbid(three_servers: Deployment) -> None:
    d = three_servers

    async def main() -> None:
        usa, errors = await connect(d, "USA")
        with pytest.raises(NatsTimeoutError):
            await usa.jetstream().publish("ap.link.AUS.USA.plots", b"no plots", timeout=1.0)
        await errors.wait_for('permissions violation for publish to "ap.link.aus.usa.plots"')
        await usa.close()
        assert await stream_messages(d, "AUS") == []

    asyncio.run(main())


def test_a_nations_credentials_work_only_on_its_own_server(three_servers: Deployment) -> None:
    d = three_servers
    usa_server = d.nations["USA"].servers

    async def main() -> None:
        options = connect_options(d, "JPN", "node") | {
            "servers": usa_server,
            "allow_reconnect": False,
            "max_reconnect_attempts": 0,
        }
        with pytest.raises(Exception, match=r"(?i)authorization violation"):
            await nats.connect(**options)

    asyncio.run(main())


def test_a_cut_link_refuses_to_acknowledge_and_a_restored_one_delivers(
    running: tuple[Deployment, ServerGroup],
) -> None:
    """While JPN's server is cut off, USA's publish gets no PubAck (the sender keeps it and
    retries); once restored, the retry with the same message id lands exactly once."""
    d, servers = running

    async def publish(timeout_s: float) -> object:
        usa, _ = await connect(d, "USA")
        try:
            return await usa.jetstream().publish(
                "ap.link.JPN.USA.tracks",
                b"batch 3",
                headers={"Nats-Msg-Id": message_id("USA", "JPN", "tracks", 3)},
                timeout=timeout_s,
            )
        finally:
            await usa.close()

    servers.cut_link("ap-JPN")
    with pytest.raises(NatsTimeoutError):
        asyncio.run(publish(1.0))
    servers.restore_link("ap-JPN")
    ack = asyncio.run(publish(5.0))
    assert getattr(ack, "stream", None) == "JPN_LINK"
    assert asyncio.run(stream_messages(d, "JPN")) == [("ap.link.JPN.USA.tracks", b"batch 3")]


def test_a_nation_cannot_reach_another_nations_jetstream_through_its_domain(
    three_servers: Deployment,
) -> None:
    d = three_servers

    async def main() -> None:
        usa, errors = await connect(d, "USA")
        own = await usa.jetstream(domain="USA").streams_info()
        assert sorted(s.config.name for s in own) == ["USA_LINK", "USA_SENSORS"]
        with pytest.raises(NatsTimeoutError):
            await usa.jetstream(domain="JPN", timeout=1.0).streams_info()
        await errors.wait_for('permissions violation for publish to "$js.jpn.api.stream.list"')
        await usa.close()

    asyncio.run(main())


def test_a_nation_servers_leaf_seed_cannot_log_in_as_a_client_at_the_hub(
    three_servers: Deployment,
) -> None:
    d = three_servers
    hub = d.nations["AUS"].servers
    leaf_seed = str(Path(d.directory) / "credentials" / "JPN" / "leaf.nk")

    async def main() -> None:
        options = connect_options(d, "JPN", "node") | {
            "servers": hub,
            "nkeys_seed": leaf_seed,
            "allow_reconnect": False,
            "max_reconnect_attempts": 0,
        }
        with pytest.raises(Exception, match=r"(?i)authorization violation"):
            await nats.connect(**options)

    asyncio.run(main())


def test_a_restarted_nation_server_keeps_its_stream_and_rejoins(
    running: tuple[Deployment, ServerGroup],
) -> None:
    d, servers = running

    async def publish(seq: int) -> str:
        usa, _ = await connect(d, "USA")
        ack = await usa.jetstream().publish(
            "ap.link.JPN.USA.tracks",
            f"batch {seq}".encode(),
            headers={"Nats-Msg-Id": message_id("USA", "JPN", "tracks", seq)},
        )
        await usa.close()
        return ack.stream

    assert asyncio.run(publish(1)) == "JPN_LINK"
    servers.stop_server("ap-JPN")
    servers.start_server("ap-JPN")  # ready once its leaf link is up again
    assert asyncio.run(publish(2)) == "JPN_LINK"
    assert asyncio.run(stream_messages(d, "JPN")) == [
        ("ap.link.JPN.USA.tracks", b"batch 1"),
        ("ap.link.JPN.USA.tracks", b"batch 2"),
    ]
