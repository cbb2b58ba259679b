"""Nodes in worker processes: the same pictures as in one process, and failures that say so."""

from __future__ import annotations

import operator

import numpy as np
import pytest

from airpicture.network import NetworkRun, national_assessor, run_network
from airpicture.network.processes import NodeProcessError
from airpicture.network.run import start_node_processes
from airpicture.network.schedule import makespan_s, stages
from airpicture.scenario import ScenarioOverrides, load_scenario
from airpicture.sim.simulate import simulate
from tests.network.netscen import jpn_fails_after_10s, network_scenario

SCENARIOS = "scenarios/pacific-shield.yaml"


def _without_seconds(stats: dict[str, object]) -> dict[str, object]:
    nodes = {
        n: {k: v for k, v in node.items() if k != "seconds"}
        for n, node in stats["nodes"].items()  # type: ignore[attr-defined]
    }
    return {
        k: v
        for k, v in stats.items()
        if k not in ("nodes", "node_processes", "process_nice") and not k.endswith("cpu_s")
    } | {"nodes": nodes}


def test_pacific_shield_in_processes_is_identical_to_one_process() -> None:
    # 340 s: RED-BM-1's launch (SBIRS notice, released to JPN and not AUS), plots
    # exchanged between JPN and USA, tracks to all, warnings on the bus.
    loaded = load_scenario(SCENARIOS, ScenarioOverrides(duration_s=340.0))
    plots = simulate(loaded).plots
    one = run_network(loaded, plots, node_processes=False)
    apart = run_network(loaded, plots, node_processes=True)
    assert apart.stats["node_processes"] is True
    assert set(one.picture) == set(apart.picture)
    for column, values in one.picture.items():
        assert np.array_equal(values, apart.picture[column], equal_nan=values.dtype.kind == "f"), (
            column
        )
    assert len(one.picture["time_s"]) > 1000
    assert one.warnings == apart.warnings
    assert any(w.kind == "launch" for w in one.warnings)
    assert one.threats == apart.threats
    assert _without_seconds(one.stats) == _without_seconds(apart.stats)


def test_links_with_latency_and_loss_and_steps_are_identical_in_processes() -> None:
    # Lossy, late links (per-link random streams drawn in each worker) and a run
    # advanced in uneven steps: the same pictures, warnings and counts as one process.
    links = [
        {"from_nation": "USA", "latency_s": 1.5, "loss_probability": 0.3},
        {"from_nation": "JPN", "to_nations": ["AUS"], "latency_s": 0.5},
        {"from_nation": "AUS", "latency_s": 7.0, "loss_probability": 0.1},
    ]
    loaded = network_scenario(
        duration_s=60.0,
        links=links,
        release={"USA": {"tracks": ["JPN", "AUS"], "plots": ["JPN"]},
                 "JPN": {"tracks": ["AUS", "USA"], "plots": ["USA"]},
                 "AUS": {"tracks": ["USA"]}},
    )  # fmt: skip
    plots = simulate(loaded).plots
    one = run_network(loaded, plots, node_processes=False)
    with NetworkRun(loaded, plots, node_processes=True) as run:
        snapshots = [*run.advance(12.0), *run.advance(12.0), *run.advance(37.0), *run.advance(60.0)]
        stats = run.stats()
    assert [s.time_s for s in snapshots] == [5.0 * k for k in range(1, 13)]
    pictures = [s.pictures[v] for s in snapshots for v in sorted(s.pictures)]
    for column, values in one.picture.items():
        if column in pictures[0]:
            apart = np.concatenate([p[column] for p in pictures])
            assert np.array_equal(values, apart, equal_nan=values.dtype.kind == "f"), column
    assert one.warnings == [w for s in snapshots for w in s.warnings]
    assert one.stats["links"] == stats["links"]
    assert one.stats["links"]["USA->JPN"]["lost"] > 0
    assert one.stats["links"]["AUS->USA"]["delivered"] > 0
    assert _without_seconds(one.stats) == _without_seconds(stats)


