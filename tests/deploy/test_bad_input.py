"""Bad input gives one readable error naming the file and the fix (never a traceback)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import stat
from pathlib import Path

import nats
import pytest

from airpicture.deploy import Deployment, connect_options, init_exercise, start_servers
from airpicture.deploy.credentials import new_user_seed
from airpicture.errors import InputError
from tests.deploy.conftest import PACIFIC_SHIELD


def test_an_unknown_nation_names_the_deployment_and_its_nations(pacific: Deployment) -> None:
    with pytest.raises(InputError) as refused:
        connect_options(pacific, "FRA", "node")
    assert str(refused.value) == (
        f"{pacific.file}: unknown nation 'FRA': this deployment has AUS, JPN, USA"
    )


def test_a_missing_seed_file_names_it_and_the_fix(pacific: Deployment) -> None:
    Path(pacific.nations["USA"].node_seed).unlink()
    with pytest.raises(InputError) as refused:
        connect_options(pacific, "USA", "node")
    assert str(refused.value) == (
        f"{pacific.nations['USA'].node_seed}: NKey seed file is missing: use the file "
        "`airpicture exercise init` wrote, or run it again"
    )


def test_another_users_seed_is_refused_before_the_server_is_asked(pacific: Deployment) -> None:
    usa, jpn = pacific.nations["USA"], pacific.nations["JPN"]
    shutil.copy(jpn.node_seed, usa.node_seed)
    with pytest.raises(InputError) as refused:
        connect_options(pacific, "USA", "node")
    message = str(refused.value)
    assert message.startswith(f"{usa.node_seed}: this seed belongs to user {jpn.node_public_key}")
    assert f"not to the deployment's {usa.node_public_key}" in message


def test_a_file_that_is_not_a_seed_is_refused(pacific: Deployment) -> None:
    Path(pacific.nations["AUS"].feed_seed).write_text("not a seed\n")
    with pytest.raises(InputError, match="not an NKey user seed"):
        connect_options(pacific, "AUS", "feed")


def test_an_unregistered_seed_is_refused_by_the_server(
    pacific_up: Deployment, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger.nk"
    stranger.write_bytes(new_user_seed())
    options = connect_options(pacific_up, "USA", "node") | {
        "nkeys_seed": str(stranger),
        "allow_reconnect": False,
        "max_reconnect_attempts": 0,
    }
    errors: list[str] = []

    async def record(exc: Exception) -> None:
        errors.append(str(exc))

    async def main() -> None:
        with pytest.raises(Exception, match=r"(?i)authorization violation"):
            await nats.connect(**options, error_cb=record)

    asyncio.run(main())


def test_a_missing_deployment_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(InputError) as refused:
        Deployment.load(tmp_path)
    assert "run `airpicture exercise init SCENARIO --out DIR`" in str(refused.value)


def test_a_missing_scenario_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such scenario file"):
        init_exercise(tmp_path / "nope.yaml", tmp_path / "out")


def test_secrets_are_readable_by_their_owner_only(pacific: Deployment) -> None:
    root = Path(pacific.directory)
    secrets = [
        *root.glob("credentials/*/*.nk"),
        *root.glob("pki/**/*key.pem"),
        *root.glob("nats/*.conf"),
    ]
    assert len(secrets) == 3 * 2 + 3 + 1 + 1
    for path in secrets:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_the_deployment_reads_back_and_moves_with_its_folder(
    pacific: Deployment, tmp_path: Path
) -> None:
    assert Deployment.load(pacific.directory) == pacific
    moved = tmp_path / "moved"
    shutil.copytree(pacific.directory, moved)
    again = Deployment.load(moved)
    assert again.nations["JPN"].node_seed == str(moved / "credentials" / "JPN" / "node.nk")
    assert Path(again.nations["JPN"].client_cert).is_file()


def test_exercise_init_prints_what_it_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from airpicture.cli.exercise_init import init_command

    assert init_command(PACIFIC_SHIELD, tmp_path / "ex") == 0
    printed = capsys.readouterr().out
    assert "deployment written" in printed and "links the release rules allow" in printed
    assert (tmp_path / "ex" / "deployment.json").is_file()


def test_a_port_already_taken_names_the_servers_log_and_its_reason(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        deployment = init_exercise(PACIFIC_SHIELD, tmp_path / "ex", client_port=port)
        with pytest.raises(InputError) as refused:
            start_servers(deployment)
    message = str(refused.value)
    assert message.startswith(f"{deployment.server_specs[0].log_file}: nats-server airpicture")
    assert "address already in use" in message
