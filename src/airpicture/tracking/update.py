"""Writing what a batch decided into the track store: IMM updates, PDA updates, new tracks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from airpicture.tracking.association import SoftUpdate
from airpicture.tracking.gating import Batch
from airpicture.tracking.imm import ModeSwitching
from airpicture.tracking.initiation import InitiationPrior
from airpicture.tracking.motion import MotionModel
from airpicture.tracking.roles import Initiator, Updater
from airpicture.tracking.store import TENTATIVE, TrackArrays

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


def update_pairs(
    tracks: TrackArrays,
    batch: Batch,
    ti: IntArray,
    mj: IntArray,
    updater: Updater,
    models: Sequence[MotionModel],
    switching: ModeSwitching,
) -> FloatArray:
    """One IMM cycle for every (track, report) pair at once; returns each report's ln Λ."""
    model, with_rr = batch.model, batch.with_range_rate
    t = batch.time_s[mj]
    dt = t - tracks.time_s[ti]

    def measure_fn(x: FloatArray) -> tuple[FloatArray, FloatArray]:
        return model.measure_jacobian(x, with_rr)

    step = updater(
        tracks.xm[ti], tracks.Pm[ti], tracks.mu[ti], dt, batch.z[mj], batch.R[mj],
        models, switching, measure_fn, model.residual,
    )  # fmt: skip
    tracks.xm[ti], tracks.Pm[ti], tracks.mu[ti] = step.xm, step.Pm, step.mu
    tracks.x[ti], tracks.P[ti] = step.x, step.P
    # The updated estimate is at the report's time, even when the report was older
    # than the track (predicted back to it): keeping the later time would shift
    # every later prediction by speed × the difference (800 m for a missile, 0.2 s).
    tracks.time_s[ti] = t
    return step.log_likelihood


def apply_soft_update(tracks: TrackArrays, soft: SoftUpdate) -> None:
    """Write a PDA update: the combined estimate, every mode re-seeded from it."""
    ti = soft.track
    n_modes = tracks.mu.shape[1]
    tracks.x[ti], tracks.P[ti] = soft.x, soft.P
    tracks.xm[ti] = np.repeat(soft.x[:, None, :], n_modes, axis=1)
    tracks.Pm[ti] = np.repeat(soft.P[:, None, :, :], n_modes, axis=1)
    tracks.mu[ti] = soft.mu
    tracks.time_s[ti] = np.maximum(tracks.time_s[ti], soft.time_s)


def new_tracks(
    batch: Batch,
    reports: IntArray,
    initiator: Initiator,
    prior: InitiationPrior,
    first_number: int,
    mu0: FloatArray,
    n_sensors: int,
) -> TrackArrays:
    """Tentative tracks, one per report, numbered from `first_number`."""
    z, t = batch.z[reports], batch.time_s[reports]
    x0, P0 = initiator(batch.model, z, batch.with_range_rate, prior)
    m = x0.shape[0]
    n_modes = mu0.size
    sensor_last_hit = np.full((m, n_sensors), np.nan)
    sensor_last_hit[:, batch.sensor_index] = t
    return TrackArrays(
        number=np.arange(first_number, first_number + m, dtype=np.int64),
        status=np.full(m, TENTATIVE, np.int8),
        time_s=t.copy(),
        xm=np.repeat(x0[:, None, :], n_modes, axis=1),
        Pm=np.repeat(P0[:, None, :, :], n_modes, axis=1),
        mu=np.tile(mu0, (m, 1)),
        x=x0,
        P=P0,
        score=np.zeros(m),
        hits=np.ones(m, np.int64),
        first_time_s=t.copy(),
        last_hit_s=t.copy(),
        ident=np.asarray(batch.ident[reports]).astype("U16"),
        sensor_last_hit_s=sensor_last_hit,
        pressure_alt_m=np.full(m, np.nan)
        if batch.pressure_alt_m is None
        else batch.pressure_alt_m[reports].astype(np.float64),
        mode3a=np.full(m, "", dtype="U4")
        if batch.mode3a is None
        else np.asarray(batch.mode3a[reports]).astype("U4"),
    )


def keep_report_codes(tracks: TrackArrays, batch: Batch, ti: IntArray, mj: IntArray) -> None:
    """The Mode C and Mode 3/A of reports `mj` onto the tracks `ti` that took them, where
    the report has one (a track keeps the last it was given)."""
    if batch.pressure_alt_m is not None:
        alt = batch.pressure_alt_m[mj]
        has = np.isfinite(alt)
        tracks.pressure_alt_m[ti[has]] = alt[has]
    if batch.mode3a is not None:
        code = np.asarray(batch.mode3a[mj]).astype("U4")
        has = code != ""
        tracks.mode3a[ti[has]] = code[has]