def test_workers_started_before_the_simulation_run_it_and_end() -> None:
    loaded = network_scenario(duration_s=20.0)
    workers = start_node_processes(loaded)  # they build their nodes while we simulate
    run = NetworkRun(loaded, simulate(loaded).plots, node_processes=workers)
    assert run.workers is not None and run.viewers == ["AUS", "JPN", "USA"]
    procs = list(run.workers._procs)
    with run:
        snapshots = run.advance(20.0)
    assert [s.time_s for s in snapshots] == [5.0, 10.0, 15.0, 20.0]
    assert all(set(s.pictures) == {"AUS", "JPN", "USA"} for s in snapshots)
    assert all(p.poll() is not None for p in procs)
    run.close()  # twice is harmless


def test_a_failing_node_names_its_nation_and_the_cause() -> None:
    loaded = network_scenario(duration_s=10.0)
    # A picklable factory that fails in the worker: Scenario / "AUS" is a TypeError.
    with pytest.raises(NodeProcessError) as caught:
        NetworkRun(loaded, simulate(loaded).plots, assessor_factory=operator.truediv,
                   node_processes=True)  # fmt: skip
    assert caught.value.nation == "AUS"
    assert "TypeError" in caught.value.detail and "unsupported operand" in caught.value.detail


def test_a_factory_that_cannot_travel_is_refused_with_the_fix() -> None:
    loaded = network_scenario(duration_s=10.0)
    with pytest.raises(TypeError, match=r"module-level function.*node_processes=False"):
        NetworkRun(
            loaded,
            simulate(loaded).plots,
            assessor_factory=lambda s, n: national_assessor(s, n),
            node_processes=True,
        )


def test_a_node_failing_mid_run_is_named_not_the_partners_left_waiting() -> None:
    # AUS and USA wait for JPN's next frames and see its worker end; the error names
    # JPN and carries JPN's traceback, not their complaint.
    loaded = network_scenario(duration_s=30.0)
    run = NetworkRun(loaded, simulate(loaded).plots, assessor_factory=jpn_fails_after_10s,
                     node_processes=True)  # fmt: skip
    procs = list(run.workers._procs) if run.workers is not None else []
    with pytest.raises(NodeProcessError) as caught:
        run.advance(30.0)
    assert caught.value.nation == "JPN"
    assert "ArithmeticError: JPN's assessor broke at 15 s" in caught.value.detail
    assert all(p.poll() is not None for p in procs)  # every worker has ended


def test_the_stages_run_in_the_order_that_lets_a_fused_node_track_on() -> None:
    order = [(s.index, s.kind, s.cycle) for s in stages(0, 2)]
    assert order == [(0, "plots", 0), (1, "tracks", 0), (2, "plots", 1), (3, "fuse", 0),
                     (4, "tracks", 1), (5, "plots", 2), (6, "fuse", 1)]  # fmt: skip
    assert [s.index for s in stages(2, 3)] == [7, 8, 9]
    assert [s.receives for s in stages(0, 1)] == [False, True, False, True]
    assert [s.publishes for s in stages(0, 1)] == [True, True, True, False]


def test_makespan_follows_the_stage_dependencies() -> None:
    # Stages 0..6 of two nodes. A fuse stage (3, 6) waits for both nodes' plots stage
    # before it (2, 5); a tracks stage (1, 4) for the plots stages 0 and 2.
    a = [0.1, 1.0, 0.1, 1.0, 1.0, 0.1, 1.0]
    b = [0.1, 2.0, 0.1, 0.5, 2.0, 0.1, 0.5]
    # a: 0.1, 1.1, 1.2 | fuse waits for b's 2.2: 3.2 | 4.2, 4.3 | fuse waits for b's 4.8: 5.8
    assert makespan_s({"a": a, "b": b}) == pytest.approx(5.8)
    assert makespan_s({"a": a, "b": b}, cores=2) == pytest.approx(5.8)
    assert makespan_s({"a": a, "b": b}, cores=1) == pytest.approx(sum(a) + sum(b))
    # Three nodes on two cores: never below the CPU over two cores, nor the critical path.
    c = [0.1, 1.5, 0.1, 0.2, 1.5, 0.1, 0.2]
    three = {"a": a, "b": b, "c": c}
    shared = makespan_s(three, cores=2)
    assert shared >= max(makespan_s(three), (sum(a) + sum(b) + sum(c)) / 2) - 1e-12
    assert shared <= sum(a) + sum(b) + sum(c)
