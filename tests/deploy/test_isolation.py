"""With one nation's credentials, the server refuses everything that is not that nation's.

pacific-shield on one real nats-server: each nation is an account; a node may
publish only on the link subjects its account imports, read only its own
subjects and streams; a feed may only publish its nation's sensor reports.
"""

from __future__ import annotations

import asyncio

import pytest
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.errors import NotFoundError

from airpicture.deploy import Deployment, link_stream, message_id
from tests.deploy.helpers import connect, stream_messages


def test_a_sender_publishes_into_the_receivers_stream_and_duplicates_are_dropped(
    pacific_up: Deployment,
) -> None:
    async def main() -> None:
        usa, _ = await connect(pacific_up, "USA")
        js = usa.jetstream()
        msg_id = message_id("USA", "JPN", "tracks", 1)
        first = await js.publish(
            "ap.link.JPN.USA.tracks", b"batch 1", headers={"Nats-Msg-Id": msg_id}
        )
        again = await js.publish(
            "ap.link.JPN.USA.tracks", b"batch 1", headers={"Nats-Msg-Id": msg_id}
        )
        await usa.close()
        assert (first.stream, first.seq, first.duplicate) == ("JPN_LINK", 1, None)
        assert (again.stream, again.seq, again.duplicate) == ("JPN_LINK", 1, True)
        assert await stream_messages(pacific_up, "JPN") == [("ap.link.JPN.USA.tracks", b"batch 1")]

    asyncio.run(main())


def test_the_receiving_node_reads_its_stream_with_a_durable_consumer(
    pacific_up: Deployment,
) -> None:
    async def main() -> None:
        aus, _ = await connect(pacific_up, "AUS")
        await aus.jetstream().publish("ap.link.JPN.AUS.warnings", b"w1")
        await aus.close()
        jpn, _ = await connect(pacific_up, "JPN")
        sub = await jpn.jetstream().pull_subscribe(
            "ap.link.JPN.>", durable="node", stream=link_stream("JPN")
        )
        [msg] = await sub.fetch(1, timeout=5)
        await msg.ack_sync()
        await jpn.close()
        assert (msg.subject, msg.data) == ("ap.link.JPN.AUS.warnings", b"w1")

    asyncio.run(main())


@pytest.mark.parametrize(
    "subject",
    [
        "ap.link.AUS.USA.tracks",  # publishing as another nation
        "ap.link.AUS.JPN.plots",  # as itself, but the release rules give AUS no plots
        "ap.link.JPN.JPN.tracks",  # into its own stream, as if from a partner
        "ap.node.USA.picture",  # another nation's internal subjects
        "ap.sensor.USA.USA-TPY2-SHARIKI",  # another nation's sensor feed
    ],
)
def test_jpn_node_publishing_where_it_may_not_is_refused(
    pacific_up: Deployment, subject: str
) -> None:
    async def main() -> None:
        jpn, errors = await connect(pacific_up, "JPN")
        with pytest.raises(NatsTimeoutError):
            await jpn.jetstream().publish(subject, b"forged", timeout=1.0)
        await errors.wait_for(f'permissions violation for publish to "{subject}"')
        await jpn.close()
        for nation in ("AUS", "USA", "JPN"):
            assert await stream_messages(pacific_up, nation) == []

    asyncio.run(main())


def test_usa_cannot_put_plots_into_aus_stream(pacific_up: Deployment) -> None:
    """The release rules give AUS no plots from USA: no such route, refused by the server."""
    assert not pacific_up.allows("USA", "AUS", "plots")
    assert pacific_up.allows("USA", "AUS", "tracks")

    async def main() -> None:
        usa, errors = await connect(pacific_up, "USA")
        js = usa.jetstream()
        with pytest.raises(NatsTimeoutError):
            await js.publish("ap.link.AUS.USA.plots", b"plots", timeout=1.0)
        await errors.wait_for('permissions violation for publish to "ap.link.aus.usa.plots"')
        ack = await js.publish("ap.link.AUS.USA.tracks", b"tracks")
        await usa.close()
        assert ack.stream == "AUS_LINK"
        assert await stream_messages(pacific_up, "AUS") == [("ap.link.AUS.USA.tracks", b"tracks")]

    asyncio.run(main())


@pytest.mark.parametrize(
    "subject", ["ap.link.USA.>", "ap.node.USA.>", "ap.sensor.USA.>", ">", "ap.>"]
)
def test_jpn_node_subscribing_to_usa_subjects_is_refused_and_gets_nothing(
    pacific_up: Deployment, subject: str
) -> None:
    async def main() -> None:
        jpn, errors = await connect(pacific_up, "JPN")
        received: list[str] = []

        async def on_msg(msg: object) -> None:
            received.append(str(getattr(msg, "subject", "")))

        await jpn.subscribe(subject, cb=on_msg)
        await errors.wait_for(f'permissions violation for subscription to "{subject}"')
        usa, _ = await connect(pacific_up, "USA")
        await usa.publish("ap.node.USA.picture", b"usa only")
        await usa.jetstream().publish("ap.link.JPN.USA.tracks", b"for jpn, in its stream")
        await usa.flush()
        await jpn.flush()
        await usa.close()
        await jpn.close()
        assert received == []

    asyncio.run(main())


def test_jpn_node_cannot_see_or_read_another_accounts_stream(pacific_up: Deployment) -> None:
    async def main() -> None:
        usa, _ = await connect(pacific_up, "USA")
        await usa.jetstream().publish("ap.link.AUS.USA.tracks", b"for AUS only")
        await usa.close()
        jpn, _ = await connect(pacific_up, "JPN")
        js = jpn.jetstream()
        with pytest.raises(NotFoundError):
            await js.stream_info(link_stream("AUS"))
        with pytest.raises(NotFoundError):
            await js.get_msg(link_stream("AUS"), 1)
        with pytest.raises(NotFoundError):
            await js.pull_subscribe("ap.link.AUS.>", durable="node", stream=link_stream("AUS"))
        names = await js.streams_info()
        await jpn.close()
        assert sorted(s.config.name for s in names) == ["JPN_LINK", "JPN_SENSORS"]

    asyncio.run(main())


def test_a_feed_publishes_its_reports_and_nothing_else(pacific_up: Deployment) -> None:
    async def main() -> None:
        feed, errors = await connect(pacific_up, "USA", "feed")
        js = feed.jetstream(timeout=1.0)
        ack = await js.publish("ap.sensor.USA.USA-TPY2-SHARIKI", b"reports")
        assert (ack.stream, ack.seq) == ("USA_SENSORS", 1)
        with pytest.raises(NatsTimeoutError):
            await js.publish("ap.link.JPN.USA.tracks", b"as the node", timeout=1.0)
        await errors.wait_for('permissions violation for publish to "ap.link.jpn.usa.tracks"')
        # Not even its own nation's JetStream API, nor its node's replies.
        with pytest.raises(NatsTimeoutError):
            await js.stream_info("USA_SENSORS")
        await errors.wait_for('permissions violation for publish to "$js.api.stream.info')
        await feed.subscribe("_INBOX.>")
        await errors.wait_for('permissions violation for subscription to "_inbox.>"')
        await feed.close()

    asyncio.run(main())
