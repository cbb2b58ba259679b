"""Reports on their way in: validation, accounting of every refused row, time ordering.

`ReportBuffer.add` keeps the usable rows of any batch of plot rows (the
`plots.parquet` columns; `target_id` is never read) and counts the others;
`ReportBuffer.take_until` hands over, in time order, every buffered row up to a
time. A row older than what has already been handed over is too late.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from airpicture.tables import mode3a_column
from airpicture.tracking.measurement import MeasurementModel

#: The numeric plot columns the tracker reads (a sensor uses those of its model).
REPORT_COLUMNS = (
    "time_s", "range_m", "az_deg", "el_deg", "range_rate_mps", "lat_deg", "lon_deg", "alt_m",
    "pressure_alt_m",
)  # fmt: skip


@dataclass
class ReportCounts:
    """What happened to every report handed to the tracker. Nothing is dropped silently."""

    received: int = 0
    unknown_sensor: int = 0
    bad_time: int = 0
    missing_values: int = 0
    too_late: int = 0
    associated: int = 0
    initiated: int = 0
    boost_unassociated: int = 0
    #: Duplicate tracks removed (reports are not lost: the survivor has them).
    merged: int = 0
    pending: int = 0

    @property
    def unusable(self) -> int:
        return self.unknown_sensor + self.bad_time + self.missing_values + self.too_late

    def as_dict(self) -> dict[str, int]:
        out = {f.name: int(getattr(self, f.name)) for f in fields(self)}
        out["unusable"] = self.unusable
        return out


class ReportBuffer:
    """Usable report rows (plus `sensor_index`, `ident`) waiting to be processed in time order."""

    def __init__(self, sensors: Sequence[MeasurementModel], counts: ReportCounts) -> None:
        self.sensors = list(sensors)
        self.counts = counts
        self._sensor_index = {s.sensor_id: i for i, s in enumerate(self.sensors)}
        # Waiting rows as the chunks they came in, each with its earliest and latest
        # time: a live feed adds small batches many times a second, and growing one
        # array per column would copy every waiting row on every call.
        self._chunks: list[dict[str, NDArray[Any]]] = []
        self._earliest_s: list[float] = []
        self._latest_s: list[float] = []
        #: Each chunk's one sensor, or −1 when it holds several.
        self._sensor: list[int] = []
        #: Every report up to this time has been handed over; an older one now is too late.
        self.processed_until_s = -math.inf
        self.newest_s = -math.inf

    def add(self, plots: Mapping[str, NDArray[Any]]) -> None:
        rows = self._validate(plots)
        if rows is None or rows["time_s"].size == 0:
            return
        self._chunks.append(rows)
        self._earliest_s.append(float(rows["time_s"].min()))
        self._latest_s.append(float(rows["time_s"].max()))
        sensors = rows["sensor_index"]
        self._sensor.append(int(sensors[0]) if sensors.min() == sensors.max() else -1)
        self.counts.pending += int(rows["time_s"].size)

    def take_until(
        self, until_s: float, until_by_sensor: NDArray[np.float64] | None = None
    ) -> dict[str, NDArray[Any]] | None:
        """Every buffered row up to `until_s`, sorted by time (stable); None if there is none.

        Rows of equal time keep the order they were added in. `until_by_sensor`:
        each sensor's rows up to its own time instead (none later than `until_s`).
        """
        if until_by_sensor is not None:
            return self._take_by_sensor(until_by_sensor)
        if not self._chunks:
            self.processed_until_s = max(self.processed_until_s, min(until_s, self.newest_s))
            return None
        touched = np.flatnonzero(np.asarray(self._earliest_s) <= until_s)
        if touched.size == 0:
            return None
        ready_parts: list[dict[str, NDArray[Any]]] = []
        emptied: set[int] = set()
        for c in touched.tolist():
            rows = self._chunks[c]
            if self._latest_s[c] <= until_s:
                ready_parts.append(rows)
                emptied.add(c)
                continue
            ready = rows["time_s"] <= until_s
            ready_parts.append({k: v[ready] for k, v in rows.items()})
            rest = {k: v[~ready] for k, v in rows.items()}
            self._chunks[c] = rest
            self._earliest_s[c] = float(rest["time_s"].min())
        if emptied:
            kept = [c for c in range(len(self._chunks)) if c not in emptied]
            self._chunks = [self._chunks[c] for c in kept]
            self._earliest_s = [self._earliest_s[c] for c in kept]
            self._latest_s = [self._latest_s[c] for c in kept]
            self._sensor = [self._sensor[c] for c in kept]
        return self._hand_over(ready_parts, until_s)

    def _take_by_sensor(
        self, until_by_sensor: NDArray[np.float64]
    ) -> dict[str, NDArray[Any]] | None:
        """`take_until` with each sensor's own time; processed until the earliest of them."""
        low = float(until_by_sensor.min())
        if not self._chunks:
            self.processed_until_s = max(self.processed_until_s, min(low, self.newest_s))
            return None
        ready_parts: list[dict[str, NDArray[Any]]] = []
        kept: list[int] = []
        for c, rows in enumerate(self._chunks):
            sensor = self._sensor[c]
            if sensor >= 0:
                # One sensor's chunk (a live feed's usual batch): its times decide.
                until_s = float(until_by_sensor[sensor])
                if self._latest_s[c] <= until_s:
                    ready_parts.append(rows)
                    continue
                if self._earliest_s[c] > until_s:
                    kept.append(c)
                    continue
            ready = rows["time_s"] <= until_by_sensor[rows["sensor_index"]]
            if ready.all():
                ready_parts.append(rows)
                continue
            kept.append(c)
            if ready.any():
                ready_parts.append({k: v[ready] for k, v in rows.items()})
                rest = {k: v[~ready] for k, v in rows.items()}
                self._chunks[c] = rest
                self._earliest_s[c] = float(rest["time_s"].min())
        self._chunks = [self._chunks[c] for c in kept]
        self._earliest_s = [self._earliest_s[c] for c in kept]
        self._latest_s = [self._latest_s[c] for c in kept]
        self._sensor = [self._sensor[c] for c in kept]
        if not ready_parts:
            return None
        return self._hand_over(ready_parts, low)

    def _hand_over(
        self, ready_parts: list[dict[str, NDArray[Any]]], until_s: float
    ) -> dict[str, NDArray[Any]]:
        """The ready rows joined and sorted by time (stable); counted as processed."""
        joined = (
            ready_parts[0]
            if len(ready_parts) == 1
            else {k: np.concatenate([p[k] for p in ready_parts]) for k in ready_parts[0]}
        )
        order = np.argsort(joined["time_s"], kind="stable")
        batch = {k: v[order] for k, v in joined.items()}
        self.counts.pending -= int(order.size)
        self.processed_until_s = max(
            self.processed_until_s, min(until_s, float(batch["time_s"][-1]))
        )
        return batch

    def _validate(self, plots: Mapping[str, NDArray[Any]]) -> dict[str, NDArray[Any]] | None:
        n = len(plots["time_s"]) if "time_s" in plots else 0
        self.counts.received += n
        if n == 0:
            return None
        sensor_ids = np.asarray(plots["sensor_id"], dtype=object)
        known_ids, inverse = np.unique(sensor_ids, return_inverse=True)
        index = np.array([self._sensor_index.get(str(s), -1) for s in known_ids])
        sensor_index = index[inverse]
        time_s = np.asarray(plots["time_s"], dtype=np.float64)
        known = sensor_index >= 0
        good_time = np.isfinite(time_s)
        usable = known & good_time
        # Only the sensors present: a live batch is usually one sensor's.
        for k in index[index >= 0].tolist():
            sensor = self.sensors[k]
            mine = sensor_index == k
            for col in sensor.required_columns:
                values = np.asarray(plots[col], dtype=np.float64) if col in plots else None
                ok = np.zeros(n, bool) if values is None else np.isfinite(values)
                bad = mine & usable & ~ok
                self.counts.missing_values += int(bad.sum())
                usable &= ~bad
        self.counts.unknown_sensor += int((~known).sum())
        self.counts.bad_time += int((known & ~good_time).sum())
        if not usable.any():
            return None
        rows: dict[str, NDArray[Any]] = {"sensor_index": sensor_index[usable]}
        for col in REPORT_COLUMNS:
            values = plots.get(col)
            rows[col] = (
                np.full(n, np.nan)[usable]
                if values is None
                else np.asarray(values, dtype=np.float64)[usable]
            )
        ident = plots.get("ident")
        rows["ident"] = (
            np.full(int(usable.sum()), "", dtype="U16")
            if ident is None
            else np.asarray(ident, dtype=object)[usable].astype("U16")
        )
        rows["mode3a"] = mode3a_column(plots.get("mode3a"), n)[usable]
        late = rows["time_s"] < self.processed_until_s
        if late.any():
            self.counts.too_late += int(late.sum())
            rows = {k: v[~late] for k, v in rows.items()}
        if rows["time_s"].size:
            self.newest_s = max(self.newest_s, float(rows["time_s"].max()))
        return rows
