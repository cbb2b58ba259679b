"""The gate's coverage cut is exact: it drops only tracks that could not have gated."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from airpicture.geo import enu_basis, enu_vector_to_ecef, geodetic_to_ecef
from airpicture.tracking.gating import Batch, Gate, GatedPairs, gate_threshold
from airpicture.tracking.measurement import ADSB, MeasurementModel, Radar2D, Radar3D
from airpicture.tracking.settings import TrackerSettings
from airpicture.tracking.store import CONFIRMED, TrackArrays
from airpicture.tracking.tracker import Tracker
from tests.tracking.plotgen import aircraft, radar, scan_plots

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


class UncutGate(Gate):
    """The gate without its coverage cut: every free track is pre-gated."""

    def within_reach(
        self, tracks: TrackArrays, track_taken: NDArray[np.bool_], *args: Any
    ) -> IntArray:
        return np.flatnonzero(~track_taken)


def uncut(gate: Gate) -> UncutGate:
    return UncutGate(gate.settings, gate.q_m2_s3, gate.ballistic, gate.pregater)


def sorted_pairs(pairs: GatedPairs) -> tuple[IntArray, IntArray, FloatArray, FloatArray]:
    order = np.lexsort((pairs.report, pairs.track))
    return (
        pairs.track[order],
        pairs.report[order],
        pairs.d2[order],
        pairs.log_likelihood[order],
    )


def assert_same_pairs(a: GatedPairs, b: GatedPairs) -> None:
    for x, y in zip(sorted_pairs(a), sorted_pairs(b), strict=True):
        np.testing.assert_array_equal(x, y)


class CheckingGate:
    """Stands in for a tracker's gate: every batch gated with and without the cut, compared."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.reference = uncut(gate)
        self.batches = 0
        self.dropped = 0
        self.pairs_seen = 0

    def pairs(
        self,
        tracks: TrackArrays,
        batch: Batch,
        taken: NDArray[np.bool_],
        track_taken: NDArray[np.bool_],
    ) -> GatedPairs:
        cut = self.gate.pairs(tracks, batch, taken, track_taken)
        assert_same_pairs(cut, self.reference.pairs(tracks, batch, taken, track_taken))
        free_t = np.flatnonzero(~track_taken)
        free_m = np.flatnonzero(~taken)
        if free_t.size and free_m.size:
            t = batch.time_s[free_m]
            kept = self.gate.within_reach(
                tracks,
                track_taken,
                batch.model,
                batch.model.pregate_points_z(batch.z[free_m]),
                float(0.5 * (t.min() + t.max())),
                float(0.5 * (t.max() - t.min())),
            )
            self.dropped += free_t.size - kept.size
        self.batches += 1
        self.pairs_seen += cut.track.size
        return cut

    def __getattr__(self, name: str) -> Any:
        return getattr(self.gate, name)


def test_a_seeded_run_over_three_distant_radars_gates_the_same_pairs_with_the_cut() -> None:
    rng = np.random.default_rng(12)
    sensors = [
        radar("R1", 34.0, 134.0, period_s=10.0, false_alarms=20.0),
        radar("R2", 38.0, 141.0, period_s=10.0, false_alarms=20.0),
        radar("A1", 36.0, 137.0, kind="radar2d", period_s=4.0, false_alarms=10.0),
    ]
    pos0, vel0 = aircraft(rng, 150, lat0=36.0, lon0=137.5, spread_deg=4.5)
    plots = [scan_plots(rng, s, pos0, vel0, 90.0) for s in sensors]
    rows = {k: np.concatenate([p[k] for p in plots]) for k in plots[0]}
    order = np.argsort(rows["time_s"], kind="stable")
    tracker = Tracker(sensors)
    checking = CheckingGate(tracker.gate)
    tracker.gate = checking  # type: ignore[assignment]
    tracker.process({k: v[order] for k, v in rows.items()})
    tracker.flush()
    assert checking.batches > 50
    assert checking.pairs_seen > 1000
    # The cut did drop tracks: each radar sees only part of the traffic.
    assert checking.dropped > 10 * checking.batches
    assert (tracker.tracks.status == CONFIRMED).sum() >= 80


