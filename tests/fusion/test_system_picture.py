"""System tracks: association with hysteresis, and network track numbers."""

from __future__ import annotations

import numpy as np

from airpicture.fusion import FusionSettings, NumberBlocks, SourceTracks, SystemPicture
from airpicture.fusion.numbering import duplicate_losers, widest_claims

MODES = ("cv", "manoeuvre", "ballistic")
NATIONS = ("AUS", "JPN", "USA")


def sources(
    origin: str,
    x: np.ndarray,
    *,
    local: bool,
    t: float = 0.0,
    number: np.ndarray | None = None,
    created: np.ndarray | None = None,
    sigma_m: float = 100.0,
    ids: list[str] | None = None,
) -> SourceTracks:
    n = x.shape[0]
    P = np.zeros((n, 6, 6))
    P[:, :3, :3] = np.eye(3) * sigma_m**2
    P[:, 3:, 3:] = np.eye(3) * 25.0
    ids = ids or [f"T{i}" for i in range(n)]
    return SourceTracks(
        key=np.array([f"{origin}/{i}" for i in ids], dtype="U64"),
        origin=np.full(n, origin, dtype="U32"),
        local=np.full(n, local),
        time_s=np.full(n, t),
        x=x,
        P=P,
        mode_probabilities=np.tile([0.8, 0.2, 0.0], (n, 1)),
        claim_number=np.zeros(n, np.int64) if number is None else number,
        claim_created_s=np.full(n, np.inf) if created is None else created,
        ident=np.full(n, "", dtype="U16"),
        updated_s=np.full((n, 4), t),
        pressure_alt_m=np.full(n, np.nan),
        mode3a=np.full(n, "", dtype="U4"),
    )


def objects(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 6))
    x[:, :3] = np.array([-3.9e6, 3.4e6, 3.6e6]) + rng.uniform(-2e5, 2e5, size=(n, 3))
    x[:, 3:] = rng.normal(size=(n, 3)) * 200.0
    return x


def test_tracks_of_one_object_from_two_origins_become_one_system_track() -> None:
    truth = objects(5)
    rng = np.random.default_rng(1)
    scale = np.array([50.0, 50.0, 50.0, 2.0, 2.0, 2.0])  # σ 100 m and 5 m/s claimed
    picture = SystemPicture("USA", NATIONS, MODES)
    numbers = np.empty(0, dtype=np.int64)
    for cycle in range(4):
        a = sources("USA.0", truth + rng.normal(size=truth.shape) * scale, local=True, t=cycle)
        b = sources(
            "JPN.0", truth[::-1] + rng.normal(size=truth.shape) * scale, local=False, t=cycle
        )
        fused = picture.update(float(cycle), SourceTracks.concat([a, b], 3))
        assert len(fused) == 5
        # Row k of a and row 4 − k of b are the same object.
        assert np.array_equal(fused.member[:5], fused.member[5:][::-1])
        if cycle == 0:
            numbers = fused.number.copy()
        assert np.array_equal(fused.number, numbers)  # stable
    first, last = picture.blocks.block("USA")
    assert np.all((numbers >= first) & (numbers <= last))


def test_one_bad_cycle_does_not_split_three_do() -> None:
    truth = objects(1)
    settings = FusionSettings(break_after=3)
    picture = SystemPicture("USA", NATIONS, MODES, settings)
    far = truth.copy()
    far[:, 0] += 5_000.0  # 50 σ off
    history = []
    for cycle, offset in enumerate([truth, truth, far, truth, far, far, far, far]):
        a = sources("USA.0", truth, local=True, t=cycle)
        b = sources("JPN.0", offset, local=False, t=cycle)
        history.append(len(picture.update(float(cycle), SourceTracks.concat([a, b], 3))))
    # Together, a single bad cycle tolerated, then split after the third bad cycle in a row,
    # and they stay apart (the split track no longer passes the gate).
    assert history == [1, 1, 1, 1, 1, 1, 2, 2]


