"""The COP server: sign-in, the page and its offline assets, and the picture over a WebSocket.

Endpoints (docs/web.md, "Protocol"):

| path | what |
|---|---|
| `GET /` | the page (sign-in screen, then the map) |
| `GET /static/…`, `/vendor/…` | the page's own files and its npm packages |
| `POST /api/login` | `{"user", "password"}` → a session cookie (the account's nation) |
| `POST /api/logout` | ends the session (and closes its sockets) |
| `GET /api/session` | who is signed in, and which picture |
| `WS /ws` | the session's picture: `hello`, then `frame` deltas, `warnings`, `clock` |

No endpoint takes a nation or viewer: a session's nation comes from its
account alone, and every byte it receives has gone through `views`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec
from fastapi import FastAPI, Request, Response, WebSocket
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.websockets import WebSocketDisconnect, WebSocketState

from airpicture.errors import InputError
from airpicture.web import audit
from airpicture.web.assets import STATIC_DIR, VENDOR, find_node_modules
from airpicture.web.auth import Authenticator, Session, SignInError
from airpicture.web.guard import (
    DEVICE_COOKIE,
    DEVICE_COOKIE_MAX_AGE_S,
    GuardSettings,
    HostGuard,
    SignInGuard,
    same_origin,
)
from airpicture.web.history import DEFAULT_HISTORY_POINTS
from airpicture.web.protocol import (
    PROTOCOL_VERSION,
    Error,
    Hello,
    ProtocolError,
    ServerMessage,
    decode_client,
    encode,
)
from airpicture.web.session import DEFAULT_KEEP_S, FrameLog, PlaybackSettings, Player
from airpicture.web.sources import PictureFrame, PictureSource
from airpicture.web.views import assets_for, frame_for, sensors_for, view_rules

log = logging.getLogger("airpicture.web")

COOKIE: Final = "airpicture_session"
MAX_LOGIN_BODY_BYTES: Final = 4096
#: WebSocket close codes (RFC 6455 and the private 4000–4999 range).
CLOSE_POLICY: Final = 1008
CLOSE_TRY_AGAIN: Final = 1013
CLOSE_SIGNED_OUT: Final = 4001
CLOSE_UNAUTHORIZED: Final = 4003

CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'self'",
        # Cesium's bundled Knockout evaluates `this` with eval when it loads, and its
        # decoders are WebAssembly: both from our own files; no script from anywhere else.
        "script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    )
)


@dataclass(frozen=True)
class ServerSettings:
    playback: PlaybackSettings = field(default_factory=PlaybackSettings)
    #: A send that takes longer than this means the browser reads too slowly: drop it.
    send_timeout_s: float = 5.0
    #: Longest wait between two looks at a session's clock.
    tick_s: float = 0.1
    #: How often the live clock asks the source for new frames.
    produce_every_s: float = 0.2
    max_sockets_per_session: int = 4
    max_sockets: int = 64
    #: Sockets one served viewer (nation) may hold, so that one cannot crowd out another
    #: (None: `max_sockets` shared equally among the viewers served, at least one session's).
    max_sockets_per_viewer: int | None = None
    #: Sockets one account may hold (None: as many as its viewer).
    max_sockets_per_account: int | None = None
    #: Served over TLS: cookies are `Secure`, and HSTS tells browsers to keep to HTTPS.
    tls: bool = False
    hsts_max_age_s: int = 365 * 24 * 3600
    #: Host header names accepted (None: any; `airpicture serve` always sets them).
    allowed_hosts: frozenset[str] | None = None
    #: Sign-in limits and password hashing (`web.guard`).
    guard: GuardSettings = field(default_factory=GuardSettings)
    #: How often the users file is looked at for changes (removed accounts end).
    users_check_s: float = 2.0
    #: Past positions kept per track for the detail panel's history (`web/history.py`):
    #: a longer life is thinned to this many, spanning it whole.
    history_points: int = DEFAULT_HISTORY_POINTS
    #: A live server keeps this many exercise seconds of pictures behind the newest for
    #: its sessions to go back over (`session.FrameLog.keep_s`; None: all, for ever). A
    #: replay keeps its whole run. What is older is in the node's recording.
    keep_s: float | None = DEFAULT_KEEP_S

    def viewer_socket_cap(self, n_viewers: int) -> int:
        if self.max_sockets_per_viewer is not None:
            return self.max_sockets_per_viewer
        return max(self.max_sockets_per_session, self.max_sockets // max(1, n_viewers))


class Hub:
    """Every served viewer's frames, the live clock, and the sessions' wake-up calls."""

    def __init__(
        self,
        source: PictureSource,
        settings: ServerSettings,
        clock_s: Callable[[], float] | None = None,
    ) -> None:
        """`clock_s`: the live clock, scenario seconds, when someone else keeps it (a node
        service's exercise clock: a node restarted mid-exercise serves the exercise's time,
        not its own uptime); its source is then fed in this event loop by its owner, so it
        is advanced here, not in a thread. Default: the server's own clock from its start,
        at the playback speed."""
        self.source = source
        self._clock_s = clock_s
        self.settings = settings
        self.info = source.info
        self.rules = view_rules(self.info)
        self.live = source.mode == "live"
        keep_s = settings.keep_s if self.live else None
        self.logs = {
            viewer: FrameLog(viewer, settings.history_points, keep_s) for viewer in self.rules
        }
        self.end_s = float(self.info.duration_s)
        self._live_t0 = time.monotonic()
        self._speed = settings.playback.speed
        self._wakers: set[asyncio.Event] = set()
        #: Open sockets per session token, per viewer and per account.
        self.sockets: dict[str, int] = {}
        self.viewer_sockets: dict[str, int] = {}
        self.account_sockets: dict[str, int] = {}
        if not self.live:
            self.ingest(source.advance(math.inf))

    def ingest(self, frames: list[PictureFrame]) -> None:
        for frame in frames:
            for rule in self.rules.values():
                if rule.from_viewer == frame.viewer:
                    served = frame_for(rule, frame)
                    frame_log = self.logs[rule.viewer]
                    frame_log.add(served.time_s, served.picture, served.warnings)
                    # A node's links are its own nation's business: only its own viewer's.
                    if frame.links is not None and rule.viewer == frame.viewer:
                        frame_log.set_links(frame.links)
        if frames:
            for waker in self._wakers:
                waker.set()

    def clock_s(self) -> float:
        if self._clock_s is not None:
            return max(self._clock_s(), 0.0)
        return (time.monotonic() - self._live_t0) * self._speed

    def live_time_s(self) -> float:
        return min(self.clock_s(), self.end_s)

    def head_s(self) -> float:
        return self.live_time_s() if self.live else self.end_s

    async def produce(self) -> None:
        """Live: advance the source with the clock until it is finished (a source that can
        say so: a node's, a live network's) or, for one that cannot, the scenario ends.
        A node's clock may run past the scenario's end while it still makes pictures (a
        clock set far ahead: `bench/soak.py`); they are taken, not left to pile up."""
        self._live_t0 = time.monotonic()
        lag = float(getattr(self.source, "lag_s", 0.0))
        while True:
            now_s = self.clock_s()
            if self._clock_s is None:
                frames = await asyncio.to_thread(self.source.advance, now_s)
            else:
                frames = self.source.advance(now_s)
            self.ingest(frames)
            finished: bool | None = getattr(self.source, "finished", None)
            if finished is None:
                finished = now_s > self.end_s + lag + self.info.picture_interval_s
            if finished:
                return
            await asyncio.sleep(self.settings.produce_every_s)

    def waker(self) -> asyncio.Event:
        event = asyncio.Event()
        self._wakers.add(event)
        return event

    def drop_waker(self, event: asyncio.Event) -> None:
        self._wakers.discard(event)

    def wake_all(self) -> None:
        """Every socket looks at its session at once (one may have ended)."""
        for waker in list(self._wakers):
            waker.set()

    def socket_refusal(self, session: Session) -> str | None:
        """Why `session` may not open another socket now (None: it may)."""
        s = self.settings
        if self.sockets.get(session.token, 0) >= s.max_sockets_per_session:
            return "session"
        viewer_cap = s.viewer_socket_cap(len(self.rules))
        if self.viewer_sockets.get(session.viewer, 0) >= viewer_cap:
            return "viewer"
        account_cap = s.max_sockets_per_account or viewer_cap
        if self.account_sockets.get(session.user, 0) >= account_cap:
            return "account"
        if sum(self.sockets.values()) >= s.max_sockets:
            return "server"
        return None

    def socket_opened(self, session: Session) -> None:
        for counts, key in self._socket_counts(session):
            counts[key] = counts.get(key, 0) + 1

    def socket_closed(self, session: Session) -> None:
        for counts, key in self._socket_counts(session):
            counts[key] -= 1
            if counts[key] <= 0:
                del counts[key]

    def _socket_counts(self, session: Session) -> list[tuple[dict[str, int], str]]:
        return [
            (self.sockets, session.token),
            (self.viewer_sockets, session.viewer),
            (self.account_sockets, session.user),
        ]

    def hello(self, session: Session) -> Hello:
        info = self.info
        return Hello(
            version=PROTOCOL_VERSION,
            user=session.user,
            viewer=session.viewer,
            mode="live" if self.live else "replay",
            scenario=info.scenario,
            epoch=info.epoch,
            start_s=0.0,
            end_s=self.end_s,
            picture_interval_s=info.picture_interval_s,
            fusion=info.fusion,
            sensors=sensors_for(session.viewer, info),
            assets=assets_for(session.viewer, info),
            places=list(info.places),
            acknowledgements=True,
            layers=list(info.layers),
        )


class _LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    user: str
    password: str


def client_address(request: Request | WebSocket) -> str:
    """The peer's address as the socket sees it (forwarded headers are not believed)."""
    return request.client.host if request.client is not None else "unknown"


