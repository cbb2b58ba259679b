"""The links between accounts follow the release rules exactly (no server needed)."""

from __future__ import annotations

from pathlib import Path

from airpicture.deploy.accounts import Route, routes, user_permissions
from airpicture.scenario.load import load_scenario
from tests.deploy.conftest import PACIFIC_SHIELD
from tests.deploy.helpers import SMALL_POLICY, write_small_policy


def _table(found: list[Route]) -> set[tuple[str, str, str]]:
    """The data links; every pair with one also has a heartbeat link (checked here)."""
    data = {(r.sender, r.receiver, r.kind) for r in found if r.kind != "heartbeat"}
    beats = {(r.sender, r.receiver) for r in found if r.kind == "heartbeat"}
    assert beats == {(s, r) for s, r, _ in data}
    return data


def test_pacific_shield_links_are_the_release_rules() -> None:
    found = _table(routes(load_scenario(PACIFIC_SHIELD).scenario))
    # Plots go only USA <-> JPN; everything else shares tracks (and the warnings about them).
    assert found == {
        ("USA", "JPN", "plots"), ("USA", "JPN", "tracks"), ("USA", "JPN", "warnings"),
        ("JPN", "USA", "plots"), ("JPN", "USA", "tracks"), ("JPN", "USA", "warnings"),
        ("USA", "AUS", "tracks"), ("USA", "AUS", "warnings"),
        ("JPN", "AUS", "tracks"), ("JPN", "AUS", "warnings"),
        ("AUS", "USA", "tracks"), ("AUS", "USA", "warnings"),
        ("AUS", "JPN", "tracks"), ("AUS", "JPN", "warnings"),
    }  # fmt: skip


def test_every_link_has_a_heartbeat_and_nothing_else_does(tmp_path: Path) -> None:
    nations = dict(SMALL_POLICY["nations"], GBR={"release": {"tracks": [], "plots": []}})
    found = routes(load_scenario(write_small_policy(tmp_path, nations)).scenario)
    # CAN may send nothing to anyone: no heartbeat from it either (nobody watches it).
    assert sorted((r.sender, r.receiver) for r in found if r.kind == "heartbeat") == [
        ("GBR", "USA"),
        ("USA", "GBR"),
    ]


def test_aus_gets_no_plots_from_anyone() -> None:
    found = routes(load_scenario(PACIFIC_SHIELD).scenario)
    assert not [r for r in found if r.receiver == "AUS" and r.kind == "plots"]


def test_a_small_policy_of_our_own(tmp_path: Path) -> None:
    found = _table(routes(load_scenario(write_small_policy(tmp_path)).scenario))
    assert found == {
        # GBR releases everything to both partners.
        ("GBR", "USA", "plots"), ("GBR", "USA", "tracks"), ("GBR", "USA", "warnings"),
        ("GBR", "CAN", "plots"), ("GBR", "CAN", "tracks"), ("GBR", "CAN", "warnings"),
        # USA's own tracks go to GBR only ...
        ("USA", "GBR", "tracks"), ("USA", "GBR", "warnings"),
        # ... but a track USA makes from GBR's plots carries GBR's marking, which names CAN;
        # likewise CAN may pass on tracks made from GBR's plots to USA, and to GBR itself.
        ("USA", "CAN", "tracks"), ("USA", "CAN", "warnings"),
        ("CAN", "USA", "tracks"), ("CAN", "USA", "warnings"),
        ("CAN", "GBR", "tracks"), ("CAN", "GBR", "warnings"),
    }  # fmt: skip


def test_when_gbr_releases_nothing_only_usa_tracks_flow(tmp_path: Path) -> None:
    nations = dict(SMALL_POLICY["nations"], GBR={"release": {"tracks": [], "plots": []}})
    path = write_small_policy(tmp_path, nations)
    found = routes(load_scenario(path).scenario)
    # GBR now releases nothing and CAN holds nothing it may pass on: only USA's tracks go to GBR,
    # and GBR may return tracks made from them (their marking names USA) — but never to CAN.
    assert _table(found) == {
        ("USA", "GBR", "tracks"), ("USA", "GBR", "warnings"),
        ("GBR", "USA", "tracks"), ("GBR", "USA", "warnings"),
    }  # fmt: skip


def test_a_node_may_publish_only_on_the_links_its_account_imports() -> None:
    found = routes(load_scenario(PACIFIC_SHIELD).scenario)
    allowed = user_permissions("AUS", "node", found)["publish"]["allow"]
    links = sorted(s for s in allowed if s.startswith("ap.link."))
    assert links == [
        "ap.link.JPN.AUS.heartbeat",
        "ap.link.JPN.AUS.tracks",
        "ap.link.JPN.AUS.warnings",
        "ap.link.USA.AUS.heartbeat",
        "ap.link.USA.AUS.tracks",
        "ap.link.USA.AUS.warnings",
    ]


def test_a_feed_may_publish_only_its_own_sensor_reports() -> None:
    perms = user_permissions("JPN", "feed", [])
    assert perms["publish"]["allow"] == ["ap.sensor.JPN.>"]
    assert perms["subscribe"]["allow"] == ["_INBOX_FEED_JPN.>"]