def test_adopts_a_partners_number_and_resolves_dual_numbering() -> None:
    truth = objects(2)
    usa = SystemPicture("USA", NATIONS, MODES)
    jpn = SystemPicture("JPN", NATIONS, MODES)
    # Both number the two objects on their own first, as a node does when it first
    # reports a track (`allocate`, from its tracker's sub-block).
    at0 = np.zeros(2)
    u = usa.update(0.0, sources("USA.0", truth, local=True, number=usa.allocate(2), created=at0))
    j = jpn.update(0.0, sources("JPN.0", truth, local=True, number=jpn.allocate(2), created=at0))
    assert set(u.number).isdisjoint(j.number)
    assert list(j.number_created_s) == [0.0, 0.0]
    # Then each hears the other's tracks, numbered at the same time: the lower number wins
    # (JPN's block comes before USA's), in both pictures.
    u2 = usa.update(
        1.0,
        SourceTracks.concat([sources("USA.0", truth, local=True, t=1.0, number=u.number,
                                     created=u.number_created_s),
                             sources("JPN.0", truth, local=False, t=1.0, number=j.number,
                                     created=j.number_created_s)], 3),
    )  # fmt: skip
    assert np.array_equal(np.sort(u2.number), np.sort(j.number))
    assert usa.renumbered == 2
    # An older number beats a lower one.
    older = np.array([-5.0, -5.0])
    u3 = usa.update(
        2.0,
        SourceTracks.concat([sources("USA.0", truth, local=True, t=2.0, number=u2.number,
                                     created=u2.number_created_s),
                             sources("AUS.0", truth, local=False, t=2.0,
                                     number=np.array([7, 8]), created=older)], 3),
    )  # fmt: skip
    assert sorted(u3.number) == [7, 8]


def test_number_rules() -> None:
    blocks = NumberBlocks.of(["USA", "AUS", "JPN"], 1000)
    assert blocks.block("AUS") == (1, 999)
    assert blocks.block("JPN") == (1000, 1999)
    # With every number reaching every nation, the oldest wins (the lower on a tie).
    number, created, _ = widest_claims(
        np.array([0, 0, 1, 1]),
        np.array([20, 10, 5, 0]),
        np.array([3.0, 3.0, 9.0, 1.0]),
        np.full(4, 3),
        2,
    )
    assert list(number) == [10, 5] and list(created) == [3.0, 9.0]
    losers = duplicate_losers(np.array([5, 5, 7, 5]), np.array([0, 5, 7, 0]))
    assert list(losers) == [True, False, False, True]


def test_empty_and_vanishing_sources() -> None:
    picture = SystemPicture("AUS", NATIONS, MODES)
    assert len(picture.update(0.0, SourceTracks.empty(3))) == 0
    fused = picture.update(1.0, sources("AUS.0", objects(3), local=True, t=1.0))
    assert len(fused) == 3
    assert len(picture.update(2.0, SourceTracks.empty(3))) == 0


def test_the_number_told_a_nation_is_chosen_as_if_what_it_may_not_hold_did_not_exist() -> None:
    """USA's node holds its track a of an object, its track b (of a sensor AUS may not
    hold) 300 m off, and JPN's track p, 820 m off a, which carries JPN's older number.
    Fused with b, a's system track moves towards p and p gates with it (the gate alone
    would not take p, d² = 33.6 against 27.9): the number USA would tell AUS for a was
    then p's, and a's own without b — so AUS learned from a number that b existed. The
    number told AUS is now chosen over the tracks AUS may hold, grouped on their own."""
    x = objects(1)
    along = np.array([[1.0, 0, 0, 0, 0, 0]])  # offsets along one axis (σ 100 m on each)

    def told_to_aus(with_b: bool) -> tuple[int, int]:
        picture = SystemPicture("USA", NATIONS, MODES)
        a_number = picture.blocks.block("USA")[0]
        p_number = picture.blocks.block("JPN")[0]
        told = fused_count = 0
        for t in (0.0, 1.0):
            a_claim = {"number": np.array([a_number]), "created": np.array([5.0])}
            parts = [sources("USA.0", x, local=True, t=t, **a_claim)]
            known = [[True, True, True]]
            if with_b:
                parts.append(sources("USA.1", x + 300.0 * along, local=True, t=t))
                known.append([False, True, True])  # AUS may not hold b
            if t > 0:
                p_claim = {"number": np.array([p_number]), "created": np.array([1.0])}
                parts.append(sources("JPN.0", x + 820.0 * along, local=False, t=t, **p_claim))
                known.append([True, True, True])
            fused = picture.update(t, SourceTracks.concat(parts, 3), np.array(known))
            told, fused_count = int(fused.told_number[0, NATIONS.index("AUS")]), len(fused)
        return told, fused_count

    (with_b, own_with_b), (without_b, own_without_b) = told_to_aus(True), told_to_aus(False)
    assert own_with_b == 1 and own_without_b == 2  # USA's own picture: p joins only with b
    assert with_b == without_b == SystemPicture("USA", NATIONS, MODES).blocks.block("USA")[0]
