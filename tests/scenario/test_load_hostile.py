"""Hostile scenario files: refused with one message naming the file, before they can exhaust
memory or the stack; exit status 2 from the command line."""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

import pytest
import yaml

from airpicture.cli import main
from airpicture.errors import InputError
from airpicture.scenario import load_scenario
from airpicture.scenario.load import (
    MAX_DEPTH,
    MAX_PROBLEMS_LISTED,
    MAX_SCENARIO_BYTES,
    MAX_VALUES,
)
from tests.conftest import REPO

PACIFIC = REPO / "scenarios" / "pacific-shield.yaml"

#: Nine levels of nine aliases each: 9⁹ ≈ 387 million strings once expanded.
BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{b}: &{b} [{','.join([f'*{a}'] * 9)}]"
            for a, b in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)


def _refused(tmp_path: Path, text: str | bytes, name: str = "hostile.yaml") -> InputError:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert str(path) in str(info.value)
    return info.value


def test_a_few_hundred_byte_billion_laughs_is_refused_without_expanding_it(tmp_path: Path) -> None:
    assert len(BILLION_LAUGHS.encode()) < 512
    tracemalloc.start()
    try:
        error = _refused(tmp_path, BILLION_LAUGHS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "aliases expand to more than" in str(error)
    assert peak < 16 * 2**20


def test_aliases_within_reason_still_load(tmp_path: Path) -> None:
    text = PACIFIC.read_text(encoding="utf-8").replace("seed: 7", "seed: &s 7\nx_seed: *s")
    # The alias itself is fine; the unknown field it makes is what gets named.
    error = _refused(tmp_path, text)
    assert "unknown field 'x_seed'" in str(error)


@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_nesting_is_refused_before_any_recursion(tmp_path: Path, style: str) -> None:
    depth = 20_000 if style == "flow" else MAX_DEPTH + 5
    if style == "flow":
        text = "targets: " + "[" * depth + "]" * depth
    else:
        text = "".join(f"{'  ' * i}k{i}:\n" for i in range(depth)) + "  " * depth + "v: 1\n"
    error = str(_refused(tmp_path, text))
    # libyaml's scanner stops a flow 1,000 levels deep itself, before our event check.
    assert f"nested deeper than {MAX_DEPTH} levels" in error or (
        style == "flow" and "exceeded maximum nesting depth" in error
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"name: caf\xe9\n", "not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    ],
)
def test_binary_or_non_utf8_files_are_named(tmp_path: Path, content: bytes, expected: str) -> None:
    assert expected in str(_refused(tmp_path, content))


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("duration_s: 1800", "duration_s: .nan", "duration_s: nan is not a finite number"),
        ("duration_s: 1800", "duration_s: .inf", "duration_s: inf is not a finite number"),
        ("duration_s: 1800", "duration_s: -.Inf", "duration_s: -inf is not a finite number"),
        ("duration_s: 1800", "duration_s: 1e300", "duration_s: 1e+300 is larger than any"),
        (
            "duration_s: 1800",
            "duration_s: nan",
            "duration_s: Input should be greater than 0 (got 'nan')",
        ),
        ("duration_s: 1800", 'duration_s: "-1e300"', "duration_s: Input should be greater than 0"),
        ("max_range_m: 1200000", "max_range_m: 1.0e+300", "max_range_m: 1e+300 is larger"),
        ("duration_s: 1800", f"duration_s: {10**200}", "duration_s: 1.000e+200 is larger"),
        ("duration_s: 1800", "duration_s: 1" + "0" * 400, "an integer of ~401 digits"),
        ("duration_s: 1800", "duration_s: 1" + "0" * 5000, "a number of 5,001 characters"),
        ("seed: 7", f"seed: {2**70}", "seed: 1.181e+21 is larger"),
    ],
)
def test_absurd_numbers_are_refused_naming_line_and_field(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    text = PACIFIC.read_text(encoding="utf-8")
    assert old in text
    message = str(_refused(tmp_path, text.replace(old, new, 1)))
    assert field in message
    assert re.search(r"line \d+, column \d+|\.yaml:\d+:\d+", message), message


def test_large_seeds_within_64_bits_still_load(tmp_path: Path) -> None:
    path = tmp_path / "seeded.yaml"
    path.write_text(PACIFIC.read_text(encoding="utf-8").replace("seed: 7", f"seed: {2**63}"))
    assert load_scenario(path).scenario.seed == 2**63


def test_an_oversized_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:
        f.truncate(MAX_SCENARIO_BYTES + 1)  # sparse: nothing written, nothing to read
    with pytest.raises(InputError, match="a scenario file is at most"):
        load_scenario(path)


def test_the_alias_limit_counts_values_not_bytes(tmp_path: Path) -> None:
    # Just over the limit without nesting: one anchored list repeated.
    n = MAX_VALUES // 1000 + 2
    items = ",".join(["1"] * 999)
    text = f"a: &a [{items}]\nb: [{','.join(['*a'] * n)}]\n"
    assert "aliases expand" in str(_refused(tmp_path, text))


def test_a_long_list_of_wrong_values_names_the_first_and_counts_the_rest(
    tmp_path: Path,
) -> None:
    """Every item of a long list wrong (the fuzzer found such files taking seconds to
    refuse, one line per item): the first `MAX_PROBLEMS_LISTED` are named, the rest counted."""
    n = MAX_VALUES // 2
    data = yaml.safe_load(PACIFIC.read_text(encoding="utf-8"))
    data["places"] = [1] * n
    problems = str(_refused(tmp_path, yaml.safe_dump(data))).splitlines()[1:]
    assert len(problems) == MAX_PROBLEMS_LISTED + 1
    assert "places[0]" in problems[0]
    assert problems[-1].strip() == f"- ... and {n - MAX_PROBLEMS_LISTED:,} more problems"


@pytest.mark.parametrize(
    "content", [BILLION_LAUGHS.encode(), b"x: " + b"[" * 5000, b"\xff\xfe\x00y", b"seed: .nan"]
)
def test_the_command_line_says_which_file_and_exits_2(
    tmp_path: Path, content: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    assert main(["simulate", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "Traceback" not in err
