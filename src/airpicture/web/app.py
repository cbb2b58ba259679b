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
from urllib.parse import urlsplit

import msgspec
from fastapi import FastAPI, Request, Response, WebSocket
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.websockets import WebSocketDisconnect, WebSocketState

from airpicture.web.assets import STATIC_DIR, VENDOR, find_node_modules
from airpicture.web.auth import Authenticator, Session, SignInError
from airpicture.web.protocol import (
    PROTOCOL_VERSION,
    Error,
    Hello,
    ProtocolError,
    ServerMessage,
    decode_client,
    encode,
)
from airpicture.web.session import FrameLog, PlaybackSettings, Player
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
    #: Set the cookie's Secure flag (when served behind TLS).
    secure_cookie: bool = False


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
        self.logs = {viewer: FrameLog(viewer) for viewer in self.rules}
        self.live = source.mode == "live"
        self.end_s = float(self.info.duration_s)
        self._live_t0 = time.monotonic()
        self._speed = settings.playback.speed
        self._wakers: set[asyncio.Event] = set()
        self.sockets: dict[str, int] = {}
        if not self.live:
            self.ingest(source.advance(math.inf))

    def ingest(self, frames: list[PictureFrame]) -> None:
        for frame in frames:
            for rule in self.rules.values():
                if rule.from_viewer == frame.viewer:
                    served = frame_for(rule, frame)
                    self.logs[rule.viewer].add(served.time_s, served.picture, served.warnings)
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
        """Live: advance the source with the clock until the scenario ends."""
        self._live_t0 = time.monotonic()
        lag = float(getattr(self.source, "lag_s", 0.0))
        while True:
            now_s = self.clock_s()
            if self._clock_s is None:
                frames = await asyncio.to_thread(self.source.advance, now_s)
            else:
                frames = self.source.advance(now_s)
            self.ingest(frames)
            finished = bool(getattr(self.source, "finished", False))
            if finished or now_s > self.end_s + lag + self.info.picture_interval_s:
                return
            await asyncio.sleep(self.settings.produce_every_s)

    def waker(self) -> asyncio.Event:
        event = asyncio.Event()
        self._wakers.add(event)
        return event

    def drop_waker(self, event: asyncio.Event) -> None:
        self._wakers.discard(event)

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
        )


class _LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    user: str
    password: str


def _same_origin(origin: str | None, host: str | None) -> bool:
    """A browser's Origin header (when sent) must name this server: no cross-site use."""
    if origin is None:
        return True
    return bool(host) and urlsplit(origin).netloc == host


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

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        producer = asyncio.create_task(hub.produce()) if hub.live else None
        try:
            yield
        finally:
            if producer is not None:
                producer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await producer

    app = FastAPI(
        title="airpicture COP",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.hub = hub
    app.state.auth = auth

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if request.url.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    def current(request: Request) -> Session | None:
        return auth.session(request.cookies.get(COOKIE))

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    @app.post("/api/login")
    async def login(request: Request) -> Response:
        if not _same_origin(request.headers.get("origin"), request.headers.get("host")):
            return JSONResponse({"error": "cross-origin sign-in refused"}, status_code=403)
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
        try:
            session = await asyncio.to_thread(auth.sign_in, credentials.user, credentials.password)
        except SignInError as exc:
            log.warning("sign-in refused for %r: %s", credentials.user, exc.message)
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        log.info("%s signed in (%s)", session.user, session.viewer)
        response = JSONResponse({"user": session.user, "viewer": session.viewer})
        response.set_cookie(
            COOKIE,
            session.token,
            httponly=True,
            samesite="strict",
            secure=settings.secure_cookie,
            path="/",
        )
        return response

    @app.post("/api/logout")
    async def logout(request: Request) -> Response:
        auth.sign_out(request.cookies.get(COOKIE))
        for waker in list(hub._wakers):
            waker.set()  # sockets of the ended session notice at once
        response = Response(status_code=204)
        response.delete_cookie(COOKIE, path="/")
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
        origin_ok = _same_origin(websocket.headers.get("origin"), websocket.headers.get("host"))
        if session is None or not origin_ok:
            # Refused before the handshake completes: the browser sees HTTP 403.
            await websocket.close(code=CLOSE_UNAUTHORIZED)
            return
        token = session.token
        open_here = hub.sockets.get(token, 0)
        if open_here >= settings.max_sockets_per_session or sum(hub.sockets.values()) >= (
            settings.max_sockets
        ):
            await websocket.close(code=CLOSE_TRY_AGAIN)
            return
        hub.sockets[token] = open_here + 1
        try:
            await websocket.accept()
            await _serve_socket(websocket, hub, auth, session, settings)
        finally:
            hub.sockets[token] -= 1
            if hub.sockets[token] <= 0:
                del hub.sockets[token]

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
                player.control(decode_client(data))
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
