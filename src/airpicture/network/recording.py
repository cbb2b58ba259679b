"""A node's recording: every input each stage took and every output it made, in JetStream.

Issue 15. The node's stages (`node.py`: plots → tracks → fuse at each picture
time) are deterministic given what each stage took, so a node records, per
cycle and stage, exactly that, and what came out:

* **plots** — the own sensors' reports the stage ingested (with the sensor
  stream's sequence number and row of each, so a batch taken twice — once by a
  node killed before acknowledging it, once after its restart — is exported
  once), and the plot batches it released to each partner;
* **tracks** — each partner message `receive` handed to the node, with its
  sender, sent time, arrival time (exercise clock) and link stream sequence,
  in the order given; the track batches released;
* **fuse** — the messages received, the picture, the warnings issued (and
  released), the partners' warnings taken, the new threat rows.

A record is one msgpack message (`StageRecord`), split into parts of at most
`RecordingSettings.part_bytes` (header `Ap-Rec-Part: i/N`), published to
`ap.node.NATION.rec.KIND` in the stream `NATION_RECORD` (file storage, the
retention of `RecordingSettings`: age and size). Each part's `Nats-Msg-Id` is
`NATION.INCARNATION.RECORD.PART`, so a retry after a lost PubAck is stored
once. Every incarnation of the node starts with a `StartRecord` and, when it
stops cleanly, ends with an `EndRecord`.

**Acknowledged means recorded.** The service puts a stage's record (awaiting
every PubAck) *before* it ledgers and acknowledges the messages the stage took
(`service.py`): a node killed with SIGKILL has recorded everything it
acknowledged; what it took but had not acknowledged is delivered again to the
restarted node, which records it in its own incarnation.

**The recording folder** (`airpicture exercise`: `--out/recording/`) holds the
JetStream store of the recording server (`jetstream/`), `recording.json` (the
format's name and version, the scenario, its overrides, the nations), and the
simulation's `truth.parquet` and `run.json` (so that an export can be
evaluated). `open_recording` checks it and reads it through a private
nats-server started on the store (`RecordingServer`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import msgspec
import nats
import nats.errors
import nats.js.errors
import numpy as np
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from airpicture.deploy.layout import MAX_PAYLOAD_BYTES
from airpicture.errors import InputError
from airpicture.network.bus import Bus, Envelope
from airpicture.network.messages import MessageKind
from airpicture.tables import Table, json_default
from airpicture.threat.warning import Warning

log = logging.getLogger(__name__)

#: The recording's format: `recording.json` names it; a reader refuses another version.
RECORDING_FORMAT: Final = "airpicture-recording"
RECORDING_VERSION: Final = 1
MANIFEST: Final = "recording.json"
#: The JetStream store of the recording server, inside the recording folder.
STORE: Final = "jetstream"
HEADER_PART: Final = "Ap-Rec-Part"
HEADER_MSG_ID: Final = "Nats-Msg-Id"
STAGES: Final = ("plots", "tracks", "fuse")


def record_stream(nation: str) -> str:
    return f"{nation}_RECORD"


def record_subject(nation: str, kind: str) -> str:
    """Under the nation's internal subjects (`ap.node.NATION.>`), which its node user may
    publish on in a deployment (`deploy/accounts.py`)."""
    return f"ap.node.{nation}.rec.{kind}"


#: JetStream's API error code for a stream whose max_bytes the server cannot reserve
#: ("insufficient storage resources available").
INSUFFICIENT_STORAGE: Final = 10047


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 2**30:.2f} GiB" if n_bytes >= 2**30 else f"{n_bytes / 2**20:.0f} MiB"


def recording_share(store: Path, nations: int, free_fraction: float = 0.5) -> int:
    """max_bytes for each of `nations` recording streams on one server whose store is
    on `store`'s disk: the default (`RecordingSettings.max_bytes`), or less, so that all
    fit in `free_fraction` of the disk's free space (JetStream reserves each stream's
    max_bytes when it is created, and by default offers 75 % of the free space). An
    `InputError` if that leaves less than 64 MiB each."""
    probe = store
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    share = min(RecordingSettings.max_bytes, int(free * free_fraction / max(nations, 1)))
    share -= share % 2**20
    if share < 64 * 2**20:
        raise InputError(
            str(store),
            [
                f"{_size(free)} free on this disk leaves {_size(share)} of recording for each "
                f"of {nations} nations (at least 64 MiB each is needed): free disk space or "
                "give --out on another disk"
            ],
        )
    return share


@dataclass(frozen=True)
class RecordingSettings:
    """Retention and framing of a node's recording stream."""

    #: Records older than this are removed by JetStream, s (0: kept for ever).
    max_age_s: float = 14 * 86_400.0
    #: The stream's size limit; the oldest records go first, bytes (-1: no limit).
    max_bytes: int = 16 * 2**30
    #: A record larger than this is split into parts (below the server's max payload).
    part_bytes: int = 512 * 1024
    #: Wall seconds a record's publication is retried before the node goes on without it
    #: (counted, logged): a recording server that is down must not stop the picture.
    give_up_s: float = 30.0


