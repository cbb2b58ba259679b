"""Accounts (users file, sign-in rules) and views (what each nation may see)."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import numpy as np
import pytest

from airpicture.cli import main as airpicture
from airpicture.errors import InputError
from airpicture.threat.warning import Warning
from airpicture.web.auth import Authenticator, SignInError, load_users, make_account
from airpicture.web.protocol import Place, SensorSite
from airpicture.web.sources import PictureFrame, RunInfo, read_warnings
from airpicture.web.views import assets_for, frame_for, sensors_for, unserved, view_rules


def test_users_command_keeps_only_salted_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = tmp_path / "users.json"
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert (
        airpicture(["users", "add", str(users), "ops1", "--nation", "jpn", "--password-stdin"]) == 0
    )
    text = users.read_text()
    assert "correct horse" not in text
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    accounts = load_users(users)
    assert accounts["ops1"].nation == "JPN"
    auth = Authenticator(accounts, frozenset({"JPN"}))
    assert auth.sign_in("ops1", "correct horse battery").viewer == "JPN"
    with pytest.raises(SignInError):
        auth.sign_in("ops1", "wrong")
    assert airpicture(["users", "remove", str(users), "ops1"]) == 0
    assert load_users(users) == {}


@pytest.mark.parametrize(
    ("name", "nation", "password"),
    [("bad name", "USA", "long-enough"), ("ok", "US", "long-enough"), ("ok", "USA", "short")],
)
def test_bad_accounts_are_refused_with_a_reason(name: str, nation: str, password: str) -> None:
    with pytest.raises(InputError):
        make_account(name, nation, password)


@pytest.mark.parametrize(
    "content", ["", "{", '{"version": 2, "users": {}}', '{"version": 1, "users": {"a": {}}}']
)
def test_malformed_users_files_are_named(tmp_path: Path, content: str) -> None:
    path = tmp_path / "users.json"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        load_users(path)
    assert str(path) in str(info.value)


def test_sessions_end_on_sign_out_and_on_idleness() -> None:
    now = [0.0]
    account = make_account("u", "USA", "password-1")
    auth = Authenticator({"u": account}, frozenset({"USA"}), clock=lambda: now[0])
    session = auth.sign_in("u", "password-1")
    assert auth.session(session.token) is session
    now[0] += 13 * 3600
    assert auth.session(session.token) is None
    session = auth.sign_in("u", "password-1")
    auth.sign_out(session.token)
    assert auth.session(session.token) is None
    assert auth.session(None) is None and auth.session("") is None


def _info(viewers: tuple[str, ...]) -> RunInfo:
    site = {
        s: SensorSite(id=s, nation=s[:3], type="radar", lat_deg=0.0, lon_deg=0.0)
        for s in ("USA-A", "USA-SAT", "AUS-B")
    }
    return RunInfo(
        scenario="t",
        epoch="2026-01-01T00:00:00Z",
        duration_s=10.0,
        picture_interval_s=5.0,
        fusion="centralized",
        nations=("USA", "AUS"),
        viewable_sensors={
            "USA": ("USA-A", "USA-SAT", "AUS-B"),
            "AUS": ("USA-A", "AUS-B"),
            "ALL": ("USA-A", "USA-SAT", "AUS-B"),
        },
        picture_viewers=viewers,
        sensors=site,
        assets=(
            Place(name="Guam", lat_deg=13.4, lon_deg=144.8, nation="USA", radius_m=1.0),
            Place(name="Darwin", lat_deg=-12.5, lon_deg=130.8, nation="AUS", radius_m=1.0),
        ),
    )


def test_a_nation_is_never_served_the_pooled_picture() -> None:
    """A centralized run with only `ALL` serves the nations nothing (its tracks were
    associated and numbered with sensors a nation may not hold, even where every source
    of a row is one it may); with national views each nation gets its own, unfiltered."""
    info = _info(("ALL",))
    assert set(view_rules(info)) == {"ALL"} and unserved(info) == ["USA", "AUS"]
    info = _info(("ALL", "AUS", "USA"))
    rules = view_rules(info)
    assert set(rules) == {"USA", "AUS", "ALL"} and unserved(info) == []
    assert all(r.from_viewer == r.viewer for r in rules.values())
    picture = {
        "track_id": np.array(["T1"], dtype=object),
        "viewer": np.array(["AUS"], dtype=object),
        "sources": np.array([None], dtype=object),
    }
    picture["sources"][0] = ["AUS-B"]
    warnings = [Warning(time_s=1.0, warning_id="W", kind="launch", text="", recipients=("USA",))]
    aus = frame_for(rules["AUS"], PictureFrame(5.0, "AUS", picture, warnings))
    assert list(aus.picture["track_id"]) == ["T1"] and aus.warnings == []
    assert [s.id for s in sensors_for("AUS", info)] == ["USA-A", "AUS-B"]
    assert [a.name for a in assets_for("AUS", info)] == ["Darwin"]


def test_a_distributed_run_serves_each_nation_its_own_picture_and_no_all() -> None:
    rules = view_rules(_info(("AUS", "USA")))
    assert set(rules) == {"AUS", "USA"}
    assert all(r.from_viewer == r.viewer for r in rules.values())


def test_a_bad_warnings_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "warnings.jsonl"
    good = {"time_s": 1, "warning_id": "W", "kind": "launch", "text": "t", "recipients": ["USA"]}
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "recipients": "USA"}) + "\n")
    with pytest.raises(InputError) as info:
        read_warnings(path)
    assert f"{path}:2" in str(info.value)
