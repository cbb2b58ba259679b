"""Numbers that more nations may hear win over older ones that fewer may (widest_claims)."""

from __future__ import annotations

import numpy as np

from airpicture.fusion.numbering import oldest_claims, widest_claims


def test_the_widest_claim_wins_then_the_oldest() -> None:
    # system 0: KOR's number (older, reaches 2 nations) and USA's (newer, reaches 4)
    # system 1: two claims of equal reach: the older wins, as before
    system = np.array([0, 0, 1, 1], dtype=np.intp)
    number = np.array([20001, 30002, 10005, 30007], dtype=np.int64)
    created = np.array([10.0, 15.0, 40.0, 30.0])
    reach = np.array([2, 4, 3, 3], dtype=np.int64)
    n, c, r = widest_claims(system, number, created, reach, 2)
    np.testing.assert_array_equal(n, [30002, 30007])
    np.testing.assert_array_equal(c, [15.0, 30.0])
    np.testing.assert_array_equal(r, [4, 3])
    # with equal reach everywhere it is exactly oldest_claims
    same = np.full(4, 3, dtype=np.int64)
    n2, c2, _ = widest_claims(system, number, created, same, 2)
    n3, c3 = oldest_claims(system, number, created, 2)
    np.testing.assert_array_equal(n2, n3)
    np.testing.assert_array_equal(c2, c3)


def test_no_claim_gives_no_number() -> None:
    n, c, r = widest_claims(
        np.array([0], dtype=np.intp), np.zeros(1, np.int64), np.zeros(1), np.ones(1, np.int64), 1
    )
    assert n.tolist() == [0] and np.isinf(c).all() and r.tolist() == [0]
