"""Picture quality of a tracker's output against truth: completeness, spuriousness, RMS, GOSPA.

A small, self-contained scorer for the tracker benchmark (the metrics part has
the full evaluation): at every snapshot, confirmed tracks are assigned to
eligible truths (truths some sensor could detect) by 3D distance with a cutoff.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from airpicture.geo import geodetic_to_ecef

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Quality:
    completeness: float
    spuriousness: float
    rms_horizontal_m: float
    rms_3d_m: float
    gospa_mean_m: float
    snapshots: int


def gospa(tracks: FloatArray, truths: FloatArray, c_m: float, p: float = 2.0) -> float:
    """GOSPA (α = 2) between two point sets: localisation + c^p/2 per miss or false track."""
    n, m = tracks.shape[0], truths.shape[0]
    if n == 0 or m == 0:
        return float((c_m**p / 2.0 * (n + m)) ** (1.0 / p))
    d = np.linalg.norm(tracks[:, None, :] - truths[None, :, :], axis=-1)
    cost = np.minimum(d, c_m) ** p
    r, k = linear_sum_assignment(cost)
    matched = d[r, k] < c_m
    loc = float(np.sum(cost[r, k][matched]))
    unmatched = (n - int(matched.sum())) + (m - int(matched.sum()))
    return float((loc + c_m**p / 2.0 * unmatched) ** (1.0 / p))


def picture_quality(
    picture: Mapping[str, NDArray[Any]],
    truth: Mapping[str, NDArray[Any]],
    cutoff_m: float = 5000.0,
    settle_s: float = 60.0,
    gospa_c_m: float = 5000.0,
) -> Quality:
    """Score snapshots at the truth's sample times (`settle_s` after the start skipped)."""
    p_time = np.asarray(picture["time_s"], dtype=np.float64)
    t_time = np.asarray(truth["time_s"], dtype=np.float64)
    eligible = np.array([len(v) > 0 for v in truth["detectable_by"]], dtype=bool)
    p_xyz = geodetic_to_ecef(picture["lat_deg"], picture["lon_deg"], picture["alt_m"])
    t_xyz = geodetic_to_ecef(truth["lat_deg"], truth["lon_deg"], truth["alt_m"])
    found = total = spurious = n_tracks = 0
    sq_h: list[FloatArray] = []
    sq_3d: list[FloatArray] = []
    gospas: list[float] = []
    times = np.intersect1d(np.unique(p_time), np.unique(t_time))
    times = times[times >= settle_s]
    for t in times:
        tk = p_xyz[p_time == t]
        tr_mask = (t_time == t) & eligible
        tr = t_xyz[tr_mask]
        gospas.append(gospa(tk, tr, gospa_c_m))
        n_tracks += tk.shape[0]
        total += tr.shape[0]
        if tk.shape[0] == 0 or tr.shape[0] == 0:
            spurious += tk.shape[0]
            continue
        d = np.linalg.norm(tk[:, None, :] - tr[None, :, :], axis=-1)
        r, k = linear_sum_assignment(np.minimum(d, cutoff_m * 10))
        ok = d[r, k] < cutoff_m
        found += int(ok.sum())
        spurious += tk.shape[0] - int(ok.sum())
        err = tk[r[ok]] - tr[k[ok]]
        up = tr[k[ok]] / np.linalg.norm(tr[k[ok]], axis=-1, keepdims=True)
        vertical = np.einsum("ij,ij->i", err, up)
        sq_3d.append(np.einsum("ij,ij->i", err, err))
        sq_h.append(np.einsum("ij,ij->i", err, err) - vertical**2)
    h = np.concatenate(sq_h) if sq_h else np.empty(0)
    d3 = np.concatenate(sq_3d) if sq_3d else np.empty(0)
    return Quality(
        completeness=found / total if total else float("nan"),
        spuriousness=spurious / n_tracks if n_tracks else float("nan"),
        rms_horizontal_m=float(np.sqrt(h.mean())) if h.size else float("nan"),
        rms_3d_m=float(np.sqrt(d3.mean())) if d3.size else float("nan"),
        gospa_mean_m=float(np.mean(gospas)) if gospas else float("nan"),
        snapshots=int(times.size),
    )