# ---------------------------------------------------------------------- the records


class Received(msgspec.Struct, frozen=True, array_like=True):
    """A partner message handed to the node: as the transport delivered it."""

    sender: str
    sent_s: float
    arrival_s: float
    #: Its sequence number in the node's link stream (0: not from a stream).
    stream_seq: int
    payload: bytes


class Published(msgspec.Struct, frozen=True, array_like=True):
    """A message the node released to a partner (before the link's loss)."""

    receiver: str
    kind: str
    sent_s: float
    payload: bytes


class StartRecord(msgspec.Struct, frozen=True, tag="start", kw_only=True):
    version: int
    nation: str
    incarnation: int
    first_seq: int
    first_cycle: int
    hold_s: float
    started_unix_s: float
    scenario: str
    pid: int
    #: The partners' public keys the node checked frames with (raw Ed25519, 32 bytes
    #: each; empty: its messages were not signed). A replay checks with the same.
    partner_keys: dict[str, bytes] = {}


class StageRecord(msgspec.Struct, frozen=True, tag="stage", kw_only=True):
    incarnation: int
    cycle: int
    stage: str
    time_s: float
    recorded_unix_s: float
    #: plots: the own reports ingested (columns; `stream_seq`, `batch_row` among them).
    own: dict[str, Any] | None = None
    received: list[Received] = []
    published: list[Published] = []
    #: fuse: the picture (columns), the warnings issued, the partners' warnings taken,
    #: the new threat rows (JSON text).
    picture: dict[str, Any] | None = None
    warnings: list[Warning] = []
    received_warnings: list[Warning] = []
    threats: list[str] = []


class EndRecord(msgspec.Struct, frozen=True, tag="end", kw_only=True):
    incarnation: int
    last_cycle: int
    time_s: float
    stopped_unix_s: float


Record = StartRecord | StageRecord | EndRecord

_ENCODER: Final = msgspec.msgpack.Encoder()
_DECODER: Final = msgspec.msgpack.Decoder(Record)


def encode_record(record: Record) -> bytes:
    return _ENCODER.encode(record)


def decode_record(data: bytes) -> Record:
    return _DECODER.decode(data)


def table_to_wire(table: Table) -> dict[str, Any]:
    """Columns as msgpack can carry them exactly: float columns as little-endian float64
    bytes, integer columns as int64 bytes (a key `i:NAME`), other columns as lists."""
    out: dict[str, Any] = {}
    for name, values in table.items():
        arr = np.asarray(values)
        if arr.dtype.kind == "f":
            out[name] = arr.astype("<f8").tobytes()
        elif arr.dtype.kind in "iu":
            out[f"i:{name}"] = arr.astype("<i8").tobytes()
        else:
            out[name] = [list(v) if isinstance(v, list | tuple | np.ndarray) else v for v in arr]
    return out


