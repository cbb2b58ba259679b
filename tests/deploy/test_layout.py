"""What `init_exercise` writes: addresses, certificates' names, the servers' configurations."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

from cryptography import x509

from airpicture.deploy import Deployment, init_exercise, nats_server_bin, start_servers
from tests.deploy.conftest import PACIFIC_SHIELD
from tests.deploy.helpers import connect


def test_servers_listening_everywhere_are_dialled_on_loopback(tmp_path: Path) -> None:
    d = init_exercise(PACIFIC_SHIELD, tmp_path / "ex", host="0.0.0.0", client_port=24222)
    assert d.servers == ["tls://127.0.0.1:24222"]
    assert d.tls_hostname == "127.0.0.1"
    assert d.server_specs[0].host == "0.0.0.0"


def test_the_server_certificate_names_every_address_given(tmp_path: Path) -> None:
    d = init_exercise(
        PACIFIC_SHIELD, tmp_path / "ex", host="10.1.2.3", extra_server_names=("nats.example.mil",)
    )
    cert = x509.load_pem_x509_certificate(
        (Path(d.directory) / "pki" / "servers" / "airpicture.pem").read_bytes()
    )
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "nats.example.mil" in names.get_values_for_type(x509.DNSName)
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} >= {
        "10.1.2.3",
        "127.0.0.1",
    }


def test_every_configuration_written_is_one_nats_server_accepts(tmp_path: Path) -> None:
    for multi in (False, True):
        d = init_exercise(PACIFIC_SHIELD, tmp_path / f"ex{multi}", servers_per_nation=multi)
        for config in d.server_config:
            checked = subprocess.run(
                [str(nats_server_bin()), "-t", "-c", config],
                capture_output=True,
                text=True,
                cwd=Path(config).parent,
            )
            assert checked.returncode == 0, checked.stderr + checked.stdout


def test_one_server_holds_every_account_with_its_links(tmp_path: Path) -> None:
    d = init_exercise(PACIFIC_SHIELD, tmp_path / "ex")
    text = Path(d.server_config[0]).read_text()
    config = json.loads(text[text.index("{") :])
    assert sorted(config["accounts"]) == ["AUS", "JPN", "USA"]
    assert config["tls"]["verify"] is True
    aus = config["accounts"]["AUS"]
    # Every pair that has a link has a heartbeat link too (network/liveness.py).
    assert aus["exports"] == [
        {"service": "ap.link.AUS.JPN.heartbeat", "accounts": ["JPN"]},
        {"service": "ap.link.AUS.JPN.tracks", "accounts": ["JPN"]},
        {"service": "ap.link.AUS.JPN.warnings", "accounts": ["JPN"]},
        {"service": "ap.link.AUS.USA.heartbeat", "accounts": ["USA"]},
        {"service": "ap.link.AUS.USA.tracks", "accounts": ["USA"]},
        {"service": "ap.link.AUS.USA.warnings", "accounts": ["USA"]},
    ]
    assert [i["service"]["subject"] for i in aus["imports"]] == [
        "ap.link.JPN.AUS.heartbeat",
        "ap.link.JPN.AUS.tracks",
        "ap.link.JPN.AUS.warnings",
        "ap.link.USA.AUS.heartbeat",
        "ap.link.USA.AUS.tracks",
        "ap.link.USA.AUS.warnings",
    ]


def test_a_moved_folder_still_runs(tmp_path: Path) -> None:
    """Nothing written names an absolute path: the folder moves (or a nation's part of it)."""
    first = init_exercise(PACIFIC_SHIELD, tmp_path / "here", servers_per_nation=True)
    shutil.move(first.directory, tmp_path / "there")
    moved = Deployment.load(tmp_path / "there")
    for path in (tmp_path / "there").rglob("*"):
        if path.is_file():
            assert str(tmp_path / "here") not in path.read_text(errors="replace"), path

    async def main() -> None:
        nc, _ = await connect(moved, "JPN")
        await nc.jetstream().add_stream(name="JPN_LINK", subjects=["ap.link.JPN.>"])
        await nc.close()

    with start_servers(moved):
        asyncio.run(main())
    assert list((tmp_path / "there" / "nats" / "jetstream" / "ap-JPN").glob("**/JPN_LINK"))


def test_each_server_has_its_own_key(tmp_path: Path) -> None:
    d = init_exercise(PACIFIC_SHIELD, tmp_path / "ex", servers_per_nation=True)
    keys = sorted(p.name for p in (Path(d.directory) / "pki" / "servers").glob("*-key.pem"))
    assert keys == ["ap-AUS-key.pem", "ap-JPN-key.pem", "ap-USA-key.pem"]
    for spec in d.server_specs[1:]:
        text = Path(spec.config).read_text()
        config = json.loads(text[text.index("{") :])
        [remote] = config["leafnodes"]["remotes"]
        assert remote["tls"]["key_file"] == config["tls"]["key_file"]
        assert remote["tls"]["key_file"] == f"../pki/servers/{spec.name}-key.pem"
        assert list(config["accounts"]) == spec.jetstream_accounts
