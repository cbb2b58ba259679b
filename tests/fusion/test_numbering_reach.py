"""Numbers that more nations may hear win over older ones that fewer may (widest_claims)."""

from __future__ import annotations

import numpy as np

from airpicture.fusion.numbering import NumberBlocks, widest_claims


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
    # with equal reach everywhere the oldest wins
    same = np.full(4, 3, dtype=np.int64)
    n2, c2, _ = widest_claims(system, number, created, same, 2)
    np.testing.assert_array_equal(n2, [20001, 30007])
    np.testing.assert_array_equal(c2, [10.0, 30.0])


def test_no_claim_gives_no_number() -> None:
    n, c, r = widest_claims(
        np.array([0], dtype=np.intp), np.zeros(1, np.int64), np.zeros(1), np.ones(1, np.int64), 1
    )
    assert n.tolist() == [0] and np.isinf(c).all() and r.tolist() == [0]


def test_a_numbers_value_says_where_it_may_go() -> None:
    # USA has two trackers: one whose tracks go everywhere, one whose go to USA and KOR.
    nations = ["AUS", "JPN", "KOR", "USA"]
    everywhere = np.ones(4, dtype=bool)
    usa_kor = np.array([False, False, True, True])
    blocks = NumberBlocks.of(nations, 9000, {"USA": [everywhere, usa_kor]})
    assert blocks.block("USA") == (27000, 35999)
    assert blocks.sub_block("USA", 0) == (27000, 29999)
    assert blocks.sub_block("USA", 1) == (30000, 32999)
    assert blocks.provisional_block("USA") == (33000, 35999)
    assert blocks.sub_block("AUS", 0) == (1, 4499)  # 0 is never a number
    assert blocks.provisional_block("AUS") == (4500, 8999)
    number = np.array([0, 1, 4499, 4500, 27000, 31234, 33000, 35999, 36000, -3])
    np.testing.assert_array_equal(blocks.reach(number), [0, 4, 4, 0, 4, 2, 0, 0, 0, 0])
    np.testing.assert_array_equal(blocks.marking(number)[5], usa_kor)
