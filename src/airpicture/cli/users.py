"""`airpicture users add|remove|list FILE`: the operators' accounts for `airpicture serve`.

Passwords are read from the terminal (twice) or, with `--password-stdin`, from
the first line of standard input; the file keeps only a salted scrypt hash.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from airpicture.errors import InputError
from airpicture.web.auth import Account, load_users, make_account, save_users


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "users",
        help="manage the operators' accounts of `airpicture serve` (a users file)",
        description="Add, remove or list the accounts in a users file for `airpicture serve`.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add an account (or change its password and nation)")
    add.add_argument("file", type=Path, help="users file (made if missing)")
    add.add_argument("name", help="user name")
    add.add_argument(
        "--nation", required=True, help="the nation whose picture it sees (USA, JPN, …, or ALL)"
    )
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    remove = actions.add_parser("remove", help="remove an account")
    remove.add_argument("file", type=Path)
    remove.add_argument("name")
    listing = actions.add_parser("list", help="list the accounts and their nations")
    listing.add_argument("file", type=Path)
    parser.set_defaults(func=run)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise InputError("password", ["the two entries differ; try again"])
    return first


def run(args: argparse.Namespace) -> int:
    console = Console()
    path: Path = args.file
    if args.action == "add":
        accounts: dict[str, Account] = dict(load_users(path)) if path.exists() else {}
        nation = str(args.nation).upper()
        accounts[args.name] = make_account(args.name, nation, _read_password(args.password_stdin))
        save_users(path, accounts)
        console.print(f"{args.name} ({nation}) saved in {path}")
    elif args.action == "remove":
        accounts = dict(load_users(path))
        if accounts.pop(args.name, None) is None:
            raise InputError(str(path), [f"no account named {args.name!r}"])
        save_users(path, accounts)
        console.print(f"{args.name} removed from {path}")
    else:
        for account in load_users(path).values():
            console.print(f"{account.name}\t{account.nation}", markup=False, highlight=False)
    return 0
