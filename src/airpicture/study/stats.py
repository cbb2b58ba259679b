"""Means, confidence intervals and paired differences over seeds.

A planning study runs every variant on the same seeds, so the runs pair up:
seed s of the baseline and seed s of a variant share truth, reports and noise,
and differ only by the variant's change. The question "does the change matter"
is then about the mean of the per-seed differences d_s = variant_s − baseline_s.

Method: the paired t interval (Student, 1908), not a bootstrap.

    d̄ = Σ d_s / n,   s_d² = Σ (d_s − d̄)² / (n − 1),   SE = s_d / √n
    CI = d̄ ± t_{0.975, n−1} · SE,    t = d̄ / SE,    p = 2 · (1 − F_t(|t|; n − 1))

Why: a study has few seeds (8 to a few tens), and each per-run figure is
itself an average over hundreds of snapshots, so it is close to normal. With
n = 8 the percentile bootstrap's interval is too narrow: over 2,000 seeded
normal samples of 8 its 95 % interval held the true mean 87.9 % of the time,
the t interval 94.9 % (docs/planning.md).
The same formulas give the baseline's own mean and interval (one sample).

A pair where either run has no value (a measure undefined in that run: no
missile warned, no track) is left out; `n` says how many pairs remained. With
fewer than two pairs there is no interval (None). Differences that are all
identical have SE = 0: the interval is that value itself and the difference is
significant iff it is not zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from scipy import stats as scipy_stats

#: Confidence level of every interval.
CONFIDENCE: Final = 0.95


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95 % interval over `n` values (or pairs)."""

    n: int
    mean: float | None
    low: float | None
    high: float | None
    #: Half the interval's width (the "± x" a planner reads), None below 2 values.
    half_width: float | None
    #: Two-sided p-value of "the mean is 0" (paired differences only).
    p_value: float | None = None

    @property
    def significant(self) -> bool | None:
        """For a difference: whether 0 lies outside the interval (None without a test)."""
        if self.low is None or self.high is None or self.p_value is None:
            return None
        return self.low > 0.0 or self.high < 0.0

    def to_json(self) -> dict[str, float | int | bool | None]:
        return {
            "n": self.n,
            "mean": self.mean,
            "ci_low": self.low,
            "ci_high": self.high,
            "half_width": self.half_width,
            "p_value": self.p_value,
            "significant": self.significant,
        }


def _finite(values: Sequence[float | None]) -> np.ndarray:
    return np.asarray(
        [float(v) for v in values if v is not None and math.isfinite(float(v))], dtype=np.float64
    )


def mean_interval(values: Sequence[float | None]) -> Estimate:
    """Mean and 95 % t interval of the values that exist (None/NaN left out)."""
    x = _finite(values)
    return _t_estimate(x, with_p=False)


def paired_difference(
    baseline: Sequence[float | None], variant: Sequence[float | None]
) -> Estimate:
    """Mean of variant − baseline over seeds where both exist, its 95 % interval and p-value."""
    if len(baseline) != len(variant):
        raise ValueError(f"paired samples differ in length: {len(baseline)} and {len(variant)}")
    pairs = [
        (float(b), float(v))
        for b, v in zip(baseline, variant, strict=True)
        if b is not None and v is not None and math.isfinite(float(b)) and math.isfinite(float(v))
    ]
    d = np.asarray([v - b for b, v in pairs], dtype=np.float64)
    return _t_estimate(d, with_p=True)


def _t_estimate(x: np.ndarray, *, with_p: bool) -> Estimate:
    n = int(x.size)
    if n == 0:
        return Estimate(0, None, None, None, None, None)
    mean = float(np.mean(x))
    if n < 2:
        return Estimate(n, mean, None, None, None, None)
    # s = √(Σ (x − x̄)² / (n − 1)),  SE = s / √n
    se = float(np.std(x, ddof=1)) / math.sqrt(n)
    t_crit = float(scipy_stats.t.ppf(0.5 + CONFIDENCE / 2.0, n - 1))
    half = t_crit * se
    p: float | None = None
    if with_p:
        if se > 0.0:
            # p = 2 (1 − F_t(|x̄ / SE|; n − 1))
            p = float(2.0 * scipy_stats.t.sf(abs(mean / se), n - 1))
        else:
            p = 1.0 if mean == 0.0 else 0.0
    return Estimate(n, mean, mean - half, mean + half, half, p)
