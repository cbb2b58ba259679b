"""What keeps the page usable under attack: sign-in limits that cannot lock an operator out,
bounded password hashing, and the Host and Origin checks.

**Sign-in limits** (docs/web.md, "Security"). A password guess costs the server a
scrypt hash (~40 ms of CPU), so the limits are checked *before* hashing, and a
refused attempt costs no hash at all:

- per client address: `address_failures` failed sign-ins within `window_s`, then
  that address is refused (HTTP 429, `Retry-After`) until the oldest ages out;
- per account: `account_failures` failures within `window_s` lock the account —
  but only for clients it does not know. A client is *known* to an account once
  it has signed into it: by its device cookie (issued at a successful sign-in,
  random, kept server-side) or by its address. A known client is never locked
  out by the account's lock, and its right password lifts the lock. An attacker
  who guesses from anywhere else therefore cannot keep a real operator out, and
  gets `account_failures` guesses per window however many addresses they use;
- a known device has its own limit (`device_failures` per window), so a stolen
  device cookie does not buy unlimited guesses;
- `in_flight_per_client` sign-ins in flight per client (address, or device):
  another one while those are being hashed is refused at once.

Rejected: slower responses for everyone after failures (the attacker sets the
operator's pace, and held connections cost sockets), and a hard per-account lock
(five wrong passwords every 30 s kept any account locked forever).

**Hashing** runs in threads, off the event loop, at most `hashing_slots` at a
time (default: half the CPUs, at least one) plus `known_slots` kept for clients
known to the account they sign into; sign-ins waiting for a slot are served
known clients first, then clean addresses, then addresses with failures
(`HashingSlots`), and at most `max_waiting` wait (503 beyond). A flood of bogus
sign-ins therefore neither holds the slot a genuine one needs nor waits ahead
of it.

Refusals by a limit are answered after `refusal_delay_s` (an `asyncio.sleep`, no
CPU; at most `max_delayed` at once, beyond that at once): a client that floods
one request after another is slowed to one attempt per delay per connection.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import os
import secrets
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

DEVICE_COOKIE: Final = "airpicture_device"
DEVICE_COOKIE_MAX_AGE_S: Final = 30 * 24 * 3600
#: Entries kept per failure log before the least recently failed are forgotten.
MAX_TRACKED: Final = 100_000
#: Known addresses and devices remembered per account (the oldest are forgotten).
MAX_KNOWN_PER_ACCOUNT: Final = 64

#: Priorities for a hashing slot (lower is served first).
PRIORITY_KNOWN: Final = 0
PRIORITY_CLEAN: Final = 1
PRIORITY_FAILING: Final = 2


@dataclass(frozen=True)
class GuardSettings:
    address_failures: int = 10
    account_failures: int = 5
    device_failures: int = 5
    #: Failures older than this no longer count.
    window_s: float = 300.0
    #: Password hashes computed at once (default: half the CPUs, at least one) ...
    hashing_slots: int = field(default_factory=lambda: max(1, (os.cpu_count() or 2) // 2))
    #: ... and more only for clients known to the account they sign into.
    known_slots: int = 1
    #: Sign-ins one client (address, or known device) may have being checked at once.
    in_flight_per_client: int = 2
    #: Sign-ins waiting for a hashing slot; more are refused (503).
    max_waiting: int = 64
    #: A sign-in refused by a limit is answered after this long ...
    refusal_delay_s: float = 0.5
    #: ... unless this many refusals are already waiting (then at once).
    max_delayed: int = 256


@dataclass(frozen=True)
class Refusal:
    """A sign-in refused before its password was looked at."""

    status: int
    message: str
    #: The limit that refused it (audit log): address, account, device, in_flight, busy.
    reason: str
    retry_after_s: float


class FailureLog:
    """Times of recent failures per key, the most recent `limit` of each, bounded in keys."""

    def __init__(self, limit: int, window_s: float, max_keys: int = MAX_TRACKED) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._times: OrderedDict[str, deque[float]] = OrderedDict()

    def count(self, key: str, now: float) -> int:
        times = self._times.get(key)
        if times is None:
            return 0
        while times and now - times[0] >= self.window_s:
            times.popleft()
        if not times:
            del self._times[key]
            return 0
        return len(times)

    def full(self, key: str, now: float) -> bool:
        return self.count(key, now) >= self.limit

    def retry_after_s(self, key: str, now: float) -> float:
        times = self._times.get(key)
        return max(0.0, self.window_s - (now - times[0])) if times else 0.0

    def add(self, key: str, now: float) -> None:
        times = self._times.pop(key, None) or deque(maxlen=self.limit)
        times.append(now)
        self._times[key] = times  # most recently failed last
        while len(self._times) > self.max_keys:
            self._times.popitem(last=False)

    def clear(self, key: str) -> None:
        self._times.pop(key, None)

    def __len__(self) -> int:
        return len(self._times)


def _remember(known: MutableMapping[str, None], item: str) -> None:
    known.pop(item, None)
    known[item] = None
    while len(known) > MAX_KNOWN_PER_ACCOUNT:
        del known[next(iter(known))]


class SignInGuard:
    """The sign-in limits (module doc): `check` before hashing, `failed`/`succeeded` after."""

    def __init__(
        self, settings: GuardSettings | None = None, clock: Callable[[], float] | None = None
    ) -> None:
        self.settings = settings or GuardSettings()
        self.clock = clock or time.monotonic
        s = self.settings
        self.addresses = FailureLog(s.address_failures, s.window_s)
        self.accounts = FailureLog(s.account_failures, s.window_s)
        self.devices = FailureLog(s.device_failures, s.window_s)
        self._known_addresses: dict[str, OrderedDict[str, None]] = {}
        self._devices: OrderedDict[str, str] = OrderedDict()  # device token → account
        self._device_count: dict[str, OrderedDict[str, None]] = {}
        self._in_flight: Counter[str] = Counter()
        self.slots = HashingSlots(s.hashing_slots, s.max_waiting)
        self.known_slots = HashingSlots(s.known_slots, 0)
        self._delayed = 0

    # ------------------------------------------------------------------ knowing clients

    def device_of(self, name: str, device: str | None) -> str | None:
        """`device` if it is a device cookie issued to account `name`, else None."""
        if device and self._devices.get(device) == name:
            return device
        return None

    def known(self, name: str, address: str, device: str | None) -> bool:
        return self.device_of(name, device) is not None or address in self._known_addresses.get(
            name, {}
        )

    def client_key(self, name: str, address: str, device: str | None) -> str:
        known_device = self.device_of(name, device)
        return f"device:{known_device}" if known_device else f"address:{address}"

    def priority(self, name: str, address: str, device: str | None) -> int:
        if self.known(name, address, device):
            return PRIORITY_KNOWN
        return (
            PRIORITY_CLEAN
            if self.addresses.count(address, self.clock()) == 0
            else (PRIORITY_FAILING)
        )

    # ------------------------------------------------------------------ the limits

    def check(self, name: str, address: str, device: str | None) -> Refusal | None:
        """Refuse before hashing if a limit says so; None: go on and check the password."""
        now = self.clock()
        known_device = self.device_of(name, device)
        if known_device is not None:
            if self.devices.full(known_device, now):
                return Refusal(
                    429,
                    "too many failed sign-ins from this browser; try again later",
                    "device",
                    self.devices.retry_after_s(known_device, now),
                )
        else:
            if self.addresses.full(address, now):
                return Refusal(
                    429,
                    "too many failed sign-ins from this address; try again later",
                    "address",
                    self.addresses.retry_after_s(address, now),
                )
            if self.accounts.full(name, now) and not self.known(name, address, device):
                return Refusal(
                    429,
                    "this account is locked after failed sign-ins for machines that have not "
                    "signed into it before; sign in from one that has, or try again later",
                    "account",
                    self.accounts.retry_after_s(name, now),
                )
        key = self.client_key(name, address, device)
        if self._in_flight[key] >= self.settings.in_flight_per_client:
            return Refusal(429, "sign-ins from here are already being checked", "in_flight", 1.0)
        return None

    def failed(self, name: str, address: str, device: str | None) -> None:
        now = self.clock()
        known_device = self.device_of(name, device)
        if known_device is not None:
            self.devices.add(known_device, now)
        else:
            self.addresses.add(address, now)
        if not self.known(name, address, device):
            # A known client's typo does not count towards the lock it may lift.
            self.accounts.add(name, now)

    def succeeded(self, name: str, address: str, device: str | None) -> str:
        """The right password: lift the account's lock, forget this client's failures, know
        it from now on. Returns the device token for the browser's cookie."""
        self.accounts.clear(name)
        self.addresses.clear(address)
        token = self.device_of(name, device)
        if token is not None:
            self.devices.clear(token)
        else:
            token = secrets.token_urlsafe(24)
        _remember(self._known_addresses.setdefault(name, OrderedDict()), address)
        mine = self._device_count.setdefault(name, OrderedDict())
        _remember(mine, token)
        self._devices[token] = name
        for stale in [t for t, owner in self._devices.items() if owner == name and t not in mine]:
            del self._devices[stale]
        return token

    def forget(self, name: str) -> None:
        """An account removed: its known clients and devices go with it."""
        self._known_addresses.pop(name, None)
        for token in self._device_count.pop(name, {}):
            self._devices.pop(token, None)
        self.accounts.clear(name)

    # ------------------------------------------------------------------ checking one

    async def hashing(
        self, name: str, address: str, device: str | None, work: Callable[[], Any]
    ) -> tuple[Refusal | None, Any]:
        """Run `work` (the password check) in a thread when a slot is free, this client's
        only one in flight; (Refusal, None) if too many wait."""
        key = self.client_key(name, address, device)
        self._in_flight[key] += 1
        try:
            priority = self.priority(name, address, device)
            # A known client takes its kept slot when free, else waits first in line.
            slots = self.known_slots
            if priority != PRIORITY_KNOWN or not slots.try_acquire():
                slots = self.slots
                if not await slots.acquire(priority):
                    return Refusal(503, "the server is busy; try again shortly", "busy", 2.0), None
            try:
                return None, await asyncio.to_thread(work)
            finally:
                slots.release()
        finally:
            self._in_flight[key] -= 1
            if self._in_flight[key] <= 0:
                del self._in_flight[key]

    async def delay_refusal(self) -> None:
        """Hold a refused client for `refusal_delay_s`, unless too many are held already."""
        if self.settings.refusal_delay_s <= 0 or self._delayed >= self.settings.max_delayed:
            return
        self._delayed += 1
        try:
            await asyncio.sleep(self.settings.refusal_delay_s)
        finally:
            self._delayed -= 1


