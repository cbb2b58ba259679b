"""Sign-in limits that cannot lock an operator out, hashing served in priority, Host and Origin
checks, per-nation socket shares, removed accounts, the audit log — each as an attacker tries it.

The limits are unit-tested on a virtual clock; the rest runs against a real uvicorn on a free
port, with the attacker and the operator on different loopback addresses (127.0.0.2 and
127.0.0.1), as they would be on a network.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from airpicture.cli import main as airpicture
from airpicture.deploy.pki import Authority, validity
from airpicture.web import audit
from airpicture.web.app import COOKIE, ServerSettings, create_app
from airpicture.web.auth import Authenticator
from airpicture.web.guard import (
    DEVICE_COOKIE,
    PRIORITY_CLEAN,
    PRIORITY_FAILING,
    PRIORITY_KNOWN,
    GuardSettings,
    HashingSlots,
    SignInGuard,
    host_name,
)
from airpicture.web.synthetic import SyntheticSource
from airpicture.web.views import view_rules
from tests.web.helpers import PASSWORDS, accounts

OPERATOR, ATTACKER, NEWCOMER = "127.0.0.1", "127.0.0.2", "127.0.0.3"
NO_DELAY = GuardSettings(refusal_delay_s=0.0)


# ---------------------------------------------------------------------- the limits, unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _guess(guard: SignInGuard, name: str, address: str, device: str | None = None) -> str:
    """One wrong password as the app handles it: 'refused' (no hash) or 'failed' (hashed)."""
    if guard.check(name, address, device) is not None:
        return "refused"
    guard.failed(name, address, device)
    return "failed"


def test_an_attackers_guesses_lock_the_account_only_for_clients_it_does_not_know() -> None:
    guard = SignInGuard(GuardSettings(account_failures=5, address_failures=10), Clock())
    device = guard.succeeded("jpn", OPERATOR, None)  # the operator signed in yesterday
    results = [_guess(guard, "jpn", ATTACKER) for _ in range(8)]
    assert results == ["failed"] * 5 + ["refused"] * 3
    refusal = guard.check("jpn", NEWCOMER, None)
    assert refusal is not None and refusal.reason == "account" and refusal.status == 429
    # The operator's machine (by address, or by its device cookie from anywhere) still gets in.
    assert guard.check("jpn", OPERATOR, None) is None
    assert guard.check("jpn", NEWCOMER, device) is None
    # ... and its right password lifts the lock for everyone.
    guard.succeeded("jpn", OPERATOR, device)
    assert guard.check("jpn", NEWCOMER, None) is None


def test_a_known_clients_typos_do_not_lock_its_account() -> None:
    guard = SignInGuard(GuardSettings(account_failures=5, device_failures=5), Clock())
    device = guard.succeeded("usa", OPERATOR, None)
    for _ in range(4):
        assert _guess(guard, "usa", OPERATOR, device) == "failed"
    assert guard.check("usa", NEWCOMER, None) is None
    # Its own limit still holds: a stolen device cookie buys five guesses, not more.
    assert _guess(guard, "usa", OPERATOR, device) == "failed"
    refusal = guard.check("usa", OPERATOR, device)
    assert refusal is not None and refusal.reason == "device"


def test_one_address_gets_a_bounded_number_of_guesses_over_all_accounts() -> None:
    clock = Clock()
    guard = SignInGuard(GuardSettings(address_failures=10, window_s=300.0), clock)
    names = [f"name{i}" for i in range(30)]
    results = [_guess(guard, name, ATTACKER) for name in names]
    assert results.count("failed") == 10
    refusal = guard.check("usa", ATTACKER, None)
    assert refusal is not None and refusal.reason == "address"
    assert 0 < refusal.retry_after_s <= 300.0
    assert guard.check("usa", OPERATOR, None) is None  # another address is not affected
    clock.now += 300.0
    assert guard.check("usa", ATTACKER, None) is None  # failures age out


def test_failure_logs_stay_bounded_under_a_flood_of_names() -> None:
    guard = SignInGuard(GuardSettings(), Clock())
    guard.accounts.max_keys = 1000
    for i in range(5000):
        guard.failed(f"random-{i}", f"10.0.{i // 256}.{i % 256}", None)
    assert len(guard.accounts) == 1000


def test_waiting_sign_ins_are_served_known_clients_first() -> None:
    async def scenario() -> list[str]:
        slots = HashingSlots(1, max_waiting=3)
        served: list[str] = []
        assert await slots.acquire(PRIORITY_FAILING)  # one hash running

        async def wait(label: str, priority: int) -> None:
            assert await slots.acquire(priority)
            served.append(label)
            slots.release()

        tasks = [
            asyncio.create_task(wait("bogus", PRIORITY_FAILING)),
            asyncio.create_task(wait("new", PRIORITY_CLEAN)),
            asyncio.create_task(wait("operator", PRIORITY_KNOWN)),
        ]
        await asyncio.sleep(0)
        assert not await slots.acquire(PRIORITY_KNOWN)  # a fourth waiter is refused
        slots.release()
        await asyncio.gather(*tasks)
        return served

    assert asyncio.run(scenario()) == ["operator", "new", "bogus"]


def test_a_known_client_is_checked_while_an_attackers_hash_holds_the_shared_slot() -> None:
    async def scenario() -> tuple[Any, ...]:
        guard = SignInGuard(GuardSettings(hashing_slots=1, known_slots=1), Clock())
        guard.succeeded("jpn", OPERATOR, None)
        release = threading.Event()
        attackers = [
            asyncio.create_task(guard.hashing("usa", ATTACKER, None, lambda: release.wait(30)))
            for _ in range(2)
        ]
        while guard.slots.free or not guard.slots.waiting:
            await asyncio.sleep(0)
        # Both of the attacker's sign-ins are in flight: a third is refused before hashing.
        third = guard.check("usa", ATTACKER, None)
        operator = await guard.hashing("jpn", OPERATOR, None, lambda: "checked")
        release.set()
        await asyncio.gather(*attackers)
        return operator, third.reason if third else None

    assert asyncio.run(scenario()) == ((None, "checked"), "in_flight")


def test_refusals_are_held_a_while_but_never_too_many_at_once() -> None:
    async def scenario() -> list[float]:
        guard = SignInGuard(GuardSettings(refusal_delay_s=0.2, max_delayed=2), Clock())
        loop = asyncio.get_running_loop()

        async def refused() -> float:
            t0 = loop.time()
            await guard.delay_refusal()
            return loop.time() - t0

        return list(await asyncio.gather(*(refused() for _ in range(4))))

    held = asyncio.run(scenario())
    assert sum(t >= 0.2 for t in held) == 2  # two held; the others answered at once
    assert sum(t < 0.2 for t in held) == 2


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("localhost:8000", "localhost"),
        ("LOCALHOST", "localhost"),
        ("[::1]:8000", "::1"),
        ("cop.exercise.example", "cop.exercise.example"),
        ("evil.example:80", "evil.example"),
        ("", None),
        (None, None),
        ("a:b:c", None),
        ("host:99999999", None),
    ],
)
def test_host_header_names(header: str | None, name: str | None) -> None:
    assert host_name(header) == name


# ---------------------------------------------------------------------- a real server


def _source(**kwargs: Any) -> SyntheticSource:
    return SyntheticSource(20, interval_s=0.5, duration_s=600.0, mode="live", **kwargs)


def _app(settings: ServerSettings | None = None, auth: Authenticator | None = None) -> FastAPI:
    source = _source()
    auth = auth or Authenticator(accounts(), frozenset(view_rules(source.info)))
    return create_app(source, auth, settings or ServerSettings(guard=NO_DELAY))


@contextmanager
def serving(app: FastAPI, **config: Any) -> Iterator[int]:
    """uvicorn on 127.0.0.1 and a free port, forwarded headers not believed; yields the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app, log_level="warning", ws="websockets-sansio", proxy_headers=False, **config
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _client(port: int, address: str, scheme: str = "http", **kwargs: Any) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address, **kwargs)
    return httpx.Client(base_url=f"{scheme}://127.0.0.1:{port}", transport=transport)


