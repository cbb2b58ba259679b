"""Liveness: the link-state table row by row, the heartbeat schedule, the heartbeat on the
wire, and a deterministic network in which a partner falls silent and comes back."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airpicture.network import InProcessBus, NetworkRun
from airpicture.network.assessor import national_assessor
from airpicture.network.bus import Envelope
from airpicture.network.liveness import (
    TRANSITIONS,
    HeartbeatSchedule,
    LinkEvent,
    LinkMonitor,
    LinkState,
    liveness_limits,
)
from airpicture.network.messages import (
    Heartbeat,
    MessageError,
    MessageKind,
    decode,
    encode,
    kind_of,
)
from airpicture.network.node import NationalNode, NodeSettings
from airpicture.network.run import NetworkSettings
from airpicture.network.signing import Keyring
from airpicture.policy import ReleasePolicy
from airpicture.sim.simulate import simulate
from tests.network.netscen import network_scenario

# ---------------------------------------------------------------- the table


@pytest.mark.parametrize(
    ("state", "event", "after"),
    [
        (LinkState.WAITING, LinkEvent.HEARD, LinkState.UP),
        (LinkState.WAITING, LinkEvent.SILENT, LinkState.DOWN),
        (LinkState.UP, LinkEvent.HEARD, LinkState.UP),
        (LinkState.UP, LinkEvent.SILENT, LinkState.DOWN),
        (LinkState.DOWN, LinkEvent.HEARD, LinkState.UP),
        (LinkState.DOWN, LinkEvent.SILENT, LinkState.DOWN),
    ],
)
def test_each_row_of_the_link_table(state: LinkState, event: LinkEvent, after: LinkState) -> None:
    assert TRANSITIONS[(state, event)] is after


def test_the_table_has_a_row_for_every_state_and_event() -> None:
    assert set(TRANSITIONS) == set(itertools.product(LinkState, LinkEvent))


def test_a_partner_never_heard_is_waiting_then_down_after_its_full_time() -> None:
    monitor = LinkMonitor("JPN", ["USA"], down_after_s=15.0)
    monitor.check(100.0)  # watching begins here: USA gets its 15 s from now
    assert monitor.links["USA"].state is LinkState.WAITING
    monitor.check(115.0)
    assert monitor.links["USA"].state is LinkState.WAITING  # exactly the limit: not yet
    monitor.check(120.0)
    link = monitor.links["USA"]
    assert link.state is LinkState.DOWN
    assert link.since_s == 115.0 and link.times_down == 1
    assert monitor.as_dict()["USA"]["outages"] == [{"down_s": 115.0, "up_s": None}]


def test_a_partner_silent_too_long_goes_down_and_comes_back_when_heard() -> None:
    monitor = LinkMonitor("JPN", ["AUS", "USA"], down_after_s=15.0)
    for t in (5.0, 10.0, 15.0, 20.0):
        monitor.heard("AUS", t)
        monitor.heard("USA", t)
        monitor.check(t)
    assert {p: link.state for p, link in monitor.links.items()} == {
        "AUS": LinkState.UP,
        "USA": LinkState.UP,
    }
    for t in (25.0, 30.0, 35.0, 40.0):  # USA falls silent after 20 s
        monitor.heard("AUS", t)
        monitor.check(t)
    usa = monitor.links["USA"]
    assert usa.state is LinkState.DOWN and usa.since_s == 35.0  # 20 s + 15 s, not the check
    assert monitor.links["AUS"].state is LinkState.UP
    monitor.heard("USA", 52.5, heartbeat=True)
    monitor.check(55.0)
    assert usa.state is LinkState.UP and usa.since_s == 52.5
    assert usa.heartbeats == 1 and usa.messages == 5 and usa.times_down == 1
    assert monitor.as_dict()["USA"]["outages"] == [{"down_s": 35.0, "up_s": 52.5}]
    assert monitor.as_dict()["USA"]["silent_s"] == 2.5


def test_refusals_and_strangers_are_counted_apart_and_never_revive_a_partner() -> None:
    monitor = LinkMonitor("JPN", ["USA"], down_after_s=10.0)
    monitor.check(0.0)
    monitor.check(20.0)
    monitor.refused("USA", 3)
    monitor.refused("FRA")
    monitor.heard("FRA", 20.0)  # not a partner that may send to JPN: ignored
    assert monitor.links["USA"].state is LinkState.DOWN
    assert monitor.links["USA"].refused == 3 and set(monitor.links) == {"USA"}


def test_a_bad_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="partner_down_after_s"):
        LinkMonitor("JPN", ["USA"], down_after_s=0.0)
    with pytest.raises(ValueError, match="heartbeat_interval_s"):
        HeartbeatSchedule(["USA"], interval_s=float("nan"))


def test_the_schedule_is_the_links_idle_time_alone() -> None:
    schedule = HeartbeatSchedule(["AUS", "USA"], interval_s=5.0)
    assert schedule.due(0.0) == ["AUS", "USA"]  # nothing sent yet: say so at once
    schedule.sent_on("AUS", 0.0)
    schedule.sent_on("USA", 0.0)
    schedule.sent_on("USA", 3.0)
    assert schedule.due(4.9) == []
    assert schedule.due(5.0 + 1e-9) == ["AUS"]
    assert schedule.due(8.0) == ["AUS", "USA"]


# ---------------------------------------------------------------- on the wire


@given(
    sender=st.text(min_size=1, max_size=8),
    seq=st.integers(-(2**63), 2**63 - 1),
    sent_s=st.floats(allow_nan=False, width=64),
)
def test_heartbeat_round_trip(sender: str, seq: int, sent_s: float) -> None:
    beat = Heartbeat(sender=sender, seq=seq, sent_s=sent_s)
    back = decode(encode(beat))
    assert back == beat and kind_of(back) is MessageKind.HEARTBEAT


def test_a_heartbeat_out_of_bounds_is_refused_as_any_message() -> None:
    import msgspec

    for bad in (
        {"type": "heartbeat", "sender": "USA", "seq": 2**63, "sent_s": 1.0},
        {"type": "heartbeat", "sender": "USA", "seq": 1, "sent_s": "soon"},
        {"type": "heartbeat", "sender": "USA", "seq": 1},
        {"type": "heartbeat", "version": 9, "sender": "USA", "seq": 1, "sent_s": 1.0},
    ):
        with pytest.raises(MessageError):
            decode(msgspec.msgpack.encode(bad))


def test_a_signed_heartbeat_is_taken_as_a_sign_of_life_and_a_replay_is_not() -> None:
    loaded = network_scenario(duration_s=20.0)
    keys = Keyring.generate(["AUS", "JPN", "USA"])
    bus = InProcessBus()
    run = NetworkRun(loaded, simulate(loaded).plots, bus=bus, keys=keys)
    jpn = run.nodes["JPN"]
    beat = encode(Heartbeat(sender="USA", seq=7, sent_s=1.0))
    frame = keys["USA"].seal_body("JPN", "heartbeat", 7, 1.0, beat)
    for _ in range(2):
        bus.inject(Envelope("USA", "JPN", 1.0, 1.0, frame))
    jpn.receive(2.0)
    usa = jpn.links.links["USA"]
    assert (usa.state, usa.heartbeats, usa.last_heard_s) == (LinkState.UP, 1, 1.0)
    assert jpn.counts.rejected == {"duplicate": 1} and usa.refused == 1
    # A heartbeat sealed for AUS is not one to JPN.
    to_aus = keys["USA"].seal_body("AUS", "heartbeat", 8, 1.5, beat)
    bus.inject(Envelope("USA", "JPN", 1.5, 1.5, to_aus))
    jpn.receive(3.0)
    assert usa.heartbeats == 1 and jpn.counts.rejected["wrong_receiver"] == 1


# ---------------------------------------------------------------- a whole network


class _SilentBetween(InProcessBus):
    """The in-process bus, on which `nation` publishes nothing between two times."""

    def __init__(self, nation: str, from_s: float, to_s: float) -> None:
        super().__init__()
        self.nation, self.from_s, self.to_s = nation, from_s, to_s

    def publish(
        self, sender: str, receiver: str, payload: bytes, sent_s: float, kind: MessageKind
    ) -> None:
        if sender == self.nation and self.from_s <= sent_s < self.to_s:
            return
        super().publish(sender, receiver, payload, sent_s, kind)


def test_a_partner_silent_is_marked_down_in_time_and_up_when_it_returns() -> None:
    loaded = network_scenario(duration_s=90.0)
    settings = NetworkSettings()
    down_after = 3 * loaded.scenario.picture_interval_s  # the default: 15 s
    bus = _SilentBetween("USA", 30.0, 60.0)
    run = NetworkRun(loaded, simulate(loaded).plots, settings, bus=bus)
    seen: dict[float, dict[str, Any]] = {}
    for snapshot in run.snapshots_until(90.0):
        seen[snapshot.time_s] = run.nodes["JPN"].links.as_dict()["USA"]
        # JPN goes on with its own picture every picture time, USA down or not.
        assert (snapshot.pictures["JPN"]["viewer"] == "JPN").all()
    states = {t: s["state"] for t, s in seen.items()}
    # USA was last heard at 25 s (its tracks of that cycle): down once silent for over 15 s.
    assert states[40.0] == "up" and states[45.0] == "down"
    assert seen[45.0]["last_heard_s"] == 25.0
    assert seen[90.0]["outages"] == [{"down_s": 25.0 + down_after, "up_s": 60.0}]
    assert states[60.0] == "up" and states[90.0] == "up"
    # AUS never stopped: never down in anyone's eyes.
    stats = run.stats()["nodes"]
    for nation in ("JPN", "USA"):
        assert stats[nation]["partner_links"]["AUS"]["times_down"] == 0
    assert stats["AUS"]["partner_links"]["USA"]["times_down"] == 1
    # Tracks go every picture time on every link here: no heartbeat was ever needed.
    assert all(n == 0 for s in stats.values() for n in s["heartbeats_sent"].values())


def test_a_link_that_carries_nothing_else_carries_a_heartbeat_each_interval() -> None:
    # AUS's own tracks go to USA only, but it holds USA's (their marking names JPN), so it
    # may send JPN warnings about them: a link AUS -> JPN that carries nothing else.
    release = {
        "AUS": {"tracks": ["USA"], "plots": []},
        "JPN": {"tracks": ["USA", "AUS"], "plots": []},
        "USA": {"tracks": ["JPN", "AUS"], "plots": []},
    }
    loaded = network_scenario(release, duration_s=60.0)
    run = NetworkRun(loaded, simulate(loaded).plots)
    run.advance(60.0)
    stats = run.stats()["nodes"]
    # Every picture time (the interval, 5 s) from the first: 12 in 60 s; none where tracks go.
    assert stats["AUS"]["heartbeats_sent"] == {"JPN": 12, "USA": 0}
    assert stats["JPN"]["heartbeats_sent"] == {"AUS": 0, "USA": 0}
    aus = stats["JPN"]["partner_links"]["AUS"]
    assert (aus["state"], aus["heartbeats"], aus["times_down"]) == ("up", 12, 0)
    assert all(
        link["times_down"] == 0
        for node in stats.values()
        for link in node["partner_links"].values()
    )
    assert all(node["messages"]["rejected"] == {} for node in stats.values())


def test_a_down_limit_within_one_heartbeat_interval_is_refused() -> None:
    loaded = network_scenario(duration_s=10.0)
    bad = NodeSettings(heartbeat_interval_s=5.0, partner_down_after_s=5.0)
    with pytest.raises(ValueError, match="must exceed the heartbeat interval"):
        NationalNode(
            "JPN",
            loaded.scenario,
            ReleasePolicy.from_scenario(loaded.scenario),
            InProcessBus(),
            national_assessor(loaded.scenario, "JPN"),
            bad,
        )


@pytest.mark.parametrize(
    ("interval", "down", "picture", "expected"),
    [
        (None, None, 5.0, (5.0, 15.0)),  # the picture interval, and three of it
        (2.0, None, 5.0, (2.0, 6.0)),
        (None, 30.0, 10.0, (10.0, 30.0)),
        (1.0, 1.5, 5.0, (1.0, 1.5)),
    ],
)
def test_the_limits_default_to_the_picture_interval(
    interval: float | None, down: float | None, picture: float, expected: tuple[float, float]
) -> None:
    assert liveness_limits(interval, down, picture) == expected


@pytest.mark.parametrize(
    ("interval", "down", "message"),
    [
        (5.0, 5.0, "must exceed the heartbeat interval"),
        (None, 4.0, "must exceed the heartbeat interval"),
        (0.0, None, "heartbeat_interval_s must be a positive"),
        (5.0, float("inf"), "partner_down_after_s must be a positive"),
    ],
)
def test_limits_that_cannot_work_are_refused(
    interval: float | None, down: float | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        liveness_limits(interval, down, 5.0)
