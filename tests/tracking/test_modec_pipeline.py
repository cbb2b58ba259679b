"""Mode C through the whole pipeline: a 2D radar's reports with Mode C → the tracker
(Radar2DModeC) → tracks at the right altitude; and the same reports as ASTERIX CAT048
(encode → decode → track) → the same tracks.

Seeded scenario (tests/sim/test_mode_c.py's radar and traffic, 30 aircraft, 240 s). A
2D radar measures no elevation: without Mode C a track's altitude is the initiation
prior's guess; with it, the ISA pressure altitude (the day's offset σ 60 m, the 100 ft
step) pins it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from airpicture.cli.ingest import asterix_sensors
from airpicture.geo import ecef_to_geodetic
from airpicture.interop.asterix import THETA_LSB_DEG, AsterixIngest, encode_cat048
from airpicture.tracking.measurement import sensor_models
from airpicture.tracking.measurement.radar2d import MODE_C_SIGMA_M
from airpicture.tracking.tracker import Tracker
from tests.sim.scenarios import run, scenario
from tests.sim.test_mode_c import RADAR2D, TRAFFIC

DURATION_S = 240.0
SENSORS = [{**RADAR2D, "mode_c": True}]
TARGETS = [{**TRAFFIC, "count": 30}]


@pytest.fixture(scope="module")
def simulated() -> Any:
    return run(SENSORS, TARGETS, duration_s=DURATION_S, seed=14)


def track(plots: dict[str, np.ndarray[Any, Any]]) -> dict[str, np.ndarray[Any, Any]]:
    loaded = scenario(SENSORS, TARGETS, duration_s=DURATION_S, seed=14)
    tracker = Tracker(sensor_models(loaded.scenario.sensors))
    tracker.process(plots)
    tracker.advance_to(DURATION_S)
    return tracker.snapshot(DURATION_S)


def altitude_errors(sim: Any, picture: dict[str, np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
    """Each track's altitude minus its nearest (horizontally) aircraft's true altitude."""
    ids = sim.trajectories.info.ids
    pos, _, alive = sim.trajectories.state_at(np.arange(len(ids)), np.full(len(ids), DURATION_S))
    lat, lon, alt = ecef_to_geodetic(pos[alive])
    north = (picture["lat_deg"][:, None] - lat[None]) * 111_000.0
    east = (picture["lon_deg"][:, None] - lon[None]) * 111_000.0 * np.cos(np.radians(lat))[None]
    nearest = np.argmin(np.hypot(north, east), axis=1)
    errors: np.ndarray[Any, Any] = picture["alt_m"] - alt[nearest]
    return errors


def test_mode_c_reports_give_tracks_at_the_right_altitude(simulated: Any) -> None:
    plots = simulated.plots
    with_c = track(plots)
    without_c = track({**plots, "pressure_alt_m": np.full(len(plots["time_s"]), np.nan)})
    err_c = altitude_errors(simulated, with_c)
    err_plain = altitude_errors(simulated, without_c)
    rms_c, rms_plain = (float(np.sqrt(np.mean(e**2))) for e in (err_c, err_plain))
    print(
        f"tracks {err_c.size} (without Mode C {err_plain.size}); altitude rms "
        f"{rms_c:.1f} m with Mode C, {rms_plain:.0f} m without; worst {np.abs(err_c).max():.1f} m"
    )
    # seed 14, 30 aircraft: 27 held with Mode C at 240 s; without it, 15 (a 2D radar's
    # track started at the prior's altitude often fails to gate its next reports)
    assert (err_c.size, err_plain.size) == (27, 15)
    # the filter's altitude is the pressure altitude's (σ ≈ 61 m: the day's offset
    # per aircraft and the 100 ft step), not the prior's guess
    assert rms_c < 1.5 * MODE_C_SIGMA_M
    # each track's error within 3 of its stated σu (the day's σ at least): a track
    # in a climb or descent states the larger σ its vertical speed leaves it
    assert (np.abs(err_c) < 3.0 * np.maximum(with_c["sigma_u_m"], MODE_C_SIGMA_M)).all()
    assert rms_plain > 1000.0
    # the picture row states it: σu of the order of the Mode C error, not kilometres
    assert np.median(with_c["sigma_u_m"]) < 2.0 * MODE_C_SIGMA_M
    assert np.median(without_c["sigma_u_m"]) > 500.0


def test_mode_c_through_cat048_gives_the_same_tracks(simulated: Any) -> None:
    plots = simulated.plots
    loaded = scenario(SENSORS, TARGETS, duration_s=DURATION_S, seed=14)
    sensors = asterix_sensors(loaded.scenario)
    encoded = encode_cat048(plots, {s.sensor_id: s for s in sensors}, loaded.scenario.epoch)
    assert not encoded.skipped
    ingest = AsterixIngest(sensors, loaded.scenario.epoch)
    for datagram in encoded.datagrams:
        assert ingest.datagram(datagram.data) is None
    decoded = ingest.reports()
    assert len(decoded["time_s"]) == len(plots["time_s"])
    # Mode C in 100 ft steps is a whole number of I090's ¼ FL: it comes back exactly
    order, back = (
        np.lexsort((np.round(t["az_deg"] / THETA_LSB_DEG), np.round(t["time_s"] * 128)))
        for t in (plots, decoded)
    )
    assert np.array_equal(
        np.isnan(decoded["pressure_alt_m"][back]), np.isnan(plots["pressure_alt_m"][order])
    )
    assert np.allclose(
        decoded["pressure_alt_m"][back], plots["pressure_alt_m"][order], atol=1e-6, equal_nan=True
    )
    direct, via_asterix = track(plots), track(decoded)
    assert sorted(via_asterix["track_id"]) == sorted(direct["track_id"])
    a = np.argsort(direct["track_id"].astype(str))
    b = np.argsort(via_asterix["track_id"].astype(str))
    # I040's 1/256 NM and 2^-16 turn, and I140's 1/128 s, move tracks by metres
    assert np.allclose(via_asterix["alt_m"][b], direct["alt_m"][a], atol=5.0)
    err = altitude_errors(simulated, via_asterix)
    assert float(np.sqrt(np.mean(err**2))) < 1.5 * MODE_C_SIGMA_M


def test_a_trackers_picture_says_how_old_each_tracks_updates_are(simulated: Any) -> None:
    # A 2D radar (SSR in CAT062 I290's terms) updates every track; nothing else does.
    picture = track(simulated.plots)
    revisit = float(RADAR2D["scan_period_s"])
    assert (picture["update_age_s"] >= 0.0).all()
    assert (picture["update_age_s"] <= 3.0 * revisit).all()  # held tracks: recent hits
    np.testing.assert_array_equal(picture["ssr_age_s"], picture["update_age_s"])
    assert np.isnan(picture["psr_age_s"]).all() and np.isnan(picture["ads_age_s"]).all()


def test_a_trackers_picture_carries_the_mode_c_and_mode_3a_its_reports_gave(
    simulated: Any,
) -> None:
    plots = dict(simulated.plots)
    ids = sorted(set(plots["target_id"].tolist()) - {""})
    code_of = {t: f"{i + 0o1000:04o}" for i, t in enumerate(ids)}  # one squawk per aircraft
    plots["mode3a"] = np.array([code_of.get(t, "") for t in plots["target_id"]], dtype=object)
    picture = track(plots)
    assert np.isfinite(picture["pressure_alt_m"]).all()
    # Each track says the squawk of the aircraft it follows (the nearest one).
    truth_ids = simulated.trajectories.info.ids
    pos, _, alive = simulated.trajectories.state_at(
        np.arange(len(truth_ids)), np.full(len(truth_ids), DURATION_S)
    )
    lat, lon, _ = ecef_to_geodetic(pos[alive])
    north = (picture["lat_deg"][:, None] - lat[None]) * 111_000.0
    east = (picture["lon_deg"][:, None] - lon[None]) * 111_000.0 * np.cos(np.radians(lat))[None]
    nearest = np.asarray(truth_ids, dtype=object)[alive][np.argmin(np.hypot(north, east), axis=1)]
    assert picture["mode3a"].tolist() == [code_of[t] for t in nearest]
    # Its Mode C is the last report's: within the 100 ft step and the day's offset.
    assert (np.abs(picture["pressure_alt_m"] - picture["alt_m"]) < 5 * MODE_C_SIGMA_M).all()
