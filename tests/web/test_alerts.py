"""Alerts on the server side: acknowledgements (per operator, recorded), the end of every
alert a nation was told of, each track's real start and quality on the wire, map layers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import msgspec
import numpy as np
import pytest

from airpicture.errors import InputError
from airpicture.tables import Table
from airpicture.threat.warning import Warning
from airpicture.web.alerts import ACK_FILE, AlertAcknowledgements, acknowledge
from airpicture.web.deltas import apply_delta, picture_delta
from airpicture.web.protocol import (
    Acknowledge,
    Acknowledgements,
    Control,
    ProtocolError,
    decode_client,
    encode,
)
from airpicture.web.session import FrameLog, Player
from airpicture.web.sources import PictureFrame, read_layers
from airpicture.web.views import ViewRule, frame_for

NOON = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def _picture(ids: list[str], time_s: float, **extra: list[float]) -> Table:
    n = len(ids)
    table: Table = {
        "time_s": np.full(n, time_s),
        "viewer": np.full(n, "JPN", dtype=object),
        "track_id": np.array(ids, dtype=object),
        "lat_deg": np.linspace(30.0, 31.0, n),
        "lon_deg": np.linspace(130.0, 131.0, n),
        "alt_m": np.full(n, 9000.0),
        "vel_e_mps": np.full(n, 200.0),
        "vel_n_mps": np.zeros(n),
        "vel_u_mps": np.zeros(n),
        "cls": np.full(n, "aircraft", dtype=object),
        "identity": np.full(n, "neutral", dtype=object),
        "sources": np.array([("JPN-FPS5",)] * n + [()], dtype=object)[:n],
    }
    for name, values in extra.items():
        table[name] = np.array(values, dtype=np.float64)
    return table


def _warning(time_s: float, wid: str, kind: str, recipients: tuple[str, ...]) -> Warning:
    return Warning(
        time_s=time_s, warning_id=wid, kind=kind, text=f"{kind} {wid}", recipients=recipients
    )


# ------------------------------------------------------------------ the ack message


def test_an_acknowledgement_decodes_and_a_malformed_one_is_refused() -> None:
    assert decode_client(b'{"type": "ack", "warning_id": "JPN-B003"}') == Acknowledge(
        "ack", "JPN-B003"
    )
    for raw in (
        b'{"type": "ack"}',
        b'{"type": "ack", "warning_id": ""}',
        b'{"type": "ack", "warning_id": "X", "user": "usa"}',  # the user is the session's
        b'{"type": "ack", "warning_id": 7}',
        b'{"type": "ack", "warning_id": "' + b"W" * 200 + b'"}',
    ):
        with pytest.raises(ProtocolError):
            decode_client(raw)
    # Control messages are unchanged.
    assert decode_client(b'{"type": "control", "op": "pause"}') == Control("control", "pause")


# ------------------------------------------------------------------ acknowledging


def test_acknowledgements_are_per_operator_recorded_and_read_back(tmp_path: Path) -> None:
    acks = AlertAcknowledgements("JPN")
    sent = {"JPN-B003"}
    first = acknowledge(
        acks, sent, "jpn-watch", Acknowledge("ack", "JPN-B003"), 412.5, tmp_path, NOON
    )
    assert (first.warning_id, first.user, first.viewer, first.time_s) == (
        "JPN-B003", "jpn-watch", "JPN", 412.5
    )  # fmt: skip
    assert first.wall_utc == "2026-12-07T12:00:00.000Z"
    # The same operator again: nothing new; another operator: a second acknowledgement.
    again = acknowledge(acks, sent, "jpn-watch", Acknowledge("ack", "JPN-B003"), 420.0, tmp_path)
    assert again == first and acks.version == 1
    acknowledge(acks, sent, "jpn-sup", Acknowledge("ack", "JPN-B003"), 430.0, tmp_path, NOON)
    assert [a.user for a in acks.items] == ["jpn-watch", "jpn-sup"] and acks.version == 2
    lines = (tmp_path / ACK_FILE).read_text().splitlines()
    assert [json.loads(line)["user"] for line in lines] == ["jpn-watch", "jpn-sup"]
    # A restarted server reads them back, per viewer.
    again_jpn, usa = AlertAcknowledgements("JPN"), AlertAcknowledgements("USA")
    again_jpn.attach(tmp_path)
    usa.attach(tmp_path)
    assert [a.user for a in again_jpn.items] == ["jpn-watch", "jpn-sup"]
    assert usa.items == []


def test_an_alert_the_session_was_not_sent_cannot_be_acknowledged() -> None:
    acks = AlertAcknowledgements("AUS")
    with pytest.raises(ProtocolError, match="no alert 'USA-L001'"):
        acknowledge(acks, {"AUS-B003"}, "aus", Acknowledge("ack", "USA-L001"), 1.0)
    assert acks.items == []


def test_every_session_of_the_viewer_hears_of_an_acknowledgement() -> None:
    log = FrameLog("JPN")
    log.add(10.0, _picture(["1"], 10.0), [_warning(10.0, "JPN-B003", "launch", ("JPN",))])
    wall = [0.0]

    def player() -> Player:
        return Player(log, live=False, start_s=0.0, end_s=100.0, head_s=lambda: 100.0,
                      clock=lambda: wall[0])  # fmt: skip

    one, two = player(), player()
    one.control(Control("control", "seek", 20.0))
    two.control(Control("control", "seek", 20.0))
    one.step(), two.step()
    # Without the operator's name an acknowledgement is refused (as any unknown message).
    with pytest.raises(ProtocolError):
        one.control(Acknowledge("ack", "JPN-B003"))
    one.receive(Acknowledge("ack", "JPN-B003"), "jpn-watch")
    wall[0] += 0.01
    for session in (one, two):
        sent = [m for m in session.step() if isinstance(m, Acknowledgements)]
        assert len(sent) == 1 and [a.user for a in sent[0].items] == ["jpn-watch"]
        assert json.loads(encode(sent[0]))["type"] == "acks"
        wall[0] += 0.01
        assert not [m for m in session.step() if isinstance(m, Acknowledgements)]


# ------------------------------------------------------------------ alerts' ends


def test_a_nation_told_of_an_alert_learns_of_its_end_without_its_details() -> None:
    rule = ViewRule("AUS", "AUS")
    told = frame_for(
        rule,
        PictureFrame(415.0, "AUS", _picture([], 415.0), [
            _warning(415.0, "USA-L001", "impact_area", ("USA", "JPN", "AUS")),
            _warning(415.0, "USA-L009", "launch", ("USA",)),
        ]),
    )  # fmt: skip
    assert [w.warning_id for w in told.warnings] == ["USA-L001"]
    ended = frame_for(
        rule,
        PictureFrame(1195.0, "AUS", _picture([], 1195.0), [
            _warning(1195.0, "USA-L001", "fell_at_sea", ("USA", "JPN")),
            _warning(1195.0, "USA-L009", "impact", ("USA",)),
        ]),
    )  # fmt: skip
    (notice,) = ended.warnings
    assert (notice.warning_id, notice.kind, notice.recipients) == (
        "USA-L001", "fell_at_sea", ("AUS",)
    )  # fmt: skip
    assert notice.text == "Alert USA-L001 is closed (fell at sea)."
    assert notice.predicted_impact is None


# ------------------------------------------------------------------ start and quality


def test_a_tracks_start_is_its_first_time_in_the_viewers_picture_whenever_a_browser_joins() -> None:
    log = FrameLog("JPN")
    log.add(10.0, _picture(["1"], 10.0), [])
    log.add(20.0, _picture(["1", "2"], 20.0), [])
    log.add(30.0, _picture(["1", "2"], 30.0), [])
    frame = log.frame(-1, 2, False, 0.0)  # a browser that joins at 30 s
    starts = {m.track_id: m.start_s for m in frame.meta}
    assert starts == {"1": 10.0, "2": 20.0}
    held = apply_delta({}, frame)
    assert held["2"]["start_s"] == 20.0
    wire = msgspec.json.decode(encode(frame))
    assert [row[5] for row in wire["meta"]] == [10.0, 20.0]


def test_quality_goes_on_the_wire_only_when_the_picture_has_it() -> None:
    plain = picture_delta({}, _picture(["1", "2"], 1.0)).frame(1, 1.0, True, 0.0)
    assert plain.sigma_h_m is None and msgspec.json.decode(encode(plain))["sigma_h_m"] is None
    rows = _picture(
        ["1", "2"], 1.0, sigma_e_m=[120.4, np.nan], sigma_n_m=[80.0, np.nan],
        sigma_u_m=[35.6, np.nan], update_age_s=[1.26, np.nan],
    )  # fmt: skip
    frame = picture_delta({}, rows).frame(1, 1.0, True, 0.0)
    assert frame.sigma_h_m is not None and frame.sigma_u_m is not None and frame.age_s is not None
    assert frame.sigma_h_m[0] == 120.0 and frame.sigma_u_m[0] == 36.0 and frame.age_s[0] == 1.3
    wire = msgspec.json.decode(encode(frame))
    assert wire["sigma_h_m"] == [120.0, None] and wire["age_s"] == [1.3, None]


# ------------------------------------------------------------------ layers


def test_a_run_folders_geojson_layers_are_read_and_bad_ones_named(tmp_path: Path) -> None:
    layers = tmp_path / "layers"
    layers.mkdir()
    adiz = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {"name": "ADIZ"}, "geometry": {
            "type": "Polygon", "coordinates": [[[130, 30], [132, 30], [132, 32], [130, 30]]]}}],
    }  # fmt: skip
    (layers / "adiz.geojson").write_text(json.dumps(adiz))
    (layers / "exercise-area.geojson").write_text(
        json.dumps({"type": "LineString", "coordinates": [[130, 30], [131, 31]], "color": "#fff"})
    )
    got = read_layers(layers)
    assert [(layer.name, layer.color) for layer in got] == [
        ("adiz", "#c39bff"), ("exercise-area", "#fff")
    ]  # fmt: skip
    assert got[0].geojson == adiz
    assert read_layers(tmp_path / "none") == ()
    (layers / "broken.geojson").write_text('{"type": "Circle"}')
    with pytest.raises(InputError, match=r"broken\.geojson"):
        read_layers(layers)


def test_live_and_node_pages_draw_the_scenarios_own_layers(tmp_path: Path) -> None:
    from airpicture.scenario import load_scenario
    from airpicture.web.node_source import NodeLiveSource
    from tests.conftest import REPO

    loaded = load_scenario(REPO / "scenarios" / "okinawa-exercise-area.yaml")
    node = NodeLiveSource(loaded, "JPN", record_dir=tmp_path)
    assert [(x.name, x.color) for x in node.info.layers] == [("exercise-area", "#ffb86b")]
    # A layer of the node's folder of another name is drawn too; one of the same name once.
    (tmp_path / "layers").mkdir()
    area = {"type": "Point", "coordinates": [128.0, 26.0]}
    for name in ("exercise-area", "notam"):
        (tmp_path / "layers" / f"{name}.geojson").write_text(json.dumps(area))
    node = NodeLiveSource(loaded, "JPN", record_dir=tmp_path)
    assert [x.name for x in node.info.layers] == ["exercise-area", "notam"]
    assert node.info.layers[0].geojson["type"] == "FeatureCollection"


def test_a_live_scenario_page_draws_the_scenarios_layers() -> None:
    from airpicture.scenario import ScenarioOverrides, load_scenario
    from airpicture.web.live import NetworkLiveSource
    from tests.conftest import REPO

    loaded = load_scenario(
        REPO / "scenarios" / "okinawa-exercise-area.yaml", ScenarioOverrides(duration_s=10.0)
    )
    layers = NetworkLiveSource(loaded).info.layers
    assert [(x.name, x.color) for x in layers] == [("exercise-area", "#ffb86b")]


def test_a_layer_colour_the_page_cannot_draw_gives_way_to_the_palette(tmp_path: Path) -> None:
    (tmp_path / "a.geojson").write_text(
        json.dumps({"type": "Point", "coordinates": [128.0, 26.0], "color": "url(javascript:1)"})
    )
    (tmp_path / "b.geojson").write_text(
        json.dumps({"type": "Point", "coordinates": [128.0, 26.0], "color": "#0a0B0c"})
    )
    assert [x.color for x in read_layers(tmp_path)] == ["#c39bff", "#0a0B0c"]