def table_from_wire(wire: dict[str, Any]) -> Table:
    out: Table = {}
    for name, values in wire.items():
        if isinstance(values, bytes):
            if name.startswith("i:"):
                out[name[2:]] = np.frombuffer(values, dtype="<i8").astype(np.int64)
            else:
                out[name] = np.frombuffer(values, dtype="<f8").astype(np.float64)
        else:
            arr = np.empty(len(values), dtype=object)
            for i, v in enumerate(values):
                arr[i] = v
            out[name] = arr
    return out


def split_parts(data: bytes, part_bytes: int) -> list[bytes]:
    if not data:
        return [b""]
    return [data[i : i + part_bytes] for i in range(0, len(data), part_bytes)]


# ---------------------------------------------------------------------- the writer


@dataclass
class RecorderCounts:
    records: int = 0
    parts: int = 0
    bytes: int = 0
    retries: int = 0
    #: Records given up on (the recording server did not acknowledge within `give_up_s`).
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "records": self.records,
            "parts": self.parts,
            "bytes": self.bytes,
            "retries": self.retries,
            "failed": self.failed,
        }


class Recorder:
    """One incarnation's recording: what its stages took and made, put to JetStream.

    The node's bus is wrapped in a `RecordingTap`, which tells the recorder what each
    stage received and published; the service makes each stage's record (`stage`) and
    puts it (`put`) before acknowledging the stage's inputs."""

    def __init__(
        self,
        nation: str,
        incarnation: int,
        settings: RecordingSettings | None = None,
    ) -> None:
        self.nation = nation
        self.incarnation = incarnation
        self.settings = settings or RecordingSettings()
        self.counts = RecorderCounts()
        self._received: list[Received] = []
        self._published: list[Published] = []
        self._next = 0
        self.js: JetStreamContext | None = None

    async def start(self, js: JetStreamContext) -> None:
        """The nation's record stream (created, or its retention brought to the settings)."""
        self.js = js
        config = StreamConfig(
            name=record_stream(self.nation),
            subjects=[record_subject(self.nation, ">")],
            storage=StorageType.FILE,
            max_age=self.settings.max_age_s,
            max_bytes=self.settings.max_bytes,
            duplicate_window=120.0,
        )
        try:
            try:
                await js.stream_info(record_stream(self.nation))
            except nats.js.errors.NotFoundError:
                await js.add_stream(config)
            else:
                await js.update_stream(config)
        except nats.js.errors.APIError as exc:
            if exc.err_code != INSUFFICIENT_STORAGE:
                raise
            raise InputError(
                f"{self.nation}'s recording (recording.max_bytes = {self.settings.max_bytes})",
                [
                    f"the NATS server cannot set aside {_size(self.settings.max_bytes)} for "
                    f"the stream {record_stream(self.nation)} ({exc.description}): JetStream "
                    "reserves a stream's max_bytes when it is created, out of the server's "
                    "store (by default 75 % of the disk's free space, shared by every "
                    "stream on that server); lower recording.max_bytes in the node "
                    "configuration, or free disk space, or raise the server's "
                    "jetstream max_file_store"
                ],
            ) from exc

    # what the tap tells it (inside a stage, in the stage's thread)

    def received(self, envelopes: Sequence[Envelope], seqs: Sequence[int]) -> None:
        for i, e in enumerate(envelopes):
            seq = int(seqs[i]) if i < len(seqs) else 0
            self._received.append(Received(e.sender, e.sent_s, e.arrival_s, seq, e.payload))

    def published(self, receiver: str, kind: str, sent_s: float, payload: bytes) -> None:
        self._published.append(Published(receiver, str(kind), float(sent_s), payload))

    def stage(
        self,
        cycle: int,
        stage: str,
        time_s: float,
        own: Table | None = None,
        picture: Table | None = None,
        warnings: Sequence[Warning] = (),
        received_warnings: Sequence[Warning] = (),
        threats: Sequence[dict[str, Any]] = (),
    ) -> StageRecord:
        """The record of the stage just ended: what the tap saw, and what is given."""
        received, self._received = self._received, []
        published, self._published = self._published, []
        return StageRecord(
            incarnation=self.incarnation,
            cycle=cycle,
            stage=stage,
            time_s=time_s,
            recorded_unix_s=time.time(),
            own=None if own is None else table_to_wire(own),
            received=received,
            published=published,
            picture=None if picture is None else table_to_wire(picture),
            warnings=list(warnings),
            received_warnings=list(received_warnings),
            threats=[json.dumps(r, default=json_default, sort_keys=True) for r in threats],
        )

    async def put(self, record: Record) -> bool:
        """Publish `record` (its parts, in order, each until its PubAck); whether stored."""
        if self.js is None:
            return False
        kind = "stage" if isinstance(record, StageRecord) else record.__struct_config__.tag
        data = encode_record(record)
        parts = split_parts(data, self.settings.part_bytes)
        n = self._next
        self._next += 1
        subject = record_subject(self.nation, str(kind))
        deadline = time.monotonic() + self.settings.give_up_s
        for i, part in enumerate(parts):
            headers = {
                HEADER_MSG_ID: f"{self.nation}.{self.incarnation}.{n}.{i}",
                HEADER_PART: f"{i + 1}/{len(parts)}",
            }
            delay = 0.05
            while True:
                try:
                    await self.js.publish(subject, part, timeout=2.0, headers=headers)
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self.counts.retries += 1
                    if time.monotonic() + delay > deadline:
                        self.counts.failed += 1
                        log.error(
                            "%s: record %d not stored (%r); going on without it",
                            self.nation,
                            n,
                            exc,
                        )
                        return False
                    await asyncio.sleep(delay)
                    delay = min(2 * delay, 1.0)
            self.counts.parts += 1
            self.counts.bytes += len(part)
        self.counts.records += 1
        return True


