"""A partner's warning closes in the receiving nation's picture: network and web views."""

from __future__ import annotations

import math

import numpy as np
import pytest

from airpicture.network import NetworkRun
from airpicture.sim.simulate import simulate
from airpicture.threat.warning import PredictedImpact, Warning
from airpicture.web.session import FrameLog
from airpicture.web.sources import PictureFrame
from airpicture.web.views import warnings_for
from tests.threat.scenarios import launch_scenario


@pytest.fixture(scope="module")
def network() -> NetworkRun:
    """The launch scenario distributed: USA holds the IR satellite and shares its plots
    with Japan; Japan shares its radar tracks with the USA."""
    loaded = launch_scenario(
        fusion="distributed",
        nations={"USA": {"release": {"tracks": ["JPN"], "plots": ["JPN"]}},
                 "JPN": {"release": {"tracks": ["USA"]}}},
    )  # fmt: skip
    run = NetworkRun(loaded, simulate(loaded).plots)
    run.advance(math.inf)
    return run


def test_a_partners_alert_is_shown_until_the_partner_closes_it(network: NetworkRun) -> None:
    usa, jpn = network.nodes["USA"], network.nodes["JPN"]
    launch = next(w for w in usa.issued_warnings if w.kind == "launch")
    rows = [w for w in jpn.received_warnings if w.warning_id == launch.warning_id]
    kinds = [w.kind for w in rows]
    # Japan was told of the launch, then of everything about it, down to its end.
    assert kinds[0] == "launch" and "impact_area" in kinds
    assert kinds[-1] in ("fell_at_sea", "impact"), kinds
    end = rows[-1]
    assert [w.sequence for w in rows] == sorted(w.sequence for w in rows)
    on = {w.warning_id for w in jpn.active_warnings(launch.time_s)}
    assert launch.warning_id in on
    assert launch.warning_id in {w.warning_id for w in jpn.active_warnings(end.time_s - 1.0)}
    assert launch.warning_id not in {w.warning_id for w in jpn.active_warnings(end.time_s)}
    # No banner outlives its threat: at the end of the run nothing is on for either nation.
    assert jpn.active_warnings(network.end_s) == []
    assert usa.active_warnings(network.end_s) == []


def _row(t: float, kind: str, seq: int, **extra: object) -> Warning:
    return Warning(time_s=t, warning_id="USA-L001", kind=kind, text=kind,  # type: ignore[arg-type]
                   recipients=("USA", "JPN"), sequence=seq, issued_by="USA",
                   **extra)  # type: ignore[arg-type]  # fmt: skip


IMPACT = PredictedImpact(lat_deg=39.0, lon_deg=134.5, time_s=380.0, semi_major_m=20000,
                         semi_minor_m=5000, orientation_deg=80.0, confidence=0.95)  # fmt: skip


def _served(warnings: list[Warning]) -> FrameLog:
    """Japan's frame log as the web server fills it: frames every 5 s, its warnings only."""
    log = FrameLog("JPN")
    empty = {"track_id": np.empty(0, dtype=object)}
    for t in np.arange(0.0, 605.0, 5.0):
        new = [w for w in warnings if t - 5.0 < w.time_s <= t]
        frame = PictureFrame(float(t), "ALL", empty, new)
        log.add(frame.time_s, empty, warnings_for("JPN", frame.warnings))
    return log


def test_the_web_banner_goes_when_the_partner_reports_the_fall() -> None:
    log = _served([
        _row(40.0, "launch", 1, expires_s=1060.0),
        _row(120.0, "impact_area", 2, expires_s=500.0, predicted_impact=IMPACT),
        _row(380.0, "fell_at_sea", 3, predicted_impact=IMPACT),
    ])  # fmt: skip
    assert [w.kind for w in log.active_at(100.0)] == ["launch"]
    assert [w.kind for w in log.active_at(375.0)] == ["impact_area"]
    assert log.active_at(380.0) == []


def test_the_web_banner_expires_when_the_closing_row_never_comes() -> None:
    log = _served([
        _row(40.0, "launch", 1, expires_s=1060.0),
        _row(120.0, "impact_area", 2, expires_s=500.0, predicted_impact=IMPACT),
    ])  # fmt: skip
    assert [w.kind for w in log.active_at(499.0)] == ["impact_area"]
    assert log.active_at(500.0) == []