def random_tracks(rng: np.random.Generator, n: int, n_modes: int) -> TrackArrays:
    """Tracks over ±7° around (36° N, 137° E): aircraft and fast high ballistic ones,
    covariances from metres to hundreds of kilometres, mode weights at random."""
    lat = 36.0 + rng.uniform(-7.0, 7.0, n)
    lon = 137.0 + rng.uniform(-7.0, 7.0, n)
    fast = rng.random(n) < 0.2
    alt = np.where(fast, rng.uniform(20e3, 400e3, n), rng.uniform(500.0, 13e3, n))
    speed = np.where(fast, rng.uniform(1000.0, 7000.0, n), rng.uniform(100.0, 300.0, n))
    heading = rng.uniform(0.0, 2.0 * np.pi, n)
    climb = np.where(fast, rng.uniform(-0.5, 0.5, n), 0.0) * speed
    enu_v = np.stack([speed * np.sin(heading), speed * np.cos(heading), climb], axis=-1)
    x = np.concatenate(
        [geodetic_to_ecef(lat, lon, alt), enu_vector_to_ecef(enu_v, enu_basis(lat, lon))], axis=1
    )
    A = rng.normal(size=(n, 6, 6))
    scale = 10.0 ** rng.uniform(1.0, 5.5, n)
    P = np.einsum("nij,nkj->nik", A, A) * (scale**2)[:, None, None] / 6.0
    P[:, 3:, 3:] /= 100.0
    P[:, :3, 3:] /= 10.0
    P[:, 3:, :3] /= 10.0
    P += np.eye(6) * 1.0
    mu = rng.dirichlet(np.full(n_modes, 0.5), n)
    mu[fast, -1] += 3.0
    mu /= mu.sum(axis=1, keepdims=True)
    return TrackArrays(
        number=np.arange(n, dtype=np.int64),
        status=np.full(n, CONFIRMED, np.int8),
        time_s=100.0 - rng.uniform(0.0, 20.0, n),
        xm=np.repeat(x[:, None, :], n_modes, axis=1),
        Pm=np.repeat(P[:, None], n_modes, axis=1),
        mu=mu,
        x=x,
        P=P,
        score=np.zeros(n),
        hits=np.full(n, 5, np.int64),
        first_time_s=np.zeros(n),
        last_hit_s=np.full(n, 90.0),
        ident=np.full(n, "", dtype="U16"),
        sensor_last_hit_s=np.full((n, 1), np.nan),
        pressure_alt_m=np.full(n, np.nan),
        mode3a=np.full(n, "", dtype="U4"),
    )


def reports_near(
    rng: np.random.Generator, tracks: TrackArrays, model: MeasurementModel, m: int
) -> tuple[FloatArray, FloatArray]:
    """Measurements `(m, d)` and times of the tracks nearest the sensor, noisy, and clutter."""
    t = 100.0 + rng.uniform(0.0, 0.8, m)
    near = np.argsort(np.linalg.norm(tracks.x[:, :3] - model.ecef_m, axis=1))[:m]
    pos = tracks.x[near, :3] + tracks.x[near, 3:] * (t - tracks.time_s[near])[:, None]
    pos += rng.normal(0.0, 300.0, pos.shape)
    z = model.measure(np.concatenate([pos, tracks.x[near, 3:]], axis=1), False)
    clutter = rng.random(m) < 0.3
    z[clutter] = model.measure(
        np.concatenate([pos[clutter] + rng.normal(0.0, 50e3, (clutter.sum(), 3)),
                        tracks.x[near[clutter], 3:]], axis=1), False)  # fmt: skip
    return z, t


def test_random_tracks_and_reports_of_each_kind_gate_the_same_pairs_with_the_cut() -> None:
    rng = np.random.default_rng(2026)
    settings = TrackerSettings()
    gate = Gate.from_settings(settings, Tracker([radar()]).roles.pregater)
    site = {"nation": "JPN", "alt_m": 100.0, "pd": 0.9, "revisit_s": 10.0}
    models: list[MeasurementModel] = [
        Radar3D(sensor_id="R", lat_deg=35.0, lon_deg=136.0, **site,
                sigma_range_m=70.0, sigma_az_rad=0.002, sigma_el_rad=0.0026),
        Radar2D(sensor_id="A", lat_deg=37.0, lon_deg=138.0, **site,
                sigma_range_m=50.0, sigma_az_rad=0.0012),
        ADSB(sensor_id="B", lat_deg=36.0, lon_deg=137.0, **site, sigma_pos_m=25.0),
    ]  # fmt: skip
    dropped = 0
    for trial in range(9):
        tracks = random_tracks(rng, 1500, len(settings.models))
        model = models[trial % len(models)]
        z, t = reports_near(rng, tracks, model, 150)
        m = z.shape[0]
        batch = Batch(
            model=model,
            sensor_index=0,
            with_range_rate=False,
            z=z,
            time_s=t,
            R=model.noise(z, False),
            ident=np.full(m, "", "U1"),
            gamma=gate_threshold(model.dim(False), settings.gate.probability),
        )
        taken = rng.random(m) < 0.1
        track_taken = rng.random(len(tracks)) < 0.1
        cut = gate.pairs(tracks, batch, taken, track_taken)
        assert cut.track.size > 20
        assert_same_pairs(cut, uncut(gate).pairs(tracks, batch, taken, track_taken))
        free_t = np.flatnonzero(~track_taken)
        pts = model.pregate_points_z(z[~taken])
        kept = gate.within_reach(tracks, track_taken, model, pts, 100.4, 0.4)
        dropped += free_t.size - kept.size
    assert dropped > 2000
