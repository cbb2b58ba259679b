"""The `--out` folder, checked before any work starts: not a file, and writable."""

from __future__ import annotations

import tempfile
from pathlib import Path

from airpicture.errors import InputError


def check_out_dir(out: Path, option: str = "--out") -> Path:
    """Make `out` (and its parents) and prove it writable; `InputError` naming it otherwise.

    Called before a long run, so a typo'd or read-only place fails in a second
    with one message, not after minutes of simulation with a traceback.
    """
    source = f"{option} {out}"
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        where = "is" if existing == out else f"is inside {existing}, which is"
        raise InputError(
            source, [f"{where} a file, not a folder; give a new or existing folder for the outputs"]
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(
            source,
            [f"cannot write there ({reason}); give a folder you may write to, e.g. out/NAME"],
        ) from None
    return out
