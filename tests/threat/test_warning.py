"""The warning struct: warnings.jsonl round trip, the wire form, and the active-alert rule."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.threat.warning import (
    KINDS,
    LaunchFix,
    PredictedImpact,
    Warning,
    WarningLineError,
    active_warnings,
    closing_notice,
    read_warnings,
    write_warnings,
)

IMPACT = PredictedImpact(lat_deg=41.3, lon_deg=156.4, time_s=1190.0, semi_major_m=180000,
                         semi_minor_m=60000, orientation_deg=80.0, confidence=0.95)  # fmt: skip


def _row(t: float, wid: str, kind: str, seq: int, expires_s: float | None = None) -> Warning:
    return msgspec.convert(
        {"time_s": t, "warning_id": wid, "kind": kind, "text": kind, "sequence": seq,
         "recipients": ["USA", "JPN"], "expires_s": expires_s},
        Warning,
    )  # fmt: skip


def test_a_line_has_the_documented_keys_only(tmp_path: Path) -> None:
    w = Warning(time_s=400.0, warning_id="USA-L001", kind="impact_area", text="t",
                recipients=("USA",), track_id="T1", sequence=2, expires_s=1310.0,
                predicted_impact=IMPACT)  # fmt: skip
    write_warnings(tmp_path / "warnings.jsonl", [w])
    line = json.loads((tmp_path / "warnings.jsonl").read_text())
    assert set(line) == {"time_s", "warning_id", "kind", "text", "recipients", "track_id",
                         "sequence", "expires_s", "predicted_impact"}  # fmt: skip
    assert line["predicted_impact"]["semi_major_m"] == 180000
    assert read_warnings(tmp_path / "warnings.jsonl") == [w]


def test_a_bad_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "warnings.jsonl"
    good = msgspec.json.encode(_row(1.0, "W", "launch", 1)).decode()
    path.write_text(good + "\n" + good.replace('"launch"', '"shouting"') + "\n")
    with pytest.raises(WarningLineError) as info:
        read_warnings(path)
    assert info.value.line == 2 and "kind" in info.value.reason


@settings(max_examples=50, deadline=None)
@given(
    st.sampled_from(KINDS),
    st.floats(0, 1e5),
    st.lists(st.sampled_from(["USA", "JPN", "AUS"]), min_size=1, max_size=3, unique=True),
    st.one_of(st.none(), st.floats(0, 1e5)),
)
def test_json_and_msgpack_round_trip(
    kind: str, time_s: float, recipients: list[str], expires_s: float | None
) -> None:
    w = msgspec.structs.replace(
        _row(time_s, "JPN-B001", kind, 1, expires_s),
        recipients=tuple(recipients),
        launch=LaunchFix(lat_deg=39.0, lon_deg=125.8, time_s=20.0, radius_m=12000),
    )
    assert msgspec.json.decode(msgspec.json.encode(w), type=Warning) == w
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(w), type=Warning) == w


def test_an_alert_is_on_until_its_latest_row_closes_it_or_expires() -> None:
    rows = [
        _row(10.0, "USA-L001", "launch", 1, expires_s=1000.0),
        _row(60.0, "USA-L001", "impact_area", 2, expires_s=500.0),
        _row(400.0, "USA-L001", "fell_at_sea", 3),
        _row(20.0, "USA-C001", "asset_threat", 1, expires_s=300.0),
    ]
    assert active_warnings(rows, 5.0) == []
    assert [w.kind for w in active_warnings(rows, 30.0)] == ["launch", "asset_threat"]
    assert [w.kind for w in active_warnings(rows, 100.0)] == ["impact_area", "asset_threat"]
    # The cruise alert lapsed at 300 s with no closing row; the missile fell at 400 s.
    assert [w.kind for w in active_warnings(rows, 350.0)] == ["impact_area"]
    assert active_warnings(rows, 400.0) == []
    # The order rows arrive in does not matter: the latest row decides.
    assert active_warnings(rows[::-1], 400.0) == []


def test_a_closing_notice_keeps_only_that_the_alert_ended() -> None:
    fell = msgspec.structs.replace(
        _row(400.0, "USA-L001", "fell_at_sea", 5), issued_by="USA", predicted_impact=IMPACT
    )
    notice = closing_notice(fell, ("AUS",))
    assert notice.recipients == ("AUS",) and notice.closes
    assert (notice.warning_id, notice.kind, notice.sequence) == ("USA-L001", "fell_at_sea", 5)
    assert notice.predicted_impact is None and "USA-L001" in notice.text
    assert active_warnings([_row(60.0, "USA-L001", "impact_area", 2, 500.0), notice], 400.0) == []
