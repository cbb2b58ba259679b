"""The tracker shell: life cycle, association by identity, boost detections, bad input, order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from airpicture.geo import ecef_to_sensor, geodetic_to_ecef
from airpicture.tracking.association import gnn_assign, jpda_weights, pregate_pairs
from airpicture.tracking.measurement import ADSB, MeasurementModel, SpaceIR
from airpicture.tracking.settings import TrackerSettings
from airpicture.tracking.store import CONFIRMED
from airpicture.tracking.tracker import Tracker
from tests.tracking.plotgen import aircraft, radar, scan_plots

PLOT_COLUMNS = (
    "time_s", "sensor_id", "nation", "range_m", "az_deg", "el_deg", "range_rate_mps",
    "lat_deg", "lon_deg", "alt_m", "ident", "target_id",
)  # fmt: skip


def picture(tracker: Tracker, time_s: float) -> dict[str, np.ndarray]:
    """Advance the tracker to `time_s` and take its picture there."""
    tracker.advance_to(time_s)
    return tracker.snapshot(time_s)


def empty_plots(n: int) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for col in PLOT_COLUMNS:
        if col in ("sensor_id", "nation", "ident", "target_id"):
            out[col] = np.full(n, "", dtype=object)
        else:
            out[col] = np.full(n, np.nan)
    return out


def radar_plot_rows(
    s: MeasurementModel, pos: np.ndarray, times: np.ndarray
) -> dict[str, np.ndarray]:
    rows = empty_plots(len(times))
    rng_m, az, el, _ = ecef_to_sensor(pos, np.zeros_like(pos), s.ecef_m, s.basis)
    rows["time_s"] = times.astype(float)
    rows["sensor_id"][:] = s.sensor_id
    rows["range_m"], rows["az_deg"], rows["el_deg"] = rng_m, az, el
    return rows


def straight_target(n_scans: int, period: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    start = geodetic_to_ecef(36.5, 138.5, 9000.0)
    vel = np.array([150.0, -100.0, 50.0])
    times = np.arange(n_scans) * period
    return start + vel * times[:, None], times


def test_a_target_is_confirmed_then_deleted_when_it_disappears() -> None:
    s = radar(false_alarms=0.0)
    pos, times = straight_target(12)
    tracker = Tracker([s])
    tracker.process(radar_plot_rows(s, pos[:8], times[:8]))
    tracker.flush()
    assert (tracker.tracks.status == CONFIRMED).sum() == 1
    number = int(tracker.tracks.number[0])
    snap = picture(tracker, 36.0)
    assert list(snap["track_id"]) == [f"T{number:05d}"]
    assert snap["sources"][0] == [s.sensor_id]
    # Stable number while it keeps being seen.
    tracker.process(radar_plot_rows(s, pos[8:10], times[8:10]))
    tracker.flush()
    assert list(tracker.tracks.number) == [number]
    # Silence: the confirmed track coasts a few scans then goes.
    picture(tracker, 45.0 + 5.0 * 3)
    assert len(tracker.tracks) == 1
    picture(tracker, 45.0 + 5.0 * 8)
    assert len(tracker.tracks) == 0


def test_a_coasting_track_is_hidden_once_its_target_has_likely_ended_then_taken_up() -> None:
    s = radar(false_alarms=0.0)  # pd 0.9, 5 s scans
    pos, times = straight_target(20)
    tracker = Tracker([s])
    tracker.process(radar_plot_rows(s, pos[:8], times[:8]))
    tracker.flush()
    number = int(tracker.tracks.number[0])
    # Last report at 35 s. Two missed scans (45 s): ln(1/0.1²) = 4.6 < ln(1800/10) = 5.2,
    # still more likely there than gone. Three (55 s): 6.9 > ln(1800/20) = 4.5, hidden,
    # but not deleted (9.2 is four misses).
    assert list(picture(tracker, 45.0)["track_id"]) == [f"T{number:05d}"]
    assert len(picture(tracker, 55.0)["track_id"]) == 0
    assert list(tracker.tracks.number) == [number]
    # The target was only missed: its next report takes the same track up, shown again.
    tracker.process(radar_plot_rows(s, pos[12:13], times[12:13]))
    tracker.flush()
    assert list(picture(tracker, 60.0)["track_id"]) == [f"T{number:05d}"]


def test_confirmation_needs_more_than_one_report() -> None:
    s = radar(false_alarms=0.0)
    pos, times = straight_target(1)
    tracker = Tracker([s])
    tracker.process(radar_plot_rows(s, pos, times))
    tracker.flush()
    assert len(tracker.tracks) == 1
    assert tracker.tracks.status[0] != CONFIRMED


def test_clutter_alone_makes_almost_no_confirmed_tracks() -> None:
    rng = np.random.default_rng(5)
    s = radar(false_alarms=200.0)
    plots = scan_plots(rng, s, np.empty((0, 3)), np.empty((0, 3)), 300.0)
    tracker = Tracker([s])
    tracker.process(plots)
    picture_ids: set[str] = set()
    for t in np.arange(10.0, 300.0, 10.0):
        picture_ids |= set(picture(tracker, float(t))["track_id"])
    assert len(picture_ids) <= 3  # from ~12,000 false alarms


def test_many_targets_in_clutter_are_tracked() -> None:
    rng = np.random.default_rng(11)
    s = radar(false_alarms=100.0)
    pos0, vel0 = aircraft(rng, 150)
    plots = scan_plots(rng, s, pos0, vel0, 200.0)
    tracker = Tracker([s])
    tracker.process(plots)
    snap = picture(tracker, 195.0)
    est = geodetic_to_ecef(snap["lat_deg"], snap["lon_deg"], snap["alt_m"])
    truth = pos0 + vel0 * 195.0
    _, _, el, _ = ecef_to_sensor(truth, vel0, s.ecef_m, s.basis)
    visible = el > 0.0
    d = np.linalg.norm(est[:, None, :] - truth[None, visible, :], axis=-1)
    assert (d.min(axis=0) < 1500.0).mean() > 0.97
    assert (d.min(axis=1) > 5000.0).sum() <= 2
    assert np.median(d.min(axis=0)) < 400.0


def test_bad_input_is_counted_never_crashes() -> None:
    s = radar(false_alarms=0.0)
    pos, times = straight_target(6)
    tracker = Tracker([s])
    tracker.process(empty_plots(0))
    rows = radar_plot_rows(s, pos, times)
    rows["sensor_id"][1] = "NO-SUCH-RADAR"
    rows["range_m"][2] = np.nan
    rows["time_s"][3] = np.inf
    tracker.process(rows)
    tracker.flush()
    # A report far older than what was processed: too late, counted.
    late = radar_plot_rows(s, pos[:1], np.array([-100.0]))
    tracker.process(late)
    counts = tracker.counts.as_dict()
    assert counts["received"] == 7
    assert counts["unknown_sensor"] == 1
    assert counts["missing_values"] == 1
    assert counts["bad_time"] == 1
    assert counts["too_late"] == 1
    assert counts["unusable"] == 4
    assert counts["associated"] + counts["initiated"] == 3
    picture(tracker, 100.0)  # no exception, whatever is left


def test_slightly_out_of_order_reports_are_reordered() -> None:
    s = radar(false_alarms=0.0)
    pos, times = straight_target(10)
    rows = radar_plot_rows(s, pos, times)
    order = np.array([1, 0, 3, 2, 5, 4, 7, 6, 9, 8])  # swapped neighbours, 5 s apart
    tracker = Tracker([s], TrackerSettings(order_tolerance_s=10.0))
    tracker.process({k: v[order] for k, v in rows.items()})
    tracker.flush()
    assert tracker.counts.too_late == 0
    assert len(tracker.tracks) == 1
    assert tracker.tracks.hits[0] == 10


def adsb() -> ADSB:
    return ADSB(
        sensor_id="ADSB", nation="JPN", lat_deg=36.0, lon_deg=138.0, alt_m=0.0,
        pd=0.9, revisit_s=5.0, max_range_m=5e5, sigma_pos_m=30.0,
    )  # fmt: skip


def test_adsb_associates_by_identity_first() -> None:
    s = adsb()
    # Two aircraft 200 m apart: identity, not distance, decides.
    a = geodetic_to_ecef(36.0, 138.0, 10_000.0)
    b = geodetic_to_ecef(36.0018, 138.0, 10_000.0)
    from airpicture.geo import ecef_to_geodetic

    tracker = Tracker([s])
    for k in range(4):
        rows = empty_plots(2)
        rows["time_s"][:] = 5.0 * k
        rows["sensor_id"][:] = "ADSB"
        lat, lon, alt = ecef_to_geodetic(np.stack([a, b]))
        rows["lat_deg"], rows["lon_deg"], rows["alt_m"] = lat, lon, alt
        rows["ident"][:] = ["JAL123", "ANA456"] if k % 2 == 0 else ["ANA456", "JAL123"]
        if k % 2:
            rows["lat_deg"], rows["lon_deg"] = lat[::-1], lon[::-1]
        tracker.process(rows)
    tracker.flush()
    assert len(tracker.tracks) == 2
    assert sorted(tracker.tracks.ident.tolist()) == ["ANA456", "JAL123"]
    assert np.all(tracker.tracks.hits == 4)
    assert np.all(tracker.tracks.status == CONFIRMED)


def test_space_ir_keeps_boost_detections_without_a_track() -> None:
    sat = SpaceIR(
        sensor_id="SBIRS", nation="USA", lat_deg=0.0, lon_deg=140.0,
        alt_m=35_786_000.0, pd=0.95, revisit_s=10.0, sigma_los_rad=20e-6,
    )  # fmt: skip
    rows = empty_plots(3)
    rows["time_s"][:] = [0.0, 10.0, 20.0]
    rows["sensor_id"][:] = "SBIRS"
    rows["az_deg"][:] = 10.0
    rows["el_deg"][:] = -80.0
    tracker = Tracker([sat])
    tracker.process(rows)
    tracker.flush()
    assert len(tracker.tracks) == 0
    assert len(tracker.boost) == 3
    assert tracker.counts.boost_unassociated == 3
    los = tracker.boost.los_ecef
    np.testing.assert_allclose(np.linalg.norm(los, axis=1), 1.0)


def test_space_ir_updates_an_existing_track() -> None:
    s = radar(false_alarms=0.0)
    sat = SpaceIR(
        sensor_id="SBIRS", nation="USA", lat_deg=0.0, lon_deg=140.0,
        alt_m=35_786_000.0, pd=0.95, revisit_s=10.0, sigma_los_rad=20e-6,
    )  # fmt: skip
    pos, times = straight_target(6)
    tracker = Tracker([s, sat])
    tracker.process(radar_plot_rows(s, pos, times))
    tracker.flush()
    _, az, el, _ = ecef_to_sensor(pos[-1:], np.zeros((1, 3)), sat.ecef_m, sat.basis)
    rows = empty_plots(1)
    rows["time_s"][:] = times[-1] + 1.0
    rows["sensor_id"][:] = "SBIRS"
    rows["az_deg"], rows["el_deg"] = az, el
    tracker.process(rows)
    tracker.flush()
    assert len(tracker.boost) == 0
    assert np.isfinite(tracker.tracks.sensor_last_hit_s[0]).tolist() == [True, True]


def test_jpda_option_tracks_too() -> None:
    rng = np.random.default_rng(2)
    s = radar(false_alarms=50.0)
    pos0, vel0 = aircraft(rng, 30)
    plots = scan_plots(rng, s, pos0, vel0, 120.0)
    tracker = Tracker([s], TrackerSettings(association="jpda"))
    tracker.process(plots)
    snap = picture(tracker, 115.0)
    est = geodetic_to_ecef(snap["lat_deg"], snap["lon_deg"], snap["alt_m"])
    d = np.linalg.norm(est[:, None, :] - (pos0 + vel0 * 115.0)[None], axis=-1)
    assert (d.min(axis=0) < 1500.0).mean() > 0.9
    assert np.all(np.isfinite(tracker.tracks.P))


def test_pregate_pairs_equal_brute_force() -> None:
    rng = np.random.default_rng(0)
    tracks = rng.uniform(0, 1000, (200, 3))
    radius = rng.uniform(5, 80, 200)
    meas = rng.uniform(0, 1000, (300, 3))
    ti, mj = pregate_pairs(tracks, radius, meas)
    d = np.linalg.norm(tracks[:, None] - meas[None], axis=-1)
    expect = set(zip(*np.nonzero(d <= radius[:, None]), strict=True))
    assert set(zip(ti.tolist(), mj.tolist(), strict=True)) == expect


def test_gnn_is_optimal_against_brute_force() -> None:
    from itertools import permutations

    rng = np.random.default_rng(1)
    for _ in range(30):
        nt, nm = 3, 4
        mask = rng.random((nt, nm)) < 0.6
        cost = rng.uniform(0, 10, (nt, nm))
        ti, mj = np.nonzero(mask)
        at, am = gnn_assign(ti, mj, cost[ti, mj], miss_cost=9.0)
        got = cost[at, am].sum() + 9.0 * (nt - at.size)
        best = math.inf
        for perm in permutations([*range(nm), -1, -2, -3], nt):
            total = 0.0
            for i, j in enumerate(perm):
                total += 9.0 if j < 0 or not mask[i, j] else cost[i, j]
                if j >= 0 and not mask[i, j]:
                    total = math.inf
            best = min(best, total)
        assert got == pytest.approx(best)
        assert len(set(am.tolist())) == am.size


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_gnn_stars_and_giant_clusters_match_one_dense_assignment(seed: int) -> None:
    """Closed-form stars and the sparse solver for huge clusters give the dense optimum."""
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(seed)
    # A chain of overlapping gates (one giant cluster) plus stars and isolated pairs.
    nt, nm = 700, 760
    ti = np.repeat(np.arange(nt), 3)
    mj = np.clip(ti + rng.integers(-2, 3, ti.size), 0, nm - 1)
    star_t = np.repeat(nt + np.arange(40), 3)
    star_m = nm + np.arange(120)
    ti = np.concatenate([ti, star_t, nt + 40 + np.arange(30), nt + 70 + np.arange(30)])
    mj = np.concatenate([mj, star_m, np.repeat(nm + 120, 30), nm + 121 + np.arange(30)])
    key = np.unique(ti * 10_000 + mj)
    ti, mj = key // 10_000, key % 10_000
    # Gated pairs never cost more than a miss (the gate is the miss cost).
    miss = 9.0
    cost = rng.uniform(0.0, miss, ti.size)
    at, am = gnn_assign(ti, mj, cost, miss_cost=miss)
    assert np.unique(at).size == at.size and np.unique(am).size == am.size
    n_t, n_m = int(ti.max()) + 1, int(mj.max()) + 1
    dense = np.full((n_t, n_m + n_t), 1.0e12)
    dense[ti, mj] = cost
    dense[np.arange(n_t), n_m + np.arange(n_t)] = miss
    r, c = linear_sum_assignment(dense)
    lookup = dict(zip(zip(ti.tolist(), mj.tolist(), strict=True), cost.tolist(), strict=True))
    got = sum(lookup[p] for p in zip(at.tolist(), am.tolist(), strict=True))
    got += miss * (np.unique(ti).size - at.size)
    best = dense[r, c].sum() - miss * (n_t - np.unique(ti).size)
    assert got == pytest.approx(best, rel=1e-12)


def test_jpda_weights_are_probabilities() -> None:
    ti = np.array([0, 0, 1, 1, 2])
    mj = np.array([0, 1, 1, 2, 2])
    beta, beta0 = jpda_weights(ti, mj, np.array([1.0, 0.5, 2.0, 0.1, 1.0]), 0.9, 0.05, 3, 3)
    per_track = np.bincount(ti, weights=beta, minlength=3)
    np.testing.assert_allclose(per_track + beta0, 1.0)
    assert np.all(beta >= 0) and np.all(beta0 >= 0)


def two_radar_feed(seed: int) -> tuple[list[MeasurementModel], dict[str, np.ndarray]]:
    """A 10 s 3D radar and a 2 s 2D radar over 40 aircraft for 80 s, in time order."""
    rng = np.random.default_rng(seed)
    sensors: list[MeasurementModel] = [
        radar("R10", period_s=10.0, false_alarms=5.0),
        radar("A2", 36.3, 138.4, kind="radar2d", period_s=2.0, false_alarms=2.0),
    ]
    pos0, vel0 = aircraft(rng, 40, spread_deg=1.5)
    plots = [scan_plots(rng, s, pos0, vel0, 80.0) for s in sensors]  # type: ignore[arg-type]
    rows = {k: np.concatenate([p[k] for p in plots]) for k in plots[0]}
    order = np.argsort(rows["time_s"], kind="stable")
    return sensors, {k: v[order] for k, v in rows.items()}


def batches_per_sensor(tracker: Tracker) -> dict[str, int]:
    """Count the tracker's association batches by sensor from now on."""
    counts: dict[str, int] = {}
    process_batch = tracker._process_batch

    def counting(batch):  # type: ignore[no-untyped-def]
        sensor_id = batch.model.sensor_id
        counts[sensor_id] = counts.get(sensor_id, 0) + 1
        process_batch(batch)

    tracker._process_batch = counting  # type: ignore[method-assign]
    return counts


