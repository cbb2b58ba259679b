"""Bad input found trying the CLI as a new user would: each is one clear message and exit 2."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from airpicture.cli import main
from tests.study.scenario_file import write_scenario

BINARY = bytes(range(256)) * 4
LATIN1 = "name: caf\u00e9\n".encode("latin-1")


def _fails(argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2, argv
    err = capsys.readouterr().err
    assert expected in err, (argv, err)
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("content", "expected"),
    [(BINARY, "is a binary file"), (LATIN1, "not UTF-8 text (byte 0xe9 at offset 9)")],
)
def test_a_binary_or_non_utf8_scenario_is_named(
    content: bytes, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_bytes(content)
    for command in (["simulate", str(scenario)], ["compare", str(scenario)]):
        err = _fails([*command, "--out", str(tmp_path / "o")], expected, capsys)
        assert "bad.yaml" in err


def test_a_folder_given_for_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "dir.yaml"
    folder.mkdir()
    _fails(["simulate", str(folder), "--out", str(tmp_path / "o")], "is a folder", capsys)
    _fails(["users", "list", str(folder)], "is a folder, not a users file", capsys)
    scenario = write_scenario(tmp_path / "s.yaml")
    _fails(["track", str(tmp_path), "--scenario", str(scenario), "--out", str(tmp_path / "o")],
           "is a folder; give the reports file itself", capsys)  # fmt: skip


@pytest.mark.parametrize(
    ("content", "expected"), [(BINARY, "is a binary file"), (LATIN1, "not UTF-8 text")]
)
def test_a_binary_or_non_utf8_users_file_is_named(
    content: bytes,
    expected: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    users = tmp_path / "users.json"
    users.write_bytes(content)
    _fails(["users", "list", str(users)], expected, capsys)
    monkeypatch.setattr("sys.stdin", io.StringIO("long-password-1\n"))
    _fails(["users", "add", str(users), "ops", "--nation", "JPN", "--password-stdin"],
           expected, capsys)  # fmt: skip


def test_users_add_for_a_nation_of_no_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    users = tmp_path / "users.json"
    monkeypatch.setattr("sys.stdin", io.StringIO("long-password-1\n"))
    err = _fails(["users", "add", str(users), "ops", "--nation", "XYZ", "--password-stdin"],
                 "XYZ is a nation of no scenario", capsys)  # fmt: skip
    assert "JPN" in err and not users.exists()
    scenario = write_scenario(tmp_path / "s.yaml")  # AUS, JPN, USA
    _fails(["users", "add", str(users), "ops", "--nation", "GBR", "--password-stdin",
            "--scenario", str(scenario)], "GBR is a nation of no scenario", capsys)  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO("long-password-1\n"))
    assert main(["users", "add", str(users), "ops", "--nation", "aus", "--password-stdin",
                 "--scenario", str(scenario)]) == 0  # fmt: skip


def test_out_is_checked_before_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = write_scenario(tmp_path / "s.yaml")
    taken = tmp_path / "taken"
    taken.write_text("a file", encoding="utf-8")
    assert main(["simulate", str(scenario), "--out", str(tmp_path / "sim")]) == 0
    capsys.readouterr()
    plots = str(tmp_path / "sim" / "plots.parquet")
    for out, expected in ((taken, "is a file, not a folder"),
                          (Path("/proc/airpicture-no"), "cannot write there")):  # fmt: skip
        _fails(["track", plots, "--scenario", str(scenario), "--out", str(out)], expected, capsys)
        _fails(["compare", str(scenario), "--out", str(out)], expected, capsys)


def test_track_with_a_scenario_that_has_none_of_the_reports_sensors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write_scenario(tmp_path / "s.yaml")
    assert main(["simulate", str(scenario), "--out", str(tmp_path / "sim")]) == 0
    other = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    for sensor in other["sensors"]:
        sensor["id"] = "OTHER-" + sensor["id"]
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(other), encoding="utf-8")
    capsys.readouterr()
    err = _fails(["track", str(tmp_path / "sim" / "plots.parquet"), "--scenario",
                  str(tmp_path / "other.yaml"), "--out", str(tmp_path / "t")],
                 "reports comes from a sensor of the scenario", capsys)  # fmt: skip
    assert "USA-R1" in err and "OTHER-USA-R1" in err
    assert not (tmp_path / "t" / "picture.parquet").exists()
