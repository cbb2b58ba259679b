"""A node's own web page: its nation's picture on the exercise clock, no other nation's."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from airpicture.network.run import run_network
from airpicture.policy import viewable_sensors
from airpicture.sim.simulate import simulate
from airpicture.web.app import COOKIE
from airpicture.web.node_source import NodeLiveSource
from tests.web.helpers import PASSWORDS, make_app, receive, receive_until

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