def _login(client: httpx.Client, user: str, password: str | None = None) -> httpx.Response:
    return client.post("/api/login", json={"user": user, "password": password or PASSWORDS[user]})


def test_an_attacker_elsewhere_cannot_lock_the_operator_out_and_the_right_password_lifts_it() -> (
    None
):
    app = _app()
    with (
        serving(app) as port,
        _client(port, OPERATOR) as operator,
        _client(port, ATTACKER) as attacker,
        _client(port, NEWCOMER) as newcomer,
    ):
        assert _login(operator, "jpn").status_code == 200
        operator.post("/api/logout")
        codes = [_login(attacker, "jpn", f"guess-{i}").status_code for i in range(12)]
        assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
        locked = _login(newcomer, "jpn")
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
        # The operator's browser, known to the account, signs in; the lock is lifted.
        assert _login(operator, "jpn").status_code == 200
        assert _login(newcomer, "jpn").status_code == 200
        # The attacker's own address stays refused for everything (10 failures).
        codes = [_login(attacker, "usa", f"guess-{i}").status_code for i in range(8)]
        assert codes[-1] == 429 and _login(attacker, "usa").status_code == 429


def test_a_device_cookie_lets_the_operator_in_from_a_new_address_while_locked() -> None:
    app = _app()
    with serving(app) as port, _client(port, OPERATOR) as home, _client(port, ATTACKER) as bad:
        assert _login(home, "aus").status_code == 200
        device = home.cookies[DEVICE_COOKIE]
        for i in range(6):
            _login(bad, "aus", f"guess-{i}")
        with _client(port, NEWCOMER) as travelling:
            assert _login(travelling, "aus").status_code == 429
            travelling.cookies.set(DEVICE_COOKIE, device)
            assert _login(travelling, "aus").status_code == 200


