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

import yaml
from rich.console import Console

from airpicture.errors import InputError
from airpicture.scenario.load import read_text_file
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
    add.add_argument(
        "--scenario",
        type=Path,
        action="append",
        default=[],
        metavar="SCENARIO",
        help="the scenario(s) whose nations the account may be of (default: those in "
        "./scenarios and the repository's scenarios/)",
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


#: Where scenarios are looked for when `users add` is given none.
_REPO_SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"


def scenario_nations(scenarios: list[Path]) -> dict[str, set[str]]:
    """Each nation code of the given scenarios (or of the known scenario folders) → files."""
    if scenarios:
        files = scenarios
    else:
        folders = {Path("scenarios").resolve(), _REPO_SCENARIOS}
        files = sorted({f for d in folders if d.is_dir() for f in d.glob("*.yaml")})
    nations: dict[str, set[str]] = {}
    for file in files:
        text = read_text_file(file, "scenario file", "give a scenario .yaml (docs/scenario.md)")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InputError(str(file), [f"YAML syntax error: {exc}"]) from None
        listed = data.get("nations") if isinstance(data, dict) else None
        for nation in listed or {}:
            nations.setdefault(str(nation), set()).add(file.name)
    return nations


def check_nation(nation: str, scenarios: list[Path]) -> None:
    """`InputError` unless `nation` is ALL or a nation of some scenario."""
    if nation == "ALL":
        return
    known = scenario_nations(scenarios)
    if nation in known:
        return
    where = ", ".join(str(s) for s in scenarios) or "the scenarios in ./scenarios"
    raise InputError(
        f"--nation {nation}",
        [
            f"{nation} is a nation of no scenario ({where} know "
            f"{', '.join(sorted(known)) or 'no nations'}); give one of those, ALL for exercise "
            "control, or --scenario FILE for a scenario that has it (docs/web.md)"
        ],
    )


def _load(path: Path) -> dict[str, Account]:
    """The users file's accounts; a folder, binary or non-UTF-8 file is one clear error."""
    read_text_file(path, "users file", "give the JSON file `airpicture users add` made")
    return dict(load_users(path))


def run(args: argparse.Namespace) -> int:
    console = Console()
    path: Path = args.file
    if args.action == "add":
        nation = str(args.nation).upper()
        check_nation(nation, args.scenario)
        accounts: dict[str, Account] = _load(path) if path.exists() else {}
        accounts[args.name] = make_account(args.name, nation, _read_password(args.password_stdin))
        save_users(path, accounts)
        console.print(f"{args.name} ({nation}) saved in {path}")
    elif args.action == "remove":
        accounts = _load(path)
        if accounts.pop(args.name, None) is None:
            raise InputError(str(path), [f"no account named {args.name!r}"])
        save_users(path, accounts)
        console.print(f"{args.name} removed from {path}")
    else:
        for account in _load(path).values():
            console.print(f"{account.name}\t{account.nation}", markup=False, highlight=False)
    return 0
