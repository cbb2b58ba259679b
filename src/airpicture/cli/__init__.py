"""The `airpicture` command: one sub-command per job, each in its own module."""

from __future__ import annotations

import argparse
import ctypes
import importlib
import importlib.util
import sys
from collections.abc import Sequence

from rich.console import Console

from airpicture import __version__
from airpicture.errors import InputError
from airpicture.tables import TableError

#: Sub-command modules, in the order `--help` lists them. Each defines
#: `register(subparsers)`, which adds its parser and sets `func(args) -> int`.
SUBCOMMANDS = (
    "simulate", "track", "evaluate", "run", "compare", "serve", "users", "node", "exercise",
    "ingest", "export", "feed", "replay",
)  # fmt: skip

EXIT_INPUT_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="airpicture",
        description="Allied air picture: simulate sensors, track, fuse, warn, evaluate.",
    )
    parser.add_argument("--version", action="version", version=f"airpicture {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        if importlib.util.find_spec(f"airpicture.cli.{name}") is None:
            continue  # a command still being built
        module = importlib.import_module(f"airpicture.cli.{name}")
        module.register(subparsers)
    return parser


def keep_freed_memory() -> None:
    """Ask glibc to keep freed memory for reuse instead of returning it to the kernel.

    The tracker frees and reallocates its batch temporaries every window; with
    glibc's defaults they are unmapped and faulted back in each time, about a
    sixth of the tracker's CPU time (docs/tracking.md, "Speed"). The same as
    starting with MALLOC_MMAP_THRESHOLD_=32 MiB and MALLOC_TRIM_THRESHOLD_=256 MiB.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc: nothing to tune
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 32 * 2**20)
    libc.mallopt(m_trim_threshold, 256 * 2**20)


def main(argv: Sequence[str] | None = None) -> int:
    keep_freed_memory()
    parser = build_parser()
    args = parser.parse_args(argv)
    err = Console(stderr=True)
    try:
        code: int = args.func(args)
    except (InputError, TableError) as exc:
        err.print("[bold red]error:[/]", end=" ")
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