def test_one_nation_cannot_crowd_another_out_of_sockets() -> None:
    # 16 sockets in all, three nations: each has 5; AUS tries 12 from three sessions.
    app = _app(ServerSettings(max_sockets=16, guard=NO_DELAY))
    with serving(app) as port, _client(port, OPERATOR) as http:
        aus_tokens = []
        for _ in range(3):
            aus_tokens.append(_login(http, "aus").cookies[COOKIE])
            http.cookies.clear()
        jpn_token = _login(http, "jpn").cookies[COOKIE]
        url = f"ws://127.0.0.1:{port}/ws"
        opened, refused = 0, 0
        with ExitStack() as sockets:
            for k in range(12):
                cookie = {"cookie": f"{COOKIE}={aus_tokens[k % 3]}"}
                try:
                    sockets.enter_context(connect(url, additional_headers=cookie))
                except InvalidStatus:
                    refused += 1
                else:
                    opened += 1
            assert (opened, refused) == (5, 7)
            with connect(url, additional_headers={"cookie": f"{COOKIE}={jpn_token}"}) as jpn:
                hello = msgspec.json.decode(jpn.recv(timeout=10))
                assert hello["type"] == "hello" and hello["viewer"] == "JPN"


def test_a_wrong_host_is_refused_everywhere() -> None:
    settings = ServerSettings(allowed_hosts=frozenset({"testserver", "cop.example"}))
    with TestClient(_app(settings)) as client:
        assert client.get("/").status_code == 200
        assert client.get("/", headers={"host": "cop.example:8443"}).status_code == 200
        for host in ["rebound.evil.example", "127.0.0.1", "", "cop.example.evil"]:
            r = client.get("/", headers={"host": host})
            assert r.status_code in (400, 421), host
            r = client.post(
                "/api/login",
                json={"user": "usa", "password": PASSWORDS["usa"]},
                headers={"host": host},
            )
            assert r.status_code in (400, 421) and COOKIE not in r.cookies, host
    # A rebinding page reaching the socket with its own name gets no handshake.
    app = _app(ServerSettings(allowed_hosts=frozenset({"127.0.0.1"}), guard=NO_DELAY))
    with serving(app) as port, _client(port, OPERATOR) as http:
        token = _login(http, "usa").cookies[COOKIE]
        headers = {"cookie": f"{COOKIE}={token}", "host": f"rebound.evil.example:{port}"}
        with pytest.raises(InvalidStatus):
            connect(f"ws://127.0.0.1:{port}/ws", additional_headers=headers)
        with connect(
            f"ws://127.0.0.1:{port}/ws", additional_headers={"cookie": f"{COOKIE}={token}"}
        ) as ws:
            assert msgspec.json.decode(ws.recv(timeout=10))["type"] == "hello"


def test_sign_out_from_another_site_is_refused() -> None:
    with TestClient(_app()) as client:
        assert _login(client, "usa").status_code == 200  # type: ignore[arg-type]
        cookie = {"cookie": f"{COOKIE}={client.cookies[COOKIE]}"}
        r = client.post("/api/logout", headers={**cookie, "origin": "http://evil.example"})
        assert r.status_code == 403
        assert client.get("/api/session", headers=cookie).status_code == 200
        r = client.post("/api/logout", headers={**cookie, "origin": "http://testserver"})
        assert r.status_code == 204
        assert client.get("/api/session", headers=cookie).status_code == 401


