"""`airpicture compare --seeds` on a real local Dask cluster: paired runs, intervals, failures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats as scipy_stats

from airpicture.cli import main
from airpicture.study.cluster import dask_client, run_study
from airpicture.study.runs import StudySpec
from airpicture.study.variants import Variant, parse_variant
from tests.study.scenario_file import write_scenario

pytestmark = pytest.mark.slow

VARIANTS = ["no-usa-r1:without=USA-R1", "jpn-late:outage=JPN-R1@0-30"]


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("compare")
    scenario = write_scenario(root / "study-test.yaml", duration_s=30.0, seed=11)
    out = root / "out"
    argv = ["compare", str(scenario), "--out", str(out), "--seeds", "3", "--workers", "2"]
    for v in VARIANTS:
        argv += ["--variant", v]
    assert main(argv) == 0
    return scenario, out, json.loads((out / "compare.json").read_text(encoding="utf-8"))


def test_every_variant_runs_on_the_same_seeds_and_writes_its_folder(
    study: tuple[Path, Path, dict[str, Any]],
) -> None:
    _, out, doc = study
    assert doc["seeds"] == [11, 12, 13]
    assert [(r["variant"], r["seed"]) for r in doc["runs"]] == [
        (v, s) for v in ("baseline", "no-usa-r1", "jpn-late") for s in (11, 12, 13)
    ]
    assert doc["failures"] == []
    for r in doc["runs"]:
        folder = out / r["variant"] / f"seed-{r['seed']}"
        assert (folder / "picture.parquet").is_file() and (folder / "metrics.json").is_file()
    assert (out / "report.html").read_text(encoding="utf-8").count("<img") >= 6


def test_intervals_recompute_from_the_per_seed_figures(
    study: tuple[Path, Path, dict[str, Any]],
) -> None:
    _, _, doc = study
    row = next(
        r for r in doc["statistics"] if r["nation"] == "USA" and r["measure"] == "position_rms_m"
    )
    base = row["per_seed"]["baseline"]
    variant = row["per_seed"]["no-usa-r1"]
    assert len(base) == len(variant) == 3 and None not in base + variant
    # the per-seed values are the runs' own figures
    runs = {(r["variant"], r["seed"]): r for r in doc["runs"]}
    assert variant[1] == runs[("no-usa-r1", 12)]["viewers"]["USA"]["position_rms_m"]
    ref = scipy_stats.ttest_rel(variant, base)
    low, high = ref.confidence_interval(0.95)
    diff = row["variants"]["no-usa-r1"]["difference"]
    assert diff["mean"] == pytest.approx(float(np.mean(np.subtract(variant, base))))
    assert (diff["ci_low"], diff["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert diff["p_value"] == pytest.approx(float(ref.pvalue))
    assert diff["significant"] == (not low <= 0.0 <= high)
    b = row["baseline"]
    t_low, t_high = scipy_stats.t.interval(
        0.95, 2, loc=float(np.mean(base)), scale=float(scipy_stats.sem(base))
    )
    assert (b["ci_low"], b["ci_high"]) == (pytest.approx(t_low), pytest.approx(t_high))


def _figures(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in ("timing", "folder")} for r in records]


def test_one_worker_gives_the_same_figures_and_a_failed_run_is_named(
    study: tuple[Path, Path, dict[str, Any]], tmp_path: Path
) -> None:
    scenario, _, doc = study
    spec = StudySpec(str(scenario), duration_s=30.0)
    ghost = Variant("ghost", outages={"NOPE": (0.0, 1.0)})  # fails on the worker
    variants = [Variant("baseline"), parse_variant(VARIANTS[0]), ghost]
    with dask_client(None, 1) as client:
        records, failures = run_study(client, spec, variants, [11, 12, 13], tmp_path)
    assert [(f.variant, f.seed) for f in failures] == [("ghost", 11), ("ghost", 12), ("ghost", 13)]
    assert all("no sensor 'NOPE'" in f.error for f in failures)
    two_workers = [r for r in doc["runs"] if r["variant"] in ("baseline", "no-usa-r1")]
    assert _figures(records) == _figures(two_workers)


def test_bad_options_are_one_message_and_exit_2(
    study: tuple[Path, Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = str(study[0])
    a_file = tmp_path / "taken"
    a_file.write_text("x", encoding="utf-8")
    o = str(tmp_path / "o")
    cases = [
        (["--out", str(a_file)], "is a file, not a folder"),
        (["--out", str(a_file / "sub")], "which is a file"),
        (["--out", "/proc/airpicture-cannot-write"], "cannot write there"),
        (["--out", o, "--variant", "x:outage=USA-R1@500-100"], "not after the start"),
        (["--out", o, "--variant", "x:without=NOPE"], "no sensor 'NOPE'"),
        (["--out", o, "--seeds", "0"], "1 seed or more"),
        (["--out", o, "--scheduler", "localhost:1"], "tcp://HOST:PORT"),
    ]
    for extra, expected in cases:
        assert main(["compare", scenario, *extra]) == 2, extra
        err = capsys.readouterr().err
        assert expected in err and "Traceback" not in err, (extra, err)


@pytest.mark.parametrize("width", [60, 250])
def test_the_console_table_fits_the_terminal_or_says_where_the_figures_are(
    study: tuple[Path, Path, dict[str, Any]], width: int
) -> None:
    from rich.console import Console

    from airpicture.cli.compare import print_comparison

    _, out, doc = study
    variants = [Variant("baseline")] + [parse_variant(v) for v in VARIANTS]
    console = Console(width=width, record=True, force_terminal=False)
    print_comparison(doc, variants, console, out)
    text = console.export_text()
    assert all(len(line) <= width for line in text.splitlines())
    if width == 60:
        # (rich may break the long path itself across lines)
        assert "this terminal has 60: every figure is in" in " ".join(text.split())
        assert "report.html" in "".join(text.split())
    else:
        assert "no-usa-r1" in text and "needs" not in text
