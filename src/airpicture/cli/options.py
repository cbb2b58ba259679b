"""Command-line options shared by the commands that load a scenario."""

from __future__ import annotations

import argparse

from airpicture.scenario import ScenarioOverrides


def add_scenario_overrides(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("scenario overrides (the file is left unchanged)")
    group.add_argument("--seed", type=int, help="random seed (noise, clutter, generated traffic)")
    group.add_argument("--duration-s", type=float, metavar="S", help="scenario duration, seconds")
    group.add_argument(
        "--count", type=int, metavar="N", help="aircraft count of every `generate:` block"
    )


def scenario_overrides(args: argparse.Namespace) -> ScenarioOverrides:
    return ScenarioOverrides(seed=args.seed, duration_s=args.duration_s, count=args.count)
