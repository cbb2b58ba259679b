"""The independent decoders the codecs are checked against, each run where it lives.

CroatiaControl's `asterix_decoder` installs under the import name `asterix`, as
libasterix does, so it has its own environment (`.venv-asterix-decoder`, made by
`make setup`) and runs in a subprocess: bytes in on stdin, JSON out.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO

DECODER_PYTHON = REPO / ".venv-asterix-decoder" / "bin" / "python"

_PARSE = """
import asterix, json, sys
data = sys.stdin.buffer.read()
json.dump(asterix.parse(data, verbose=False), sys.stdout)
"""
_SAMPLE = """
import asterix, sys
sys.stdout.buffer.write(open(asterix.get_sample_file(sys.argv[1]), "rb").read())
"""


def require_decoder() -> Path:
    if not DECODER_PYTHON.is_file():
        if os.environ.get("CI"):
            raise AssertionError(f"{DECODER_PYTHON} is missing: `make setup` makes it")
        pytest.skip("asterix_decoder's environment is missing: run `make setup`")
    return DECODER_PYTHON


def asterix_decoder_parse(data: bytes) -> list[dict[str, Any]]:
    """Every record of `data` as asterix_decoder decodes it (one dict per record)."""
    python = require_decoder()
    done = subprocess.run(
        [str(python), "-c", _PARSE], input=data, capture_output=True, check=True, timeout=120
    )
    records: list[dict[str, Any]] = json.loads(done.stdout)
    return records


def sample_file(name: str) -> bytes:
    """A recording shipped in asterix_decoder's source distribution."""
    python = require_decoder()
    done = subprocess.run(
        [str(python), "-c", _SAMPLE, name], capture_output=True, check=True, timeout=60
    )
    return done.stdout


def value(record: dict[str, Any], item: str, *path: str) -> Any:
    """`record[item][path...]["val"]`, None when absent."""
    node: Any = record.get(item)
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node.get("val") if isinstance(node, dict) else None
