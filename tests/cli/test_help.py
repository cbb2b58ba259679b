"""Every command's --help prints (argparse formats help texts with %: a bare "95 %"
in one once made `airpicture --help` raise)."""

from __future__ import annotations

import argparse

import pytest

from airpicture.cli import build_parser


def _commands() -> list[str]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(sub.choices)


@pytest.mark.parametrize("argv", [["--help"], *([c, "--help"] for c in _commands())])
def test_help_prints(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(argv)
    assert done.value.code == 0
    assert "usage: airpicture" in capsys.readouterr().out
