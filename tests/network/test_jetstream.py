"""The JetStream bus on a real nats-server: order, dedupe, redelivery after a restart, refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest

from airpicture.network.jetstream import JetStreamBus, ProcessedLedger
from airpicture.network.messages import MessageKind, WarningBatch, decode, encode
from airpicture.policy import ReleasePolicy

from .jetstream_server import jetstream_server
from .netscen import network_scenario

POLICY = ReleasePolicy.from_scenario(network_scenario().scenario)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with jetstream_server(tmp_path / "jetstream") as url:
        yield url


def batch(sender: str, seq: int, sent_s: float) -> bytes:
    return encode(
        WarningBatch(
            sender=sender, seq=seq, sent_s=sent_s, warnings=[], sources=[], releasable_to=[]
        )
    )


async def started(
    url: str, nation: str, ledgers: Path | None = None, incarnation: int = 1, **kw: Any
) -> tuple[Any, JetStreamBus]:
    nc = await nats.connect(url)
    ledger = ProcessedLedger(ledgers, "link", incarnation) if ledgers else None
    bus = JetStreamBus(nation, POLICY, lambda: 100.0, ledger=ledger, **kw)
    await bus.start(nc.jetstream())
    return nc, bus


async def pump_until(bus: JetStreamBus, done: Callable[[], bool], tries: int = 50) -> None:
    for _ in range(tries):
        if done():
            return
        await bus.pump(timeout_s=0.1)
    raise AssertionError("the messages did not arrive")


def run(coro: Awaitable[None]) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


def test_messages_arrive_in_order_with_the_sender_the_subject_names(server: str) -> None:
    async def scenario() -> None:
        nc_usa, usa = await started(server, "USA")
        nc_jpn, jpn = await started(server, "JPN")
        for seq in range(1, 6):
            usa.publish(
                "USA", "JPN", batch("USA", seq, float(seq)), float(seq), MessageKind.WARNINGS
            )
        await usa.flush()
        await pump_until(jpn, lambda: jpn.pending() == 5)
        jpn.begin_stage()
        early = jpn.receive("JPN", 3.0)
        late = jpn.receive("JPN", 10.0)
        await jpn.settle()
        assert [e.sent_s for e in early] == [1.0, 2.0, 3.0]
        assert [e.sent_s for e in late] == [4.0, 5.0]
        assert {e.sender for e in early + late} == {"USA"}
        assert [decode(e.payload).seq for e in early + late] == [1, 2, 3, 4, 5]
        assert usa.counts.published["USA->JPN"] == 5
        assert jpn.counts.delivered["USA->JPN"] == 5
        await nc_usa.close()
        await nc_jpn.close()

    run(scenario())


def test_a_republished_message_is_stored_once(server: str) -> None:
    async def scenario() -> None:
        nc_usa, usa = await started(server, "USA")
        nc_jpn, jpn = await started(server, "JPN")
        payload = batch("USA", 7, 1.0)
        usa.publish("USA", "JPN", payload, 1.0, MessageKind.WARNINGS)
        usa.publish("USA", "JPN", payload, 1.0, MessageKind.WARNINGS)  # same Nats-Msg-Id
        usa.publish("USA", "JPN", batch("USA", 8, 1.0), 1.0, MessageKind.WARNINGS)
        await usa.flush()
        assert usa.counts.duplicate_publications == 1
        await pump_until(jpn, lambda: jpn.pending() == 2)
        for _ in range(3):
            await jpn.pump(timeout_s=0.1)
        jpn.begin_stage()
        assert [decode(e.payload).seq for e in jpn.receive("JPN", 10.0)] == [7, 8]
        await jpn.settle()
        await nc_usa.close()
        await nc_jpn.close()

    run(scenario())


def test_a_restarted_node_gets_again_what_it_took_but_never_settled(
    server: str, tmp_path: Path
) -> None:
    ledgers = tmp_path / "ledgers"
    ledgers.mkdir()

    async def scenario() -> None:
        nc_usa, usa = await started(server, "USA")
        nc_jpn, jpn = await started(server, "JPN", ledgers, 1, ack_wait_s=1.0)
        for seq in range(1, 5):
            usa.publish("USA", "JPN", batch("USA", seq, 1.0), 1.0, MessageKind.WARNINGS)
        await usa.flush()
        await pump_until(jpn, lambda: jpn.pending() == 4)
        jpn.begin_stage()
        taken = jpn.receive("JPN", 10.0)
        assert len(taken) == 4
        # The first two were processed and ledgered, then the node died before acking;
        # the other two died with the stage that took them.
        jpn.ledger.add(m.stream_seq for m in jpn._taken[:2])
        await nc_jpn.close()

        nc_jpn2, jpn2 = await started(server, "JPN", ledgers, 2, ack_wait_s=1.0)
        await pump_until(jpn2, lambda: jpn2.pending() == 2)
        for _ in range(5):  # nothing else comes
            await jpn2.pump(timeout_s=0.1)
        jpn2.begin_stage()
        again = jpn2.receive("JPN", 10.0)
        await jpn2.settle()
        assert [decode(e.payload).seq for e in again] == [3, 4]
        assert jpn2.counts.redelivered_after_restart == 4
        assert jpn2.counts.deduplicated_after_restart == 2
        # Settled and acked: a third start gets nothing.
        await nc_jpn2.close()
        nc_jpn3, jpn3 = await started(server, "JPN", ledgers, 3, ack_wait_s=1.0)
        for _ in range(15):
            await jpn3.pump(timeout_s=0.1)
        assert jpn3.pending() == 0
        assert jpn3.counts.deduplicated_after_restart == 0
        lines = [p.read_text().split() for p in sorted(ledgers.glob("link-*.ledger"))]
        assert [len(x) for x in lines] == [2, 2]  # every message ledgered once, by one run
        await nc_usa.close()
        await nc_jpn3.close()

    run(scenario())


def test_markers_and_foreign_subjects_never_reach_the_node(server: str) -> None:
    async def scenario() -> None:
        nc_usa, usa = await started(server, "USA")
        nc_jpn, jpn = await started(server, "JPN")
        usa.end_stage(MessageKind.TRACKS, 3)  # to JPN and to AUS, whose stream is not there
        await usa.flush()
        assert usa.unsent == 1
        raw = nc_usa.jetstream()
        await raw.publish("ap.link.JPN.RED.tracks", batch("RED", 1, 1.0))  # not a partner
        await raw.publish("ap.link.JPN.USA.gossip", batch("USA", 2, 1.0))  # not a kind
        await raw.publish("ap.link.JPN.JPN.tracks", batch("JPN", 3, 1.0))  # itself
        await pump_until(jpn, lambda: sum(jpn.counts.refused.values()) == 3)
        assert jpn.marker_cycle[("USA", "tracks")] == 3
        assert jpn.markers_missing(MessageKind.TRACKS, 3, ["USA", "AUS"]) == ["AUS"]
        jpn.begin_stage()
        assert jpn.receive("JPN", 1e9) == []
        await nc_usa.close()
        await nc_jpn.close()

    run(scenario())


def test_a_node_publishes_only_as_itself() -> None:
    bus = JetStreamBus("USA", POLICY, lambda: 0.0)
    with pytest.raises(ValueError, match="cannot publish as JPN"):
        bus.publish("JPN", "AUS", b"", 0.0, MessageKind.TRACKS)


def test_an_unreachable_receiver_gets_everything_in_order_once_back_and_holds_no_one_up(
    server: str,
) -> None:
    """AUS has no stream yet (as if its server were cut off): its messages are resent in the
    background with their message ids until acknowledged, while JPN's go through at once."""

    async def scenario() -> None:
        nc_usa, usa = await started(server, "USA")
        nc_jpn, _ = await started(server, "JPN")
        for seq in (1, 2):
            usa.publish("USA", "AUS", batch("USA", seq, 1.0), 1.0, MessageKind.WARNINGS)
        usa.publish("USA", "JPN", batch("USA", 1, 1.0), 1.0, MessageKind.WARNINGS)
        await usa.flush()
        assert usa.unreachable() == ["AUS"]
        assert usa.counts.published["USA->JPN"] == 1
        usa.publish("USA", "AUS", batch("USA", 3, 2.0), 2.0, MessageKind.WARNINGS)
        usa.publish("USA", "JPN", batch("USA", 2, 2.0), 2.0, MessageKind.WARNINGS)
        await usa.flush()  # queues AUS's third behind the two held; JPN's second goes
        assert usa.unsent == 3
        assert usa.counts.published["USA->JPN"] == 2
        nc_aus, aus = await started(server, "AUS")  # AUS comes back
        assert await usa.drain(20.0)
        assert usa.unsent == 0 and usa.unreachable() == []
        assert usa.counts.resent["AUS"] == 3
        assert usa.counts.receivers_unreachable["AUS"] == 1
        await pump_until(aus, lambda: aus.pending() == 3)
        aus.begin_stage()
        assert [decode(e.payload).seq for e in aus.receive("AUS", 10.0)] == [1, 2, 3]
        await aus.settle()
        for nc in (nc_usa, nc_jpn, nc_aus):
            await nc.close()

    run(scenario())
