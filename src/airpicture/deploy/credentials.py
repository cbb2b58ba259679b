"""NKey users: a new key pair per user, its seed written 0600, read back with plain errors.

A user authenticates by signing the server's nonce with its seed; the server
holds only the public key (`U…`). The seed file is the user's whole secret.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import nkeys

from airpicture.deploy.pki import write_secret
from airpicture.errors import InputError


@dataclass(frozen=True)
class NKeyUser:
    """A user's public key (what the server config names) and its seed file."""

    public_key: str
    seed_file: Path


def new_user_seed() -> bytes:
    """A fresh user seed (`SU…`)."""
    seed: bytes = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    return seed


def public_key_of(seed: bytes) -> str:
    key: bytes = nkeys.from_seed(bytearray(seed)).public_key
    return key.decode()


def write_user(seed_file: Path) -> NKeyUser:
    """Make a user and write its seed to `seed_file` (0600)."""
    seed = new_user_seed()
    write_secret(seed_file, seed + b"\n")
    return NKeyUser(public_key_of(seed), seed_file)


def read_user(seed_file: Path, expected_public_key: str | None = None) -> NKeyUser:
    """Read a seed file, refusing a missing, malformed or foreign one with the fix in the message.

    `expected_public_key` is the key the deployment registered for this user:
    a seed that signs as someone else would only be refused by the server later,
    with a vaguer "authorization violation".
    """
    fix = "use the file `airpicture exercise init` wrote, or run it again"
    try:
        text = seed_file.read_bytes().strip()
    except FileNotFoundError:
        raise InputError(str(seed_file), [f"NKey seed file is missing: {fix}"]) from None
    except OSError as exc:
        raise InputError(
            str(seed_file), [f"NKey seed file cannot be read ({exc}): {fix}"]
        ) from None
    try:
        public = public_key_of(text)
    except (nkeys.NkeysError, ValueError, IndexError):
        raise InputError(
            str(seed_file), [f"not an NKey user seed (expected one line starting 'SU'): {fix}"]
        ) from None
    if not public.startswith("U"):
        raise InputError(
            str(seed_file), [f"a seed, but not a user's (it signs as {public}): {fix}"]
        )
    if expected_public_key is not None and public != expected_public_key:
        raise InputError(
            str(seed_file),
            [
                f"this seed belongs to user {public}, not to the deployment's"
                f" {expected_public_key}: {fix}"
            ],
        )
    return NKeyUser(public, seed_file)
