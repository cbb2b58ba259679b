"""The stateful tracker shell: reports in, roles called batch by batch, views out.

All track data lives in one `store.TrackArrays` (struct of arrays, batch axis
first). Reports are validated and put in time order (`reports`); a batch is
one sensor's reports within one time window, and for each batch the shell
calls its roles:

1. identity: reports of sensors that carry one (ADS-B) go to the track holding it;
2. gate: pre-gate and Mahalanobis gate (`gating.Gate`);
3. associate: GNN or JPDA (`association`, chosen once from the settings);
4. update: one IMM cycle for every assigned pair, PDA for JPDA's (`update`);
5. score and confirm (`lifecycle`);
6. leftovers start tentative tracks (`initiation`), or, from update-only
   sensors (space IR), are kept as boost reports;

then the life cycle deletes what has ended (`lifecycle`). `advance_to(t)`
processes everything up to t and runs the life cycle there; `view(t)` and
`snapshot(t)` only read.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from airpicture.tracking.association import associator_for, match_identity
from airpicture.tracking.gating import Batch, Gate, gate_threshold
from airpicture.tracking.imm import imm_predict
from airpicture.tracking.lifecycle import LifeCycle
from airpicture.tracking.measurement import MeasurementModel
from airpicture.tracking.reports import ReportBuffer, ReportCounts
from airpicture.tracking.roles import TrackerRoles
from airpicture.tracking.settings import TrackerSettings
from airpicture.tracking.store import CONFIRMED, TrackArrays, TrackStore
from airpicture.tracking.update import (
    apply_soft_update,
    keep_report_codes,
    new_tracks,
    update_pairs,
)
from airpicture.tracking.view import BoostReports, TrackView, picture_rows, update_times

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


class Tracker:
    """A national (or central) multi-sensor tracker.

    `process(plots)` takes any batch of report rows (the `plots.parquet`
    columns; `target_id` is never read); `advance_to(time_s)` brings the
    tracks to a time; `view(time_s)` and `snapshot(time_s)` read them.
    """

    def __init__(
        self,
        sensors: Sequence[MeasurementModel],
        settings: TrackerSettings | None = None,
        roles: TrackerRoles | None = None,
    ):
        self.settings = settings or TrackerSettings()
        self.roles = roles or TrackerRoles()
        self.sensors = list(sensors)
        self.sensor_ids = np.array([s.sensor_id for s in self.sensors], dtype=object)
        self.counts = ReportCounts()
        self.reports = ReportBuffer(self.sensors, self.counts)
        self.store = TrackStore(len(self.settings.models), len(self.sensors))
        #: Space-IR detections that no track took (the newest `max_boost_detections`).
        self.boost = BoostReports.none()
        self.gate = Gate.from_settings(self.settings, self.roles.pregater)
        self.associator = self.roles.associator or associator_for(
            self.settings, self.roles.assigner, self.roles.soft_assigner
        )
        self.life_cycle = LifeCycle.from_sensors(self.sensors, self.settings)
        self._next_number = 1
        mu0 = np.asarray(self.settings.initial_mode_probabilities, dtype=np.float64)
        self._mu0 = mu0 / mu0.sum()
        revisits = [s.revisit_s for s in self.sensors if math.isfinite(s.revisit_s)]
        auto = 0.8 * min(revisits, default=1.0)
        self._window_s = (
            self.settings.batch_window_s
            if self.settings.batch_window_s is not None
            else float(min(max(auto, 0.1), self.settings.max_batch_window_s))
        )
        #: Each sensor's window in tracker windows (1 unless `sensor_windows`).
        self._span = np.array([self._sensor_span(s.revisit_s) for s in self.sensors], np.int64)

    def _sensor_span(self, revisit_s: float) -> int:
        if not self.settings.sensor_windows or not math.isfinite(revisit_s):
            return 1
        own_s = min(0.8 * revisit_s, self.settings.max_batch_window_s)
        return max(1, math.floor(own_s / self._window_s + 1e-9))

    @property
    def tracks(self) -> TrackArrays:
        """Every live track (a view into the store)."""
        return self.store.tracks

    # ------------------------------------------------------------------ input

    def process(self, plots: Mapping[str, NDArray[Any]]) -> None:
        """Accept report rows; process every one older than newest − order tolerance."""
        self.reports.add(plots)
        until_s = self.reports.newest_s - self.settings.order_tolerance_s
        if not math.isfinite(until_s):
            return
        # Only whole windows: a window is never split between two calls, so the
        # batches are the same however finely the reports are fed.
        window = math.floor(until_s / self._window_s)
        until_s = window * self._window_s
        by_sensor: FloatArray | None = None
        if self.settings.sensor_windows:
            by_sensor = ((window // self._span) * self._span * self._window_s).astype(np.float64)
        rows = self.reports.take_until(until_s, by_sensor)
        if rows is not None:
            self._run(rows)

    @property
    def processed_until_s(self) -> float:
        """Every report up to this time has been processed; an older one now is too late."""
        return self.reports.processed_until_s

    def flush(self, until_s: float = math.inf) -> None:
        """Process every buffered report up to `until_s` (all by default)."""
        rows = self.reports.take_until(until_s)
        if rows is not None:
            self._run(rows)

    def advance_to(self, time_s: float) -> None:
        """Process every buffered report up to `time_s` and bring the life cycle there.

        A track silent for too long goes even when no report arrives to trigger it.
        """
        self.flush(time_s)
        self._life_cycle(time_s, check_altitude=True)

    # ------------------------------------------------------------------ main loop

    def _run(self, rows: dict[str, NDArray[Any]]) -> None:
        t = rows["time_s"]
        # Windows of fixed length on one grid from time 0; a loop per window, not per report.
        window_id = np.floor(t / self._window_s).astype(np.int64)
        # A sensor's window is `span` tracker windows; its batch goes with the
        # tracker window in which it ends (rows stay in time order within one).
        span = self._span[rows["sensor_index"]]
        window_end = (window_id // span + 1) * span
        rows_in_order = np.argsort(window_end, kind="stable")
        bounds = np.flatnonzero(np.diff(window_end[rows_in_order])) + 1
        for chunk in np.split(rows_in_order, bounds):
            sensors = rows["sensor_index"][chunk]
            has_rr = np.isfinite(rows["range_rate_mps"][chunk])
            # Sensors in the order of their first report: a track is updated forward in
            # time, never back (the chunk is sorted by time).
            present, first = np.unique(sensors, return_index=True)
            for k in present[np.argsort(first, kind="stable")]:
                model = self.sensors[int(k)]
                mine = sensors == k
                if model.measures_range_rate:
                    # Reports with and without range rate are separate batches.
                    for with_rr in (True, False):
                        sel = chunk[mine & (has_rr == with_rr)]
                        if sel.size:
                            self._process_batch(self._batch(int(k), rows, sel, with_rr))
                else:
                    # A kind may measure parts of its batch with different models
                    # (a 2D radar's reports with Mode C and without).
                    sel = chunk[mine]
                    for part, variant in model.split_models(_Rows(rows, sel)):
                        if part.any():
                            self._process_batch(
                                self._batch(int(k), rows, sel[part], False, variant)
                            )
            self._life_cycle(float(t[chunk[-1]]))

    def _batch(
        self,
        k: int,
        rows: dict[str, NDArray[Any]],
        sel: IntArray,
        with_rr: bool,
        model: MeasurementModel | None = None,
    ) -> Batch:
        model = self.sensors[k] if model is None else model
        # Only the columns the batch reads: a beam pass is a few rows of a dozen columns.
        needed = ("time_s", "ident", "range_rate_mps", *model.required_columns)
        sub = {key: rows[key][sel] for key in needed}
        z = model.z_from_reports(sub, with_rr)
        ident = sub["ident"] if model.associates_by_identity else np.full(sel.size, "", "U1")
        alt = rows.get("pressure_alt_m")
        code = rows.get("mode3a")
        return Batch(
            model=model,
            sensor_index=k,
            with_range_rate=with_rr,
            z=z,
            time_s=sub["time_s"],
            R=model.noise(z, with_rr),
            ident=ident,
            gamma=gate_threshold(model.dim(with_rr), self.settings.gate.probability),
            pressure_alt_m=None if alt is None else np.asarray(alt[sel], dtype=np.float64),
            mode3a=None if code is None else np.asarray(code[sel]).astype("U4"),
        )

    def _process_batch(self, batch: Batch) -> None:
        tracks, model = self.tracks, batch.model
        taken = np.zeros(batch.size, bool)
        track_taken = np.zeros(len(tracks), bool)
        id_t = id_m = np.empty(0, np.intp)
        if model.associates_by_identity and len(tracks):
            id_t, id_m = match_identity(tracks.ident, batch.ident)
            taken[id_m] = True
            track_taken[id_t] = True
        pairs = self.gate.pairs(tracks, batch, taken, track_taken)
        decided = self.associator.associate(tracks, batch, pairs, taken)
        if decided.soft is not None:
            apply_soft_update(tracks, decided.soft)
            soft = decided.soft
            self.life_cycle.score_hits(tracks, batch, soft.track, soft.log_likelihood, soft.time_s)
            self.counts.associated += soft.n_reports
        ti = np.concatenate([id_t, decided.track])
        mj = np.concatenate([id_m, decided.report])
        if ti.size:
            s = self.settings
            log_lik = update_pairs(tracks, batch, ti, mj, self.roles.updater, s.models, s.switching)
            self.life_cycle.score_hits(tracks, batch, ti, log_lik, batch.time_s[mj])
            if model.associates_by_identity:
                tracks.ident[ti] = batch.ident[mj]
            keep_report_codes(tracks, batch, ti, mj)
        self.counts.associated += int(ti.size)
        if model.update_only:
            left = np.flatnonzero(~decided.taken)
            if left.size:
                new = model.boost_reports(batch.z[left], batch.time_s[left])
                self.boost = self.boost.appended(new, self.settings.max_boost_detections)
            self.counts.boost_unassociated += int(left.size)
        elif model.can_initiate:
            new_index = np.flatnonzero(decided.may_initiate)
            if new_index.size:
                s = self.settings
                born = new_tracks(batch, new_index, self.roles.initiator, s.initiation,
                                  self._next_number, self._mu0, len(self.sensors))  # fmt: skip
                self.store.append(born)
                self._next_number += int(new_index.size)
                self.counts.initiated += int(new_index.size)

    def _life_cycle(self, now_s: float, check_altitude: bool = False) -> None:
        if len(self.tracks) == 0:
            return
        dead, merged = self.life_cycle.deleted(self.tracks, now_s, self.gate, check_altitude)
        self.counts.merged += merged
        if dead.any():
            self.store.keep(~dead)

    # ------------------------------------------------------------------ output

    def view(self, time_s: float, confirmed_only: bool = True) -> TrackView:
        """Tracks predicted to `time_s`; changes nothing (call `advance_to(time_s)` first)."""
        tr = self.tracks
        idx = np.flatnonzero(self.life_cycle.shown(tr, time_s, confirmed_only))
        dt = time_s - tr.time_s[idx]
        x, P, mu = imm_predict(
            tr.xm[idx], tr.Pm[idx], tr.mu[idx], dt, self.settings.models, self.settings.switching
        )
        prefix = self.settings.track_prefix
        ids = np.array([f"{prefix}{n:05d}" for n in tr.number[idx].tolist()], dtype=object)
        sources = np.empty(idx.size, dtype=object)
        seen = np.isfinite(tr.sensor_last_hit_s[idx])
        # One list per distinct set of sensors, shared by the tracks that have that set
        # (few sets, many tracks; nothing downstream changes a picture's lists).
        key = seen if seen.shape[1] > 62 else seen @ (1 << np.arange(seen.shape[1], dtype=np.int64))
        _, first, which = np.unique(key, axis=0, return_index=True, return_inverse=True)
        lists = np.empty(first.size, dtype=object)
        for k, row in enumerate(seen[first]):
            lists[k] = list(self.sensor_ids[row])
        sources[:] = lists[which.reshape(-1)]
        return TrackView(
            time_s=time_s,
            track_id=ids,
            number=tr.number[idx],
            confirmed=tr.status[idx] == CONFIRMED,
            x=x,
            P=P,
            mode_probabilities=mu,
            mode_names=tuple(m.name for m in self.settings.models),
            ident=tr.ident[idx],
            sources=sources,
            updated_s=update_times(
                tr.sensor_last_hit_s[idx], [s.sensor_type for s in self.sensors]
            ),
            mode3a=tr.mode3a[idx].astype(object),
            pressure_alt_m=tr.pressure_alt_m[idx],
        )

    def snapshot(self, time_s: float, viewer: str = "ALL") -> dict[str, NDArray[Any]]:
        """Confirmed tracks at `time_s` as `picture.parquet` rows (plus mode probabilities).

        Reads only, like `view`: call `advance_to(time_s)` first.
        """
        view = self.view(time_s)
        unknown = np.full(view.x.shape[0], "unknown", dtype=object)
        return picture_rows(view, viewer, None, unknown)


class _Rows(Mapping[str, NDArray[Any]]):
    """A batch's rows of the report columns, each column taken only when read."""

    def __init__(self, rows: Mapping[str, NDArray[Any]], sel: IntArray) -> None:
        self._rows, self._sel = rows, sel

    def __getitem__(self, column: str) -> NDArray[Any]:
        return self._rows[column][self._sel]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)
