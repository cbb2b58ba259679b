"""The COP server's audit log: who signed in, who failed and from where, who left, who acknowledged.

One JSON object per line, written through the `airpicture.audit` logger:

    {"time_utc": "2026-12-07T06:40:01.123Z", "event": "sign_in", "user": "jpn-watch",
     "nation": "JPN", "client": "10.0.4.7"}

`configure(path)` sends it to a file, rotated (`RotatingFileHandler`: `max_bytes`
per file, `backups` old files kept), so a flood of refused sign-ins fills at most
`max_bytes × (backups + 1)` of disk. Without a file, the lines still reach the
console through the logger's parents: nothing is lost silently.

`record(event, **fields)` is the one hook: the server calls it for sign-ins,
refusals, sign-outs and sessions ended; whatever handles an operator's
acknowledgement calls `record("acknowledge", user=..., nation=..., client=...,
warning_id=...)`.

Events written by the server (docs/web.md, "Security"):

| event | when |
|---|---|
| `sign_in` | a session opened |
| `sign_in_refused` | wrong password or name, or a limit (`reason`, `status`) |
| `sign_out` | the operator signed out |
| `session_ended` | the server ended one (`reason`: account removed or changed, too many) |
| `request_refused` | a wrong Host or a cross-site Origin (`reason`, `path`) |
| `socket_refused` | a socket over its nation's, account's or session's share |
| `users_reloaded` | the users file changed and was read again (or could not be: `error`) |
"""

from __future__ import annotations

import json
import logging
import logging.handlers
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from airpicture.errors import InputError

AUDIT_LOGGER: Final = "airpicture.audit"
MAX_BYTES: Final = 10 * 2**20
BACKUPS: Final = 5
#: Longest text kept of any field (a user name typed by an attacker can be anything).
MAX_FIELD_CHARS: Final = 200

_log = logging.getLogger(AUDIT_LOGGER)
_log.setLevel(logging.INFO)


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return str(record.getMessage())


def configure(path: Path, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> Path:
    """Write the audit log to `path` (made 0600 if new), rotated; returns the path.

    Calling it again with another path replaces the file handler (one server, one log).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
    except OSError as exc:
        raise InputError(
            str(path), [f"cannot write the audit log ({exc.strerror}); give a writable path"]
        ) from None
    handler.setFormatter(_JsonLines())
    close()
    _log.addHandler(handler)
    return path


def close() -> None:
    """Stop writing to the audit file (if any); later events go to the console only."""
    for handler in list(_log.handlers):
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            _log.removeHandler(handler)
            handler.close()


def _clean(value: object) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    return text if len(text) <= MAX_FIELD_CHARS else text[:MAX_FIELD_CHARS] + "…"


def record(event: str, **fields: object) -> None:
    """One audit line: the UTC time, `event`, and `fields` (strings cut at 200 characters)."""
    entry: dict[str, object] = {
        "time_utc": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "event": event,
    }
    entry |= {name: _clean(value) for name, value in fields.items()}
    _log.info(json.dumps(entry, ensure_ascii=False, separators=(", ", ": ")))
