"""A node's own web page: its nation's picture on the exercise clock, no other nation's."""

from __future__ import annotations

from typing import get_args

import pytest
from fastapi.testclient import TestClient

from airpicture.network.liveness import LinkMonitor, LinkState
from airpicture.network.run import run_network
from airpicture.policy import viewable_sensors
from airpicture.sim.simulate import simulate
from airpicture.tables import PICTURE_SCHEMA, empty_table
from airpicture.web.app import COOKIE
from airpicture.web.node_source import STATE_NAMES, NodeLiveSource
from airpicture.web.protocol import LinkStateName
from tests.web.helpers import PASSWORDS, make_app, receive, receive_until, sign_in

from .netscen import network_scenario


def test_the_node_page_serves_its_nation_alone_at_the_exercise_time() -> None:
    loaded = network_scenario(duration_s=30.0)
    result = run_network(loaded, simulate(loaded).plots)
    source = NodeLiveSource(loaded, "JPN")
    assert source.info.picture_viewers == ("JPN",)
    assert set(source.info.sensors) == set(viewable_sensors(loaded.scenario)["JPN"])
    picture = result.picture
    for t in (5.0, 10.0, 15.0):
        mine = (picture["viewer"] == "JPN") & (picture["time_s"] == t)
        source.push(t, {c: v[mine] for c, v in picture.items()}, [])
    app = make_app(source, clock_s=lambda: 15.0)
    with TestClient(app) as client:
        for other in ("usa", "aus"):
            r = client.post("/api/login", json={"user": other, "password": PASSWORDS[other]})
            assert r.status_code != 200
        r = client.post("/api/login", json={"user": "jpn", "password": PASSWORDS["jpn"]})
        assert r.status_code == 200
        token = r.cookies[COOKIE]
        client.cookies.clear()
        with client.websocket_connect("/ws", headers={"cookie": f"{COOKIE}={token}"}) as ws:
            hello = receive(ws)
            assert hello["viewer"] == "JPN" and hello["mode"] == "live"
            frame = receive_until(ws, "frame")
            while frame["time_s"] < 15.0:
                frame = receive_until(ws, "frame")
            assert frame["time_s"] == 15.0
    source.finish()


def test_a_node_source_is_for_a_nation_of_the_scenario() -> None:
    with pytest.raises(ValueError, match="RED is not a nation"):
        NodeLiveSource(network_scenario(), "RED")


def _links(down: str | None, now_s: float) -> LinkMonitor:
    """JPN's links at `now_s`: every partner heard then, but `down`, silent since 0 s."""
    monitor = LinkMonitor("JPN", ["AUS", "USA"], down_after_s=15.0)
    monitor.check(0.0)
    for partner in ("AUS", "USA"):
        if partner != down:
            monitor.heard(partner, now_s)
    monitor.check(now_s)
    return monitor


def test_the_node_page_is_told_each_partners_link_as_its_node_sees_it() -> None:
    loaded = network_scenario(duration_s=30.0)
    source = NodeLiveSource(loaded, "JPN")
    now = {"s": 5.0}
    picture = empty_table(PICTURE_SCHEMA)
    source.push(5.0, picture, [], _links(None, 5.0))
    app = make_app(source, clock_s=lambda: now["s"])
    with TestClient(app) as client:
        sign_in(client, "jpn")
        with client.websocket_connect("/ws") as ws:
            assert receive(ws)["type"] == "hello"
            first = receive_until(ws, "links")
            assert first["time_s"] == 5.0 and first["down_after_s"] == 15.0
            assert [(p["nation"], p["state"], p["last_heard_s"]) for p in first["partners"]] == [
                ("AUS", "up", 5.0),
                ("USA", "up", 5.0),
            ]
            now["s"] = 20.0
            source.push(20.0, picture, [], _links("USA", 20.0))
            later = receive_until(ws, "links")
            usa = {p["nation"]: p for p in later["partners"]}["USA"]
            # Never heard since watching began at 0 s: down from 15 s, the limit.
            assert (usa["state"], usa["since_s"], usa["last_heard_s"]) == ("down", 15.0, None)
    source.finish()


def test_the_page_spells_every_link_state_the_node_has() -> None:
    assert set(STATE_NAMES) == set(LinkState)
    assert {s.value for s in LinkState} == set(get_args(LinkStateName))
    assert all(STATE_NAMES[s] == s.value for s in LinkState)
