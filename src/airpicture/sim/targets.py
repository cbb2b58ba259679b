"""All of a scenario's targets, flown onto one time grid."""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable

import numpy as np

from airpicture.errors import InputError
from airpicture.scenario import (
    BallisticTarget,
    GeneratedAircraft,
    LoadedScenario,
    RouteTarget,
    TrafficTarget,
)
from airpicture.sim.ballistic import BallisticFlight, BallisticSolveError, solve_ballistic
from airpicture.sim.flight import fly_generated, fly_routes
from airpicture.sim.traffic import fly_traffic
from airpicture.sim.trajectory import TargetInfo, TrajectorySet, hermite_resample, merge

#: Spacing of the trajectory grid, s. Hermite interpolation between nodes keeps
#: positions exact to centimetres for the accelerations of aircraft and missiles.
GRID_STEP_S = 1.0


def stream_rng(seed: int, *names: str | int) -> np.random.Generator:
    """An independent random stream per named use, so adding a sensor or a target
    block never changes the noise of another."""
    words = [seed & 0xFFFFFFFF] + [zlib.crc32(str(n).encode()) for n in names]
    return np.random.default_rng(words)


def node_count_for(duration_s: float, step_s: float = GRID_STEP_S) -> int:
    return math.floor(duration_s / step_s + 1e-9) + 2


def ballistic_on_grid(
    target: BallisticTarget, flight: BallisticFlight, step_s: float, node_count: int
) -> TrajectorySet:
    grid = np.arange(node_count) * step_s
    times = flight.times_s + target.launch_s
    inside = (grid >= times[0]) & (grid <= times[-1])
    pos = np.full((1, node_count, 3), np.nan)
    vel = np.full((1, node_count, 3), np.nan)
    if inside.any():
        pos[0, inside], vel[0, inside] = hermite_resample(
            times, flight.pos_m, flight.vel_mps, grid[inside]
        )
    info = TargetInfo(
        ids=[target.id],
        kinds=["ballistic_missile"],
        identities=[target.identity],
        idents=[(target.ident or target.id) if target.transponder else ""],
        transponder=np.array([target.transponder]),
        boost_start_s=np.array([target.launch_s]),
        boost_end_s=np.array([target.launch_s + target.burnout_s]),
    )
    return TrajectorySet(step_s, pos, vel, inside[None, :].copy(), info)


def build_trajectories(
    loaded: LoadedScenario,
    step_s: float = GRID_STEP_S,
    on_progress: Callable[[str], None] | None = None,
) -> tuple[TrajectorySet, dict[str, BallisticFlight]]:
    """Fly every target of the scenario; also return the solved ballistic flights by id."""
    scenario = loaded.scenario
    nodes = node_count_for(scenario.duration_s, step_s)
    parts: list[TrajectorySet] = []
    flights: dict[str, BallisticFlight] = {}
    say = on_progress or (lambda _: None)

    routes = [t for t in scenario.targets if isinstance(t, RouteTarget)]
    if routes:
        say(f"flying {len(routes)} routed aircraft and cruise missiles")
        parts.append(fly_routes(routes, step_s, nodes))
    for i, target in enumerate(scenario.targets):
        if isinstance(target, BallisticTarget):
            say(f"solving the trajectory of {target.id}")
            try:
                flight = solve_ballistic(target)
            except BallisticSolveError as exc:
                raise InputError(f"{loaded.path}: targets[{i}] ({target.id})", [str(exc)]) from None
            flights[target.id] = flight
            parts.append(ballistic_on_grid(target, flight, step_s, nodes))
        elif isinstance(target, GeneratedAircraft) and target.count:
            say(f"generating {target.count} aircraft")
            block_number = sum(isinstance(t, GeneratedAircraft) for t in scenario.targets[:i])
            rng = stream_rng(scenario.seed, "generate", block_number)
            parts.append(fly_generated(target, block_number, rng, step_s, nodes))
        elif isinstance(target, TrafficTarget):
            say(f"reading traffic {target.traffic}")
            parts.append(
                fly_traffic(target, loaded.base_dir, scenario.epoch.timestamp(), step_s, nodes)
            )
    trajectories = merge(parts, step_s, nodes)
    ids = trajectories.info.ids
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dup = sorted({i for i in ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]
        raise InputError(
            str(loaded.path),
            [
                f"target ids {dup[:5]} occur twice (a generated or recorded id clashes with a "
                "named target); rename the target or change the block's id_prefix"
            ],
        )
    return trajectories, flights