def test_sensor_windows_batch_a_slow_radar_less_often_however_the_reports_are_fed() -> None:
    sensors, rows = two_radar_feed(5)
    n = rows["time_s"].size
    shared = Tracker(sensors, TrackerSettings(sensor_windows=False))
    own = Tracker(sensors)
    fed = Tracker(sensors)
    shared_counts, own_counts = batches_per_sensor(shared), batches_per_sensor(own)
    shared.process(rows)
    own.process(rows)
    for start in range(0, 80):
        part = (rows["time_s"] >= start) & (rows["time_s"] < start + 1)
        fed.process({k: v[part] for k, v in rows.items()})
    for tracker in (shared, own, fed):
        tracker.flush()
        assert tracker.counts.too_late == 0
        assert tracker.counts.associated + tracker.counts.initiated == n
    # The tracker's window is 0.8 × 2 s; the 10 s radar's own is 2 of them (3.2 s ≤ 4 s).
    assert own._span.tolist() == [2, 1]
    assert own_counts["A2"] == shared_counts["A2"]
    assert own_counts["R10"] <= 0.6 * shared_counts["R10"]
    # The same batches however finely the reports come.
    np.testing.assert_array_equal(fed.tracks.number, own.tracks.number)
    np.testing.assert_array_equal(fed.tracks.x, own.tracks.x)
    assert (own.tracks.status == CONFIRMED).sum() >= 36