def create_app(
    source: PictureSource,
    auth: Authenticator,
    settings: ServerSettings | None = None,
    clock_s: Callable[[], float] | None = None,
) -> FastAPI:
    """The server for `source`, with the accounts of `auth` (see the module doc); `clock_s`
    as `Hub` takes it."""
    settings = settings or ServerSettings()
    node_modules = find_node_modules()
    hub = Hub(source, settings, clock_s)
    guard = SignInGuard(settings.guard)

    def reload_users() -> None:
        """The users file changed: end the sessions of accounts that went or changed."""
        try:
            changed, ended = auth.reload_if_changed()
        except InputError as exc:
            log.warning("users file not reloaded: %s", exc)
            audit.record("users_reloaded", error=str(exc))
            return
        if not changed:
            return
        audit.record("users_reloaded", changed=changed, accounts=len(auth.accounts))
        for name in changed:
            guard.forget(name)
        for session in ended:
            log.info("%s (%s): account removed or changed; session ended", session.user,
                     session.viewer)  # fmt: skip
            audit.record(
                "session_ended", user=session.user, nation=session.viewer,
                reason="account removed or changed",
            )  # fmt: skip
        hub.wake_all()

    async def watch_users() -> None:
        while True:
            await asyncio.sleep(settings.users_check_s)
            reload_users()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(hub.produce())] if hub.live else []
        if auth.users_file is not None:
            tasks.append(asyncio.create_task(watch_users()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(
        title="airpicture COP",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.hub = hub
    app.state.auth = auth
    app.state.guard = guard
    if settings.allowed_hosts is not None:
        app.add_middleware(
            HostGuard,
            allowed=settings.allowed_hosts,
            on_refusal=lambda **fields: audit.record("request_refused", **fields),
        )

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if settings.tls:
            response.headers["Strict-Transport-Security"] = f"max-age={settings.hsts_max_age_s}"
        if request.url.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    def current(request: Request) -> Session | None:
        return auth.session(request.cookies.get(COOKIE))

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    def cross_site(request: Request) -> Response | None:
        """403 for a state-changing request from another site's page (its Origin)."""
        if same_origin(request.headers.get("origin"), request.headers.get("host")):
            return None
        audit.record(
            "request_refused", reason="origin", origin=request.headers.get("origin"),
            path=request.url.path, client=client_address(request),
        )  # fmt: skip
        return JSONResponse({"error": "cross-origin request refused"}, status_code=403)

    @app.post("/api/login")
    async def login(request: Request) -> Response:
        if (refused := cross_site(request)) is not None:
            return refused
        body = await request.body()
        if len(body) > MAX_LOGIN_BODY_BYTES:
            return JSONResponse({"error": "request too large"}, status_code=413)
        try:
            credentials = msgspec.json.decode(body, type=_LoginRequest)
        except msgspec.DecodeError as exc:
            return JSONResponse(
                {"error": f'expected {{"user": "...", "password": "..."}} ({exc})'},
                status_code=422,
            )
        reload_users()
        name, address = credentials.user, client_address(request)
        device = request.cookies.get(DEVICE_COOKIE)
        refusal = guard.check(name, address, device)
        account = None
        if refusal is None:
            password = credentials.password
            refusal, account = await guard.hashing(
                name, address, device, lambda: auth.verify(name, password)
            )
        if refusal is not None:
            log.warning("sign-in refused for %r from %s: %s", name, address, refusal.reason)
            audit.record(
                "sign_in_refused", user=name, client=address, reason=refusal.reason,
                status=refusal.status,
            )  # fmt: skip
            await guard.delay_refusal()
            return JSONResponse(
                {"error": refusal.message},
                status_code=refusal.status,
                headers={"Retry-After": str(math.ceil(refusal.retry_after_s))},
            )
        if account is None:
            guard.failed(name, address, device)
            log.warning("sign-in refused for %r from %s: wrong name or password", name, address)
            audit.record(
                "sign_in_refused", user=name, client=address, reason="password", status=401
            )
            return JSONResponse({"error": "wrong user name or password"}, status_code=401)
        try:
            session, ended = auth.open_session(account)
        except SignInError as exc:
            audit.record(
                "sign_in_refused", user=name, nation=account.nation, client=address,
                reason="nation", status=exc.status,
            )  # fmt: skip
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        device = guard.succeeded(name, address, device)
        log.info("%s signed in (%s) from %s", session.user, session.viewer, address)
        audit.record("sign_in", user=session.user, nation=session.viewer, client=address)
        for old in ended:
            audit.record(
                "session_ended", user=old.user, nation=old.viewer,
                reason=f"more than {auth.max_sessions_per_account} sessions (the oldest ends)",
            )  # fmt: skip
        if ended:
            hub.wake_all()
        response = JSONResponse({"user": session.user, "viewer": session.viewer})
        cookie = {"httponly": True, "samesite": "strict", "secure": settings.tls}
        response.set_cookie(COOKIE, session.token, path="/", **cookie)  # type: ignore[arg-type]
        response.set_cookie(
            DEVICE_COOKIE, device, max_age=DEVICE_COOKIE_MAX_AGE_S, path="/api/login",
            **cookie,  # type: ignore[arg-type]
        )  # fmt: skip
        return response

    @app.post("/api/logout")
    async def logout(request: Request) -> Response:
        if (refused := cross_site(request)) is not None:
            return refused
        session = auth.sign_out(request.cookies.get(COOKIE))
        if session is not None:
            audit.record(
                "sign_out", user=session.user, nation=session.viewer,
                client=client_address(request),
            )  # fmt: skip
        hub.wake_all()  # sockets of the ended session notice at once
        response = Response(status_code=204)
        response.delete_cookie(COOKIE, path="/", secure=settings.tls, httponly=True)
        return response

    @app.get("/api/session")
    async def whoami(request: Request) -> Response:
        session = current(request)
        if session is None:
            return JSONResponse({"error": "not signed in"}, status_code=401)
        return JSONResponse(
            {
                "user": session.user,
                "viewer": session.viewer,
                "mode": "live" if hub.live else "replay",
                "scenario": hub.info.scenario,
            }
        )

    @app.websocket("/ws")
    async def picture_socket(websocket: WebSocket) -> None:
        session = auth.session(websocket.cookies.get(COOKIE))
        origin_ok = same_origin(websocket.headers.get("origin"), websocket.headers.get("host"))
        if session is None or not origin_ok:
            # Refused before the handshake completes: the browser sees HTTP 403.
            await websocket.close(code=CLOSE_UNAUTHORIZED)
            return
        limit = hub.socket_refusal(session)
        if limit is not None:
            audit.record(
                "socket_refused", user=session.user, nation=session.viewer,
                client=client_address(websocket), reason=f"{limit} socket limit",
            )  # fmt: skip
            await guard.delay_refusal()  # a client reconnecting in a loop is slowed, at no CPU
            await websocket.close(code=CLOSE_TRY_AGAIN)
            return
        hub.socket_opened(session)
        try:
            await websocket.accept()
            await _serve_socket(websocket, hub, auth, session, settings)
        finally:
            hub.socket_closed(session)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for prefix, sub in VENDOR.items():
        app.mount(f"/vendor/{prefix}", StaticFiles(directory=node_modules / sub), name=prefix)
    return app


async def _serve_socket(
    websocket: WebSocket,
    hub: Hub,
    auth: Authenticator,
    session: Session,
    settings: ServerSettings,
) -> None:
    """Send the session's picture until it disconnects, misbehaves, reads too slowly or ends."""
    player = Player(
        hub.logs[session.viewer],
        live=hub.live,
        start_s=0.0,
        end_s=hub.end_s,
        head_s=hub.head_s,
        settings=settings.playback,
    )
    wake = hub.waker()
    refusal: list[Error] = []

    async def send(message: ServerMessage) -> None:
        await asyncio.wait_for(websocket.send_bytes(encode(message)), settings.send_timeout_s)

    async def receive() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data: Any = message.get("bytes") or message.get("text") or b""
            try:
                player.receive(decode_client(data), session.user, hub.info.record_dir)
            except ProtocolError as exc:
                refusal.append(Error(code="bad_message", message=exc.problem))
                return
            wake.set()

    receiver = asyncio.create_task(receive())
    receiver.add_done_callback(lambda _t: wake.set())
    who = f"{session.user} ({session.viewer})"
    try:
        await send(hub.hello(session))
        while not receiver.done():
            if auth.sessions.get(session.token) is not session:
                await send(Error(code="signed_out", message="the session has ended"))
                await websocket.close(code=CLOSE_SIGNED_OUT)
                return
            for message in player.step():
                await send(message)
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), settings.tick_s)
        if refusal:
            log.warning("%s: refused a message: %s", who, refusal[0].message)
            await send(refusal[0])
            await websocket.close(code=CLOSE_POLICY, reason="bad message")
    except TimeoutError:
        log.warning("%s: reads too slowly; dropped", who)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                websocket.close(code=CLOSE_TRY_AGAIN, reason="too slow"), timeout=1.0
            )
    except (WebSocketDisconnect, RuntimeError, OSError):
        log.info("%s: disconnected", who)
    finally:
        hub.drop_waker(wake)
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiver
        if websocket.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                await websocket.close()
