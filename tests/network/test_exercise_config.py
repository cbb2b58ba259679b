"""`airpicture node CONFIG`: a bad configuration is one readable error and exit status 2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from airpicture.cli import main
from airpicture.deploy import init_exercise
from airpicture.deploy.server import free_port

from .netscen import network_scenario


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("deployment")
    data = network_scenario().scenario.model_dump(mode="json", exclude_none=True)
    (root / "scenario.yaml").write_text(yaml.safe_dump(data))
    init_exercise(root / "scenario.yaml", root)
    return root


def write(folder: Path, **changes: Any) -> Path:
    config: dict[str, Any] = {
        "scenario": str(folder / "scenario.yaml"),
        "nation": "JPN",
        "deployment": str(folder),
        "clock": {"epoch_unix_s": 0.0, "speed": 10.0},
        "web": None,
        "out": str(folder / "out"),
    }
    for key, value in changes.items():
        if value is None and key in config and key != "web":
            del config[key]
        else:
            config[key] = value
    path = folder / f"node-{len(list(folder.glob('node-*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def refused(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["node", str(path)]) == 2
    err = capsys.readouterr().err
    assert "error:" in err
    return " ".join(err.split())


def test_an_unknown_nation_is_named(deployment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "'RED' is not a nation of network-test" in refused(
        write(deployment, nation="RED"), capsys
    )


def test_an_unknown_sensor_is_named(deployment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(write(deployment, sensors=["JPN-R1", "USA-R1"]), capsys)
    assert "'USA-R1' is not a sensor of JPN" in err


def test_an_unknown_key_is_refused(deployment: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "speeed" in refused(write(deployment, speeed=3), capsys)


def test_a_partner_limit_within_one_heartbeat_is_refused(
    deployment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The scenario's picture interval (5 s) is the default heartbeat interval.
    err = refused(write(deployment, liveness={"partner_down_after_s": 4}), capsys)
    assert "liveness: partner_down_after_s (4 s) must exceed the heartbeat interval (5 s)" in err
    err = refused(write(deployment, liveness={"heartbeat_interval_s": -1}), capsys)
    assert "heartbeat_interval_s" in err


def test_a_missing_seed_file_is_named(
    deployment: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = deployment / "credentials" / "JPN" / "node.nk"
    kept = seed.read_bytes()
    seed.unlink()
    try:
        assert "node.nk" in refused(write(deployment), capsys)
    finally:
        seed.write_bytes(kept)
        seed.chmod(0o600)


def test_another_nations_seed_is_refused(
    deployment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = deployment / "credentials" / "JPN" / "node.nk"
    kept = seed.read_bytes()
    seed.write_bytes((deployment / "credentials" / "USA" / "node.nk").read_bytes())
    try:
        refused(write(deployment), capsys)
    finally:
        seed.write_bytes(kept)


def test_an_expired_certificate_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = network_scenario().scenario.model_dump(mode="json", exclude_none=True)
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(data))
    init_exercise(
        tmp_path / "scenario.yaml",
        tmp_path,
        valid_days=1.0,
        now=datetime.now(UTC) - timedelta(days=3),
    )
    assert "expired" in refused(write(tmp_path), capsys)


def test_an_unreachable_server_is_retried_then_named(
    deployment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    path = write(deployment, deployment=None, nats={"servers": [url]}, connect_give_up_s=1.5)
    assert f"cannot reach the NATS server at {url}" in refused(path, capsys)
