"""Operators' acknowledgements of alerts: who acknowledged which alert, when, recorded.

An operator acknowledges an alert from the page (the `ack` WebSocket message,
`protocol.Acknowledge`); the page stops sounding it for that operator. Each
acknowledgement is per operator: one operator's acknowledgement silences no one
else's page, and the alert is listed with everyone who acknowledged it. The server
keeps them per served viewer (`AlertAcknowledgements`, one per `FrameLog`), sends the
viewer's list to every session of that viewer (`protocol.Acknowledgements`, from
`Player.step`), and appends each to `acknowledgements.jsonl` in the run's (or the
node's) folder when the source names one (`RunInfo.record_dir`).

`acknowledge(...)` is the one entry point: the server's receive loop calls it for an
`Acknowledge` message. An acknowledgement names a warning the session's nation was
sent at or before the session's time; anything else is refused (`ProtocolError`),
as any other malformed message is: a nation cannot learn of another's alerts by
guessing their ids.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Final

import msgspec

from airpicture.web.protocol import Acknowledge, Acknowledgement, ProtocolError

#: File (in the run's or node's folder) that records every acknowledgement, one JSON a line.
ACK_FILE: Final = "acknowledgements.jsonl"

_line_encoder: Final = msgspec.json.Encoder()
_line_decoder: Final = msgspec.json.Decoder(Acknowledgement)


class AlertAcknowledgements:
    """One served viewer's acknowledgements, in the order made; `version` counts changes."""

    def __init__(self, viewer: str) -> None:
        self.viewer = viewer
        self.items: list[Acknowledgement] = []
        self.version = 0
        self._lock = threading.Lock()
        self._path: Path | None = None

    def attach(self, record_dir: Path | None) -> None:
        """Record to `record_dir/acknowledgements.jsonl` from now on, after reading back the
        viewer's acknowledgements already there (a restarted server keeps them)."""
        if record_dir is None or self._path is not None:
            return
        path = record_dir / ACK_FILE
        self._path = path
        if not path.is_file():
            return
        for number, line in enumerate(path.read_bytes().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                ack = _line_decoder.decode(line)
            except msgspec.DecodeError as exc:
                raise ValueError(f"{path}:{number}: not an acknowledgement ({exc})") from exc
            if ack.viewer == self.viewer and not self.has(ack.warning_id, ack.user):
                self.items.append(ack)
                self.version += 1

    def has(self, warning_id: str, user: str) -> bool:
        return any(a.warning_id == warning_id and a.user == user for a in self.items)

    def add(self, ack: Acknowledgement) -> bool:
        """Record `ack`; False (nothing recorded) when that operator already acknowledged it."""
        with self._lock:
            if self.has(ack.warning_id, ack.user):
                return False
            self.items.append(ack)
            self.version += 1
            if self._path is not None:
                with self._path.open("ab") as out:
                    out.write(_line_encoder.encode(ack) + b"\n")
            return True


def acknowledge(
    acks: AlertAcknowledgements,
    sent_warning_ids: set[str] | frozenset[str],
    user: str,
    message: Acknowledge,
    time_s: float,
    record_dir: Path | None = None,
    now: dt.datetime | None = None,
) -> Acknowledgement:
    """Record that `user` (of `acks.viewer`) acknowledged `message.warning_id` at scenario
    time `time_s` (the session's), if that warning was sent to the session
    (`sent_warning_ids`); raises `ProtocolError` otherwise. Returns the acknowledgement
    (the earlier one when the operator had already acknowledged it)."""
    if message.warning_id not in sent_warning_ids:
        raise ProtocolError(
            f"no alert {message.warning_id!r} has been sent to this session; acknowledge an "
            "alert the page shows"
        )
    acks.attach(record_dir)
    wall = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    ack = Acknowledgement(
        warning_id=message.warning_id,
        user=user,
        viewer=acks.viewer,
        time_s=round(float(time_s), 3),
        wall_utc=wall.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    )
    if not acks.add(ack):
        return next(a for a in acks.items if a.warning_id == ack.warning_id and a.user == user)
    return ack
