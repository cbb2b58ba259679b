# mypy: disable-error-code="no-untyped-call"
# (distributed ships type hints but leaves Client, LocalCluster and as_completed unannotated)
"""Running a study's runs on Dask distributed: a local cluster, or a scheduler given by address.

One task simulates each seed; one task per (variant, seed) runs the network on
that simulation (Dask hands it the simulation, on the same worker when it can).
Every variant sees the same seeds, so the runs pair up by seed. A task that
fails is reported with its variant and seed; the others go on.

On a real cluster (`--scheduler tcp://HOST:PORT`) every worker must have
airpicture installed and see the scenario file (and its traffic data) at the
same path, and the output folder if the run folders are to be kept there; the
figures themselves come back through Dask, so compare.json needs no shared disk.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distributed import Client, Future, LocalCluster, as_completed

from airpicture.errors import InputError
from airpicture.study.runs import StudySpec, run_variant, simulate_seed
from airpicture.study.variants import Variant


@dataclass(frozen=True)
class RunFailure:
    """A run that did not finish: which one, and why."""

    variant: str
    seed: int
    error: str

    def to_json(self) -> dict[str, Any]:
        return {"variant": self.variant, "seed": self.seed, "error": self.error}


#: `on_run(done, total, failure_or_None)` after each finished run.
RunCallback = Callable[[int, int, RunFailure | None], None]


@contextmanager
def dask_client(scheduler: str | None, workers: int | None) -> Iterator[Client]:
    """A Dask client: on `scheduler` if given, else on a local cluster of `workers` processes.

    The local cluster has one single-threaded worker process per core by default
    (the network run is single-threaded Python), listens on free ports only, has
    no dashboard, and is shut down on the way out.
    """
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(
                f"--scheduler {scheduler}",
                [
                    f"no Dask scheduler answers there ({exc}); start one with `dask scheduler` "
                    "and workers with `dask worker tcp://HOST:PORT`, or leave --scheduler out "
                    "for a local cluster (docs/planning.md)"
                ],
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers if workers is not None else (os.cpu_count() or 1)
    cluster = LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        scheduler_port=0,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    try:
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def run_study(
    client: Client,
    spec: StudySpec,
    variants: Sequence[Variant],
    seeds: Sequence[int],
    out: Path,
    on_run: RunCallback | None = None,
) -> tuple[list[dict[str, Any]], list[RunFailure]]:
    """Every variant on every seed; the finished runs' records and the failures.

    Records are sorted by (variant order, seed) so the result does not depend on
    which run finished first.
    """
    token = uuid.uuid4().hex[:8]  # keys unique even on a scheduler shared by studies
    sims = {
        seed: client.submit(simulate_seed, spec, seed, key=f"simulate-s{seed}-{token}")
        for seed in seeds
    }
    futures: dict[Future[dict[str, Any]], tuple[str, int]] = {}
    for variant in variants:
        for seed in seeds:
            folder = out / variant.name / f"seed-{seed}"
            future = client.submit(
                run_variant,
                sims[seed],
                variant,
                seed,
                str(folder),
                key=f"run-{variant.name}-s{seed}-{token}",
            )
            futures[future] = (variant.name, seed)
    records: list[dict[str, Any]] = []
    failures: list[RunFailure] = []
    total = len(futures)
    for done, future in enumerate(as_completed(futures), start=1):
        name, seed = futures[future]
        failure: RunFailure | None = None
        if future.status == "error":
            exc = future.exception()
            failure = RunFailure(name, seed, f"{type(exc).__name__}: {exc}")
            failures.append(failure)
        else:
            records.append(future.result())
        future.release()
        if on_run is not None:
            on_run(done, total, failure)
    for sim in sims.values():
        sim.release()
    order = {v.name: i for i, v in enumerate(variants)}
    records.sort(key=lambda r: (order[r["variant"]], r["seed"]))
    failures.sort(key=lambda f: (order[f.variant], f.seed))
    return records, failures