def test_removing_an_account_ends_its_live_sessions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = tmp_path / "users.json"
    for name, nation in [("watch-jpn", "JPN"), ("watch-usa", "USA")]:
        monkeypatch.setattr("sys.stdin", io.StringIO("long-password-1\n"))
        airpicture(["users", "add", str(users), name, "--nation", nation, "--password-stdin"])
    source = _source()
    auth = Authenticator.from_file(users, frozenset(view_rules(source.info)))
    app = create_app(source, auth, ServerSettings(users_check_s=0.05, guard=NO_DELAY))
    with serving(app) as port, _client(port, OPERATOR) as http:
        jpn = _login(http, "watch-jpn", "long-password-1").cookies[COOKIE]
        http.cookies.clear()
        usa = _login(http, "watch-usa", "long-password-1").cookies[COOKIE]
        http.cookies.clear()
        url = f"ws://127.0.0.1:{port}/ws"
        with connect(url, additional_headers={"cookie": f"{COOKIE}={jpn}"}) as ws:
            assert msgspec.json.decode(ws.recv(timeout=10))["type"] == "hello"
            assert airpicture(["users", "remove", str(users), "watch-jpn"]) == 0
            messages = []
            with pytest.raises(Exception, match="4001"):
                while True:
                    messages.append(msgspec.json.decode(ws.recv(timeout=10)))
            assert messages[-1] == {
                "type": "error",
                "code": "signed_out",
                "message": "the session has ended",
            }
        for token, status in [(jpn, 401), (usa, 200)]:
            r = http.get("/api/session", headers={"cookie": f"{COOKIE}={token}"})
            assert r.status_code == status
        assert _login(http, "watch-jpn", "long-password-1").status_code == 401


def test_the_audit_log_names_who_signed_in_failed_and_left_and_from_where(
    tmp_path: Path,
) -> None:
    path = audit.configure(tmp_path / "audit" / "audit.jsonl", max_bytes=2000, backups=2)
    try:
        app = _app()
        with serving(app) as port, _client(port, OPERATOR) as ops, _client(port, ATTACKER) as bad:
            assert _login(bad, "usa", "not-the-password").status_code == 401
            assert _login(ops, "usa").status_code == 200
            assert ops.post("/api/logout").status_code == 204
            audit.record("acknowledge", user="usa", nation="USA", warning_id="W1")
        events = [json.loads(line) for line in path.read_text().splitlines()]
        assert [(e["event"], e.get("client")) for e in events] == [
            ("sign_in_refused", ATTACKER),
            ("sign_in", OPERATOR),
            ("sign_out", OPERATOR),
            ("acknowledge", None),
        ]
        assert events[0]["user"] == "usa" and events[0]["reason"] == "password"
        assert datetime.fromisoformat(events[1]["time_utc"]).tzinfo == UTC
        assert path.stat().st_mode & 0o077 == 0
        for _ in range(100):  # rotated: at most three files of about 2 kB
            audit.record("sign_in_refused", user="x" * 500, client=ATTACKER, reason="password")
        files = sorted(p.name for p in path.parent.iterdir())
        assert files == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"]
        assert all(p.stat().st_size < 2000 for p in path.parent.iterdir())
    finally:
        audit.close()
    assert not any(
        isinstance(h, logging.handlers.RotatingFileHandler)
        for h in logging.getLogger(audit.AUDIT_LOGGER).handlers
    )


def test_over_tls_cookies_are_secure_and_hsts_is_sent(tmp_path: Path) -> None:
    ca = Authority("airpicture test CA", *validity(1.0))
    ca_file = ca.write(tmp_path / "ca.pem").cert_file
    server = ca.issue(
        "airpicture web",
        tmp_path / "web.pem",
        tmp_path / "web-key.pem",
        server_names=("127.0.0.1", "localhost"),
    )
    settings = ServerSettings(tls=True, allowed_hosts=frozenset({"127.0.0.1"}), guard=NO_DELAY)
    app = _app(settings)
    tls = {"ssl_certfile": str(server.cert_file), "ssl_keyfile": str(server.key_file)}
    with (
        serving(app, **tls) as port,
        _client(port, OPERATOR, "https", verify=ssl.create_default_context(cafile=ca_file)) as http,
    ):
        r = _login(http, "usa")
        assert r.status_code == 200
        assert r.headers["strict-transport-security"].startswith("max-age=")
        cookies = r.headers.get_list("set-cookie")
        assert len(cookies) == 2 and all("Secure" in c and "HttpOnly" in c for c in cookies)
        with pytest.raises(httpx.ConnectError):
            _client(port, OPERATOR, "https").get("/")  # a client without the CA refuses it
