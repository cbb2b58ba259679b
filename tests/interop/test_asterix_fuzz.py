"""A small seeded fuzz of the ASTERIX decoder (bench/interop_fuzz.py runs 1,000,000 per category):
random and mutated datagrams decode or raise `AsterixError`, nothing else."""

from __future__ import annotations

import numpy as np
import pytest
from bench.interop_fuzz import corpus, fuzz


@pytest.fixture(scope="module")
def valid() -> dict[int, list[bytes]]:
    return corpus(np.random.default_rng(14))


@pytest.mark.parametrize("category", [48, 34, 21, 62])
def test_random_and_mutated_datagrams_raise_only_the_codecs_error(
    valid: dict[int, list[bytes]], category: int
) -> None:
    result = fuzz(category, valid[category], count=1500, seed=1000 + category)
    assert result["failures"] == []
    assert set(result["outcomes"]) == {"decoded", "AsterixError"}
    assert result["outcomes"]["decoded"] > 0
