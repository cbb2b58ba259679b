"""Every connection is TLS with a client certificate from the exercise's CA, or it is refused."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import pytest

from airpicture.deploy import Deployment, connect_options, init_exercise, start_servers
from airpicture.deploy.layout import MAX_PAYLOAD_BYTES
from airpicture.deploy.pki import Authority
from airpicture.errors import InputError
from tests.deploy.conftest import PACIFIC_SHIELD
from tests.deploy.helpers import connect


def _server_log(deployment: Deployment, line: str) -> str:
    """The servers' log once it holds `line` (the server may log just after hanging up)."""
    for _ in range(200):
        log = "".join(Path(s.log_file).read_text() for s in deployment.server_specs)
        if line in log:
            break
        time.sleep(0.025)
    return log


def _host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("tls://").rsplit(":", 1)
    return host, int(port)


def _refused(options: dict[str, Any]) -> BaseException:
    """Try to connect with `options`; return what refused it (fail if it connected)."""

    async def main() -> BaseException:
        try:
            once = {"allow_reconnect": False, "max_reconnect_attempts": 0, "connect_timeout": 3}
            nc = await nats.connect(**(options | once))
        except Exception as exc:
            return exc
        await nc.close()
        raise AssertionError("the server accepted the connection")

    return asyncio.run(main())


def test_a_plain_connection_is_told_tls_is_required(pacific_up: Deployment) -> None:
    host, port = _host_port(pacific_up.servers[0])
    with socket.create_connection((host, port), timeout=5) as s:
        info = s.recv(4096).decode()
        assert info.startswith("INFO ")
        assert '"tls_required":true' in info
        s.sendall(b'CONNECT {"verbose":false}\r\nPUB ap.node.USA.x 2\r\nhi\r\nPING\r\n')
        reply = b""
        while chunk := s.recv(4096):  # the server closes the connection
            reply += chunk
    # The server read the plain text as a TLS handshake, failed it and hung up without a PONG.
    assert reply == b""


def test_tls_without_a_client_certificate_is_refused(pacific_up: Deployment) -> None:
    options = connect_options(pacific_up, "USA", "node")
    options["tls"] = ssl.create_default_context(cafile=pacific_up.ca_file)  # no client cert
    assert isinstance(_refused(options), OSError)
    line = "TLS handshake error: tls: client didn't provide a certificate"
    assert line in _server_log(pacific_up, line)


def test_a_client_certificate_from_another_ca_is_refused(
    pacific_up: Deployment, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    rogue = Authority("rogue CA", now - timedelta(hours=1), now + timedelta(days=1))
    issued = rogue.issue("airpicture USA", tmp_path / "rogue.pem", tmp_path / "rogue-key.pem")
    options = connect_options(pacific_up, "USA", "node")
    context = ssl.create_default_context(cafile=pacific_up.ca_file)
    context.load_cert_chain(issued.cert_file, issued.key_file)
    options["tls"] = context
    assert isinstance(_refused(options), OSError)
    assert "x509: certificate signed by unknown authority" in _server_log(
        pacific_up, "x509: certificate signed by unknown authority"
    )


def test_an_expired_client_certificate_is_refused_by_the_server(tmp_path: Path) -> None:
    deployment = init_exercise(PACIFIC_SHIELD, tmp_path / "exercise", keep_ca_key=True)
    pki = Path(deployment.directory) / "pki"
    ca = Authority.load(pki / "ca.pem", pki / "ca-key.pem")
    now = datetime.now(UTC)
    expired = ca.issue(
        "airpicture USA",
        tmp_path / "old.pem",
        tmp_path / "old-key.pem",
        not_before=now - timedelta(days=10),
        not_after=now - timedelta(days=1),
    )
    with start_servers(deployment):
        options = connect_options(deployment, "USA", "node")
        context = ssl.create_default_context(cafile=deployment.ca_file)
        context.load_cert_chain(expired.cert_file, expired.key_file)
        options["tls"] = context
        assert isinstance(_refused(options), OSError)
    assert "x509: certificate has expired or is not yet valid" in _server_log(
        deployment, "x509: certificate has expired or is not yet valid"
    )


def test_an_expired_certificate_is_one_readable_error(tmp_path: Path) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=60)
    deployment = init_exercise(PACIFIC_SHIELD, tmp_path / "exercise", valid_days=30, now=long_ago)
    with pytest.raises(InputError) as refused:
        connect_options(deployment, "JPN", "node")
    message = str(refused.value)
    assert message.startswith(str(Path(deployment.directory) / "pki" / "ca.pem"))
    assert "expired on" in message and "airpicture exercise init" in message
    with pytest.raises(InputError, match="expired on"):
        start_servers(deployment)


def test_the_right_certificate_and_seed_connect(pacific_up: Deployment) -> None:
    async def main() -> None:
        nc, errors = await connect(pacific_up, "AUS")
        assert nc.is_connected
        # A region's track batch fits: the server takes 8 MiB, not NATS's default 1 MiB.
        assert nc.max_payload == MAX_PAYLOAD_BYTES
        await nc.close()
        assert errors.errors == []

    asyncio.run(main())
