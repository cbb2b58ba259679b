"""Operators' accounts and signed-in sessions.

Accounts live in a users file that the operator makes with `airpicture users
add FILE NAME --nation USA` (docs/web.md, "Accounts"): one JSON object,
`{"version": 1, "users": {name: {"nation": ..., "scrypt": {salt, n, r, p,
hash}}}}`, passwords salted and hashed with scrypt (hashlib), never stored.
The server holds sessions in memory: a random token in an HttpOnly,
SameSite=Strict cookie maps to (user, nation); the nation is fixed at sign-in
and decides everything the session receives.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from airpicture.errors import InputError

USERS_FILE_VERSION: Final = 1
SCRYPT_N: Final = 2**14
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
SALT_BYTES: Final = 16
HASH_BYTES: Final = 32
USER_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
#: ISO 3166-1 alpha-3, or ALL (exercise control: the centralized picture).
NATION_CODE = re.compile(r"^(?:[A-Z]{3}|ALL)$")
MIN_PASSWORD_CHARS: Final = 8
MAX_PASSWORD_CHARS: Final = 1024
#: Sessions one account may hold (a nation's watch floor may share one account); a new
#: sign-in beyond ends its oldest. Bounds the memory one stolen password can take.
MAX_SESSIONS_PER_ACCOUNT: Final = 64
SESSION_IDLE_S: Final = 12 * 3600.0


@dataclass(frozen=True)
class Account:
    name: str
    nation: str
    salt: bytes
    n: int
    r: int
    p: int
    digest: bytes


def hash_password(
    password: str, salt: bytes, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P
) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=HASH_BYTES, maxmem=2**26
    )


def make_account(name: str, nation: str, password: str) -> Account:
    """A new account; checks the name, nation code and password length."""
    if not USER_NAME.match(name):
        raise InputError(
            "user name", [f"{name!r}: use 1–64 letters, digits or . _ @ - (no spaces)"]
        )
    if not NATION_CODE.match(nation):
        raise InputError(
            "--nation",
            [
                f"{nation!r}: give an ISO 3166-1 alpha-3 code such as USA, JPN, AUS, "
                "or ALL for exercise control"
            ],
        )
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise InputError(
            "password", [f"use {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"]
        )
    salt = secrets.token_bytes(SALT_BYTES)
    return Account(name, nation, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, hash_password(password, salt))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def account_json(account: Account) -> dict[str, Any]:
    return {
        "nation": account.nation,
        "scrypt": {
            "salt": _b64(account.salt),
            "n": account.n,
            "r": account.r,
            "p": account.p,
            "hash": _b64(account.digest),
        },
    }


def load_users(path: Path) -> dict[str, Account]:
    """Read a users file, naming the file and the account on any problem."""
    if not path.is_file():
        raise InputError(
            str(path),
            ["no such users file; make one with `airpicture users add FILE NAME --nation USA`"],
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}", [f"not JSON ({exc.msg})"]) from exc
    if not isinstance(data, dict) or data.get("version") != USERS_FILE_VERSION:
        raise InputError(
            str(path), [f"not an airpicture users file (version {USERS_FILE_VERSION})"]
        )
    users = data.get("users")
    if not isinstance(users, dict):
        raise InputError(str(path), ["field 'users' must be an object of accounts"])
    out: dict[str, Account] = {}
    for name, entry in users.items():
        try:
            params = entry["scrypt"]
            account = Account(
                name=str(name),
                nation=str(entry["nation"]),
                salt=base64.b64decode(params["salt"], validate=True),
                n=int(params["n"]),
                r=int(params["r"]),
                p=int(params["p"]),
                digest=base64.b64decode(params["hash"], validate=True),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(
                str(path),
                [f"account {name!r} is malformed ({exc}); re-add it with `airpicture users add`"],
            ) from exc
        if not NATION_CODE.match(account.nation) or not USER_NAME.match(account.name):
            raise InputError(str(path), [f"account {name!r} has an invalid name or nation"])
        out[account.name] = account
    return out


def save_users(path: Path, accounts: Mapping[str, Account]) -> None:
    """Write the users file, readable by its owner only."""
    data = {
        "version": USERS_FILE_VERSION,
        "users": {name: account_json(a) for name, a in sorted(accounts.items())},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


@dataclass
class Session:
    token: str
    user: str
    viewer: str
    last_seen: float


@dataclass
class SignInError(Exception):
    """Why a sign-in was refused: `status` is the HTTP status to answer with."""

    status: int
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class Authenticator:
    """Checks passwords and holds the signed-in sessions (in memory).

    Rate limits live in `web.guard` (they need the client's address). With
    `users_file`, `reload_if_changed` reads the file again when it changes and ends
    the sessions of accounts removed from it, or whose password or nation changed.
    """

    accounts: Mapping[str, Account]
    #: The viewers this server can serve; an account for any other nation is refused.
    servable: frozenset[str]
    clock: Callable[[], float] = time.monotonic
    sessions: dict[str, Session] = field(default_factory=dict)
    users_file: Path | None = None
    #: Which of the users file's accounts this server takes (a node: its own nation's).
    keep: Callable[[Account], bool] | None = None
    max_sessions_per_account: int = MAX_SESSIONS_PER_ACCOUNT
    _dummy_salt: bytes = field(default_factory=lambda: secrets.token_bytes(SALT_BYTES))
    _users_stamp: tuple[int, int, int] | None = None

    def __post_init__(self) -> None:
        if self.users_file is not None:
            self._users_stamp = _stamp(self.users_file)

    @classmethod
    def from_file(
        cls,
        users_file: Path,
        servable: frozenset[str],
        keep: Callable[[Account], bool] | None = None,
    ) -> Authenticator:
        """The accounts of `users_file` (those `keep` takes), watched for changes."""
        stamp = _stamp(users_file)
        accounts = load_users(users_file)
        if keep is not None:
            accounts = {n: a for n, a in accounts.items() if keep(a)}
        auth = cls(accounts, servable, users_file=users_file, keep=keep)
        auth._users_stamp = stamp
        return auth

    def verify(self, name: str, password: str) -> Account | None:
        """The account if `password` is its password, else None. Pure CPU (scrypt): run it
        off the event loop. Hashes even for an unknown name, so timing does not tell
        which names exist."""
        account = self.accounts.get(name)
        password = password[:MAX_PASSWORD_CHARS]
        if account is None:
            hash_password(password, self._dummy_salt)
            return None
        candidate = hash_password(password, account.salt, account.n, account.r, account.p)
        return account if hmac.compare_digest(candidate, account.digest) else None

    def open_session(self, account: Account) -> tuple[Session, list[Session]]:
        """A new session for `account`, and the sessions this ended (beyond the account's
        `max_sessions_per_account`, its oldest); `SignInError` 403 for a nation without a
        picture here."""
        if account.nation not in self.servable:
            raise SignInError(
                403,
                f"account {account.name!r} is for {account.nation}, which has no picture in "
                f"this run (pictures: {', '.join(sorted(self.servable))})",
            )
        session = Session(secrets.token_urlsafe(32), account.name, account.nation, self.clock())
        self.sessions[session.token] = session
        mine = [s for s in self.sessions.values() if s.user == account.name]
        ended = mine[: max(0, len(mine) - self.max_sessions_per_account)]
        for old in ended:
            del self.sessions[old.token]
        return session, ended

    def sign_in(self, name: str, password: str) -> Session:
        """Check the password and open a session (no rate limits: see `web.guard`)."""
        account = self.verify(name, password)
        if account is None:
            raise SignInError(401, "wrong user name or password")
        return self.open_session(account)[0]

    def session(self, token: str | None) -> Session | None:
        """The live session of a cookie token, or None (unknown, or idle too long)."""
        if not token:
            return None
        session = self.sessions.get(token)
        if session is None:
            return None
        now = self.clock()
        if now - session.last_seen > SESSION_IDLE_S:
            del self.sessions[token]
            return None
        session.last_seen = now
        return session

    def sign_out(self, token: str | None) -> Session | None:
        """End the session of `token`; returns it (None if there was none)."""
        return self.sessions.pop(token, None) if token else None

    def reload_if_changed(self) -> tuple[list[str], list[Session]]:
        """If the users file changed: read it again, and end the sessions of accounts that
        went or changed. Returns (accounts gone or changed, sessions ended). A file that
        cannot be read keeps the accounts as they were (`InputError` says why)."""
        if self.users_file is None:
            return [], []
        stamp = _stamp(self.users_file)
        if stamp == self._users_stamp:
            return [], []
        fresh = load_users(self.users_file) if stamp is not None else {}
        self._users_stamp = stamp
        if self.keep is not None:
            fresh = {n: a for n, a in fresh.items() if self.keep(a)}
        changed = sorted(n for n, a in self.accounts.items() if fresh.get(n) != a)
        self.accounts = fresh
        ended = [s for s in self.sessions.values() if s.user in changed]
        for session in ended:
            del self.sessions[session.token]
        return changed, ended


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """What tells a changed file: (inode, size, mtime); None if it is gone."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def one_time_accounts(viewers: list[str]) -> tuple[dict[str, Account], dict[str, str]]:
    """An account per viewer (name: its code in lower case) with a random password.

    For a server started without a users file: the passwords are printed once
    on the console and live only as long as the server.
    """
    accounts: dict[str, Account] = {}
    passwords: dict[str, str] = {}
    for viewer in viewers:
        name = viewer.lower()
        password = secrets.token_urlsafe(9)
        accounts[name] = make_account(name, viewer, password)
        passwords[name] = password
    return accounts, passwords