class HashingSlots:
    """A semaphore whose waiters are served lowest priority first (then first come)."""

    def __init__(self, slots: int, max_waiting: int) -> None:
        self.free = slots
        self.max_waiting = max_waiting
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @property
    def waiting(self) -> int:
        return sum(1 for *_, f in self._waiting if not f.done())

    def try_acquire(self) -> bool:
        """Take a slot if one is free now (nobody waiting for it)."""
        if self.free > 0 and not self._waiting:
            self.free -= 1
            return True
        return False

    async def acquire(self, priority: int) -> bool:
        if self.try_acquire():
            return True
        if self.waiting >= self.max_waiting:
            return False
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # granted just as the client went away: pass it on
            raise
        return True

    def release(self) -> None:
        while self._waiting:
            *_, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)  # the slot passes straight to the waiter
                return
        self.free += 1


# ---------------------------------------------------------------------- Host and Origin


def host_name(host_header: str | None) -> str | None:
    """The name in a Host header (no port, lower case; IPv6 without brackets), or None."""
    if not host_header:
        return None
    try:
        parsed = urlsplit(f"//{host_header}")
        name = parsed.hostname
        _ = parsed.port  # a malformed port raises
    except ValueError:
        return None
    return name or None


def same_origin(origin: str | None, host: str | None) -> bool:
    """A browser's Origin header (when sent) must name this server: no cross-site use."""
    if origin is None:
        return True
    return bool(host) and urlsplit(origin).netloc == host


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class HostGuard:
    """ASGI middleware: a request whose Host header is not one of `allowed` names is refused
    (HTTP 421, or a WebSocket closed before its handshake), so that a page on another site
    whose name was re-pointed at this server (DNS rebinding) reads nothing."""

    def __init__(
        self, app: ASGIApp, allowed: frozenset[str], on_refusal: Callable[..., None]
    ) -> None:
        self.app = app
        self.allowed = frozenset(name.lower().strip("[]") for name in allowed)
        self.on_refusal = on_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        raw = dict(scope.get("headers") or []).get(b"host", b"")
        host = raw.decode("latin-1")
        if host_name(host) in self.allowed:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        self.on_refusal(
            reason="host", host=host, path=scope.get("path"), client=client[0] if client else None
        )
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = b"unknown host name; use one this server is configured for\n"
        await send(
            {
                "type": "http.response.start",
                "status": 421,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
