"""A live server's log of pictures is bounded by its window (`FrameLog.keep_s`), however long
it runs: pictures, track start times and histories of tracks gone from the window are
dropped, while a track still held keeps its whole history, and sessions behind the window
are given a whole picture again."""

from __future__ import annotations

import asyncio

import msgspec
import numpy as np
import pytest

from airpicture.web.app import Hub, ServerSettings
from airpicture.web.node_source import NodeLiveSource
from airpicture.web.protocol import (
    Control,
    EncodedFrame,
    Frame,
    ServerMessage,
    TrackHistory,
    decode_client,
    encode,
)
from airpicture.web.session import FrameLog, Player
from tests.network.netscen import network_scenario
from tests.web.test_history import _picture, encode_request

INTERVAL_S = 5.0
KEEP_S = 600.0


def _churning_log(frames: int, sizes: list[tuple[int, int, int]] | None = None) -> FrameLog:
    """Track "OLD" held throughout; 20 others at a time, each living 100 s (new ids).
    `sizes`: filled with (pictures, start times, histories) after each picture."""
    log = FrameLog("JPN", history_points=64, keep_s=KEEP_S)
    for k in range(frames):
        t = k * INTERVAL_S
        ids = ["OLD"] + [f"T{(k // 20) * 20 + j}" for j in range(20)]
        log.add(t, _picture(ids, t), [])
        if sizes is not None:
            sizes.append((len(log.pictures), len(log.starts), len(log.history)))
    return log


def _frames(messages: list[ServerMessage]) -> list[Frame]:
    """The frames among a step's messages, as the browser reads them."""
    return [
        msgspec.json.decode(encode(m), type=Frame)
        for m in messages
        if isinstance(m, Frame | EncodedFrame)
    ]


def test_the_log_keeps_the_window_and_forgets_what_left_it() -> None:
    window = int(KEEP_S / INTERVAL_S)
    sizes: list[tuple[int, int, int]] = []
    log = _churning_log(5_000, sizes)
    assert log.end == 5_000  # indices are absolute: the n-th picture ever added is n
    assert window <= len(log.pictures) <= window + window // 16 + 1
    assert log.oldest_s() >= log.times[-1] - KEEP_S * (1 + 1 / 16) - INTERVAL_S
    # Only tracks in the pictures kept have a start time and a history.
    held = {str(i) for p in log.pictures for i in p["track_id"]}
    assert set(log.starts) == held == set(log.history.held())
    # Flat: the largest the log was over its last 1,000 pictures is the largest it was
    # over pictures 500-1,000, ten times earlier in the run.
    early, late = np.max(sizes[500:1_000], axis=0), np.max(sizes[4_000:], axis=0)
    assert tuple(late) == tuple(early)


def test_a_track_held_throughout_keeps_its_whole_life() -> None:
    log = _churning_log(2_000)
    player = Player(log, live=True, start_s=0.0, end_s=1e9, head_s=lambda: log.times[-1])
    player.step()
    player.receive(decode_client(encode_request("OLD")), "jpn")
    (history,) = [m for m in player.step() if isinstance(m, TrackHistory)]
    assert history.time_s[0] == 0.0 and history.time_s[-1] == log.times[-1]
    assert len(history.time_s) <= 64 + 1
    assert history.alt_m == [1000.0 + t for t in history.time_s]


def test_a_session_behind_the_window_is_sent_a_whole_picture() -> None:
    log = _churning_log(200)
    head = [log.times[-1]]
    player = Player(log, live=True, start_s=0.0, end_s=1e9, head_s=lambda: head[0])
    player.step()
    player.control(Control("control", "pause"))
    sent = player._sent_index
    for k in range(200, 500):  # the live picture goes on; what the session holds is dropped
        t = k * INTERVAL_S
        log.add(t, _picture(["OLD"], t), [])
    head[0] = log.times[-1]
    assert sent < log.first
    # Going back before the window lands on the oldest picture kept, sent whole.
    player.control(Control("control", "seek", 0.0))
    frames = _frames(player.step())
    assert player.time_s == log.oldest_s()
    assert frames[0].reset and frames[-1].time_s == log.oldest_s()
    assert frames[-1].seq == log.first + 1
    # Playing on from there: deltas again, one picture after the other.
    player.control(Control("control", "play"))
    player.time_s = log.time_of(log.first + 3)
    player.paused = True
    (later,) = _frames(player.step())
    assert not later.reset and later.seq == log.first + 4


def test_a_replay_keeps_every_picture() -> None:
    log = FrameLog("JPN")
    for k in range(2_000):
        log.add(k * INTERVAL_S, _picture(["A", f"B{k}"], k * INTERVAL_S), [])
    assert log.first == 0 and len(log.pictures) == 2_000 and len(log.starts) == 2_001


@pytest.mark.parametrize("keep_s", [0.0, -5.0, float("nan")])
def test_a_window_that_is_not_positive_is_refused(keep_s: float) -> None:
    with pytest.raises(ValueError, match="keep_s must be positive"):
        FrameLog("JPN", keep_s=keep_s)


def test_index_at_counts_from_the_first_picture_ever() -> None:
    log = _churning_log(1_000)
    newest = log.end - 1
    assert log.index_at(log.times[-1]) == newest
    assert log.index_at(log.times[-1] + 1e6) == newest
    assert log.index_at(log.oldest_s()) == log.first
    assert log.index_at(log.oldest_s() - 1.0) == -1
    with pytest.raises(IndexError, match="not kept"):
        log.picture(log.first - 1)
    assert np.array_equal(log.picture(newest)["track_id"], log.pictures[-1]["track_id"])


def test_a_nodes_pictures_are_taken_while_its_clock_is_past_the_scenarios_end() -> None:
    """A node's clock may be past the scenario's end while it still makes pictures (a clock
    set far ahead, as bench/soak.py runs one): the page's hub takes them until the node says
    it is finished, and none pile up in the source."""
    loaded = network_scenario(duration_s=60.0)
    source = NodeLiveSource(loaded, "JPN")
    hub = Hub(source, ServerSettings(produce_every_s=0.01), clock_s=lambda: 1e9)

    async def run() -> None:
        producing = asyncio.create_task(hub.produce())
        for k in range(1, 41):  # 200 s of pictures, well past the end at 60 s
            source.push(5.0 * k, _picture(["A"], 5.0 * k), [])
            await asyncio.sleep(0.02)
        assert not producing.done()
        source.finish()
        await asyncio.wait_for(producing, 5.0)

    asyncio.run(run())
    log = hub.logs["JPN"]
    assert log.end == 40 and log.times[-1] == 200.0
    assert source.advance(1e9) == []