class RecordingTap:
    """A `Bus` that tells a `Recorder` what the node publishes and receives, and passes
    everything to the real bus. `receive` takes each message's stream sequence number
    from the bus's `last_received_seqs`, if it keeps them (`JetStreamBus`)."""

    def __init__(self, bus: Bus, recorder: Recorder) -> None:
        self.bus = bus
        self.recorder = recorder

    def publish(
        self, sender: str, receiver: str, payload: bytes, sent_s: float, kind: MessageKind
    ) -> None:
        self.recorder.published(receiver, kind, sent_s, payload)
        self.bus.publish(sender, receiver, payload, sent_s, kind)

    def receive(self, receiver: str, until_s: float) -> list[Envelope]:
        envelopes = self.bus.receive(receiver, until_s)
        self.recorder.received(envelopes, list(getattr(self.bus, "last_received_seqs", [])))
        return envelopes


# ---------------------------------------------------------------------- the folder


def write_manifest(
    folder: Path,
    scenario_path: Path,
    overrides: dict[str, Any],
    nations: Sequence[str],
) -> Path:
    """`recording.json`: the version marker and what a reader needs to rebuild the nodes;
    a copy of the scenario file beside it (`scenario.yaml`)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(scenario_path, folder / "scenario.yaml")
    manifest = {
        "format": RECORDING_FORMAT,
        "version": RECORDING_VERSION,
        "scenario": str(scenario_path.resolve()),
        "overrides": overrides,
        "nations": list(nations),
        "streams": {n: record_stream(n) for n in nations},
        "created_unix_s": time.time(),
    }
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class Manifest:
    folder: Path
    version: int
    scenario: Path
    overrides: dict[str, Any]
    nations: tuple[str, ...]


def read_manifest(folder: Path) -> Manifest:
    """The recording folder's `recording.json`, checked; an `InputError` naming what is wrong."""
    where = str(folder)
    if not folder.exists():
        raise InputError(where, ["no such recording folder (an exercise writes OUT/recording/)"])
    if not folder.is_dir():
        raise InputError(where, ["not a folder: give a recording folder (OUT/recording/)"])
    path = folder / MANIFEST
    if not path.is_file():
        raise InputError(
            str(path),
            [f"no {MANIFEST}: not a recording folder (an exercise writes OUT/recording/)"],
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(
            str(path), [f"not readable JSON ({exc}): the recording is damaged"]
        ) from None
    if not isinstance(raw, dict) or raw.get("format") != RECORDING_FORMAT:
        raise InputError(str(path), [f"not an {RECORDING_FORMAT} marker"])
    version = raw.get("version")
    if version != RECORDING_VERSION:
        raise InputError(
            str(path),
            [
                f"recording format version {version!r}; this airpicture reads version "
                f"{RECORDING_VERSION}: use the airpicture that made it"
            ],
        )
    if not (folder / STORE).is_dir():
        raise InputError(str(folder / STORE), ["the recording's JetStream store is missing"])
    scenario = Path(str(raw.get("scenario", "")))
    if not scenario.is_file():
        scenario = folder / "scenario.yaml"
    return Manifest(
        folder,
        int(version),
        scenario,
        dict(raw.get("overrides") or {}),
        tuple(str(n) for n in raw.get("nations", [])),
    )


class RecordingServer:
    """A private nats-server (JetStream, file storage) on a recording folder's store,
    listening on 127.0.0.1 on a free port with a random token. `airpicture exercise`
    records into one; `export` and `replay` read through one (on a copy of the store, so
    that reading never changes a recording)."""

    def __init__(self, store: Path, max_payload: int = MAX_PAYLOAD_BYTES) -> None:
        self.store = store
        self.max_payload = max_payload
        self.token = secrets.token_urlsafe(18)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = store.parent / "recording-server.log"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 20.0) -> None:
        from airpicture.deploy import nats_server_bin
        from airpicture.deploy.server import free_port

        self.store.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        conf = self.store.parent / ".recording-server.conf"
        conf.write_text(
            "\n".join(
                [
                    f"listen: 127.0.0.1:{self.port}",
                    f"max_payload: {self.max_payload}",
                    f"authorization {{ token: {json.dumps(self.token)} }}",
                    f"jetstream {{ store_dir: {json.dumps(str(self.store))} }}",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        conf.chmod(0o600)
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                [str(nats_server_bin()), "-c", str(conf)],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    tail = self.log_path.read_text(errors="replace")[-600:]
                    raise InputError(
                        str(self.store), [f"nats-server did not start on the store: {tail}"]
                    ) from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    async def connect(self) -> Any:
        return await nats.connect(
            servers=[self.url],
            token=self.token,
            connect_timeout=5,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
        )


@contextlib.contextmanager
def reading_server(manifest: Manifest) -> Iterator[RecordingServer]:
    """A `RecordingServer` on a copy of the recording's store (removed after)."""
    with tempfile.TemporaryDirectory(prefix="airpicture-recording-") as tmp:
        store = Path(tmp) / STORE
        shutil.copytree(manifest.folder / STORE, store)
        server = RecordingServer(store)
        server.start()
        try:
            yield server
        finally:
            server.stop()


# ---------------------------------------------------------------------- the reader


@dataclass
class Incarnation:
    """One run of a nation's node, as recorded."""

    start: StartRecord | None
    stages: list[StageRecord] = field(default_factory=list)
    end: EndRecord | None = None

    @property
    def incarnation(self) -> int:
        if self.start is not None:
            return self.start.incarnation
        return self.stages[0].incarnation if self.stages else 0

    def complete_to_s(self) -> float | None:
        """The last picture time whose three stages are all recorded."""
        done = [r.time_s for r in self.stages if r.stage == "fuse"]
        return max(done) if done else None


@dataclass
class NationRecording:
    nation: str
    incarnations: list[Incarnation]
    #: Why the recording ends early (a tail cut mid-write), or "" if it ends cleanly.
    truncated: str = ""
    #: Records at the start removed by the retention (the first kept is not a start).
    aged_out: bool = False
    stream_messages: int = 0

    def complete_to_s(self) -> float | None:
        times = [t for i in self.incarnations if (t := i.complete_to_s()) is not None]
        return max(times) if times else None


async def fetch_stream(js: JetStreamContext, stream: str) -> AsyncIterator[Any]:
    """Every message of `stream` in order, with an ephemeral consumer that needs no acks."""
    try:
        info = await js.stream_info(stream)
    except nats.js.errors.NotFoundError:
        return
    total = info.state.messages
    if total == 0:
        return
    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE,
        deliver_policy=DeliverPolicy.ALL,
        inactive_threshold=60.0,
    )
    sub = await js.pull_subscribe(f"{record_subject('*', '>')}", stream=stream, config=config)
    got = 0
    try:
        while got < total:
            try:
                msgs = await sub.fetch(256, timeout=2.0)
            except (nats.errors.TimeoutError, TimeoutError):
                break
            for msg in msgs:
                got += 1
                yield msg
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


async def read_nation(js: JetStreamContext, nation: str) -> NationRecording:
    """A nation's records, assembled from their parts, grouped by incarnation; a tail cut
    mid-write (a part missing, a record that does not decode, a hole in the stream's
    sequence) ends the reading, and `truncated` says where."""
    incarnations: list[Incarnation] = []
    by_id: dict[int, Incarnation] = {}
    truncated = ""
    aged_out = False
    parts: list[bytes] = []
    expect_seq: int | None = None
    count = 0
    async for msg in fetch_stream(js, record_stream(nation)):
        count += 1
        seq = int(msg.metadata.sequence.stream)
        if expect_seq is not None and seq != expect_seq:
            truncated = f"stream sequence jumps from {expect_seq - 1} to {seq}"
            break
        expect_seq = seq + 1
        try:
            i_s, n_s = (msg.headers or {}).get(HEADER_PART, "1/1").split("/")
            i, n = int(i_s), int(n_s)
        except ValueError:
            truncated = f"message {seq} has no readable {HEADER_PART} header"
            break
        if i != len(parts) + 1:
            if not incarnations and not parts:
                aged_out = True  # the retention removed the first parts of this record
                continue
            truncated = f"message {seq} is part {i} of {n}, part {len(parts) + 1} expected"
            break
        parts.append(bytes(msg.data))
        if i < n:
            continue
        data, parts = b"".join(parts), []
        try:
            record = decode_record(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            truncated = f"record ending at message {seq} does not decode ({exc})"
            break
        inc = by_id.get(record.incarnation)
        if inc is None:
            if not isinstance(record, StartRecord):
                if incarnations:
                    truncated = f"records of incarnation {record.incarnation} without its start"
                    break
                aged_out = True
                continue
            inc = Incarnation(record)
            by_id[record.incarnation] = inc
            incarnations.append(inc)
        elif isinstance(record, StageRecord):
            inc.stages.append(record)
        elif isinstance(record, EndRecord):
            inc.end = record
    if not truncated and parts:
        truncated = f"the last record lacks {len(parts)} part(s) of its end"
    if not truncated and incarnations and incarnations[-1].end is None:
        truncated = "the last run of the node has no end record (cut mid-write, or still running)"
    return NationRecording(nation, incarnations, truncated, aged_out, count)


async def read_recording(
    manifest: Manifest, nations: Sequence[str] | None = None
) -> dict[str, NationRecording]:
    """Every (or the given) nation's recording, read through a private server."""
    out: dict[str, NationRecording] = {}
    with reading_server(manifest) as server:
        nc = await server.connect()
        try:
            js = nc.jetstream()
            for nation in nations or manifest.nations:
                out[nation] = await read_nation(js, nation)
        finally:
            await nc.close()
    return out
