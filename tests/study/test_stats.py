"""The study's statistics against scipy: paired t intervals and p-values, one-sample intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from airpicture.study.stats import mean_interval, paired_difference

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.tuples(finite, finite), min_size=2, max_size=40))
def test_paired_difference_is_scipy_ttest_rel_and_its_interval(
    pairs: list[tuple[float, float]],
) -> None:
    base = [b for b, _ in pairs]
    var = [v for _, v in pairs]
    d = np.asarray(var) - np.asarray(base)
    est = paired_difference(base, var)
    assert est.n == len(pairs)
    assert est.mean == pytest.approx(float(np.mean(d)), rel=1e-9, abs=1e-6)
    spread = float(np.std(d, ddof=1))
    if spread <= 1e-9 * max(1.0, float(np.max(np.abs(d)))):
        return  # scipy returns nan for a constant sample; ours is documented separately
    ref = scipy_stats.ttest_rel(var, base)
    assert est.p_value == pytest.approx(float(ref.pvalue), rel=1e-6, abs=1e-12)
    low, high = ref.confidence_interval(0.95)
    assert est.low == pytest.approx(float(low), rel=1e-6, abs=1e-6)
    assert est.high == pytest.approx(float(high), rel=1e-6, abs=1e-6)
    assert est.significant == (float(ref.pvalue) < 0.05) or math.isclose(
        float(ref.pvalue), 0.05, rel_tol=1e-6
    )


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(finite, min_size=2, max_size=40))
def test_mean_interval_is_scipy_t_interval(values: list[float]) -> None:
    est = mean_interval(values)
    x = np.asarray(values)
    sem = float(scipy_stats.sem(x))
    if sem == 0.0:
        assert est.low == est.high == pytest.approx(float(np.mean(x)))
        return
    low, high = scipy_stats.t.interval(0.95, x.size - 1, loc=float(np.mean(x)), scale=sem)
    assert est.low == pytest.approx(float(low), rel=1e-9, abs=1e-6)
    assert est.high == pytest.approx(float(high), rel=1e-9, abs=1e-6)
    assert est.p_value is None and est.significant is None  # a mean is not a test


def test_a_pair_with_a_missing_value_is_left_out_and_counted() -> None:
    est = paired_difference([1.0, 2.0, None, 4.0], [2.0, 3.5, 7.0, math.nan])
    # pairs left: (1, 2) and (2, 3.5): d = 1, 1.5
    assert est.n == 2
    assert est.mean == pytest.approx(1.25)
    ref = scipy_stats.ttest_rel([2.0, 3.5], [1.0, 2.0])
    assert est.p_value == pytest.approx(float(ref.pvalue))


def test_identical_differences_have_a_zero_width_interval() -> None:
    same = paired_difference([1.0, 2.0, 3.0], [2.0, 3.0, 4.0])
    assert (same.low, same.high, same.half_width) == (1.0, 1.0, 0.0)
    assert same.significant is True and same.p_value == 0.0
    none = paired_difference([1.0, 2.0], [1.0, 2.0])
    assert none.significant is False and none.p_value == 1.0


def test_one_value_has_a_mean_but_no_interval() -> None:
    est = paired_difference([1.0], [3.0])
    assert (est.n, est.mean, est.low, est.high, est.significant) == (1, 2.0, None, None, None)
    assert mean_interval([]).mean is None


def test_samples_of_different_length_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        paired_difference([1.0, 2.0], [1.0])
