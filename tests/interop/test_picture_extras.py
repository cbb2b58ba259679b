"""What a picture carries beyond the kinematics — 1σ position errors, identification,
Mode 3/A, Mode C, update ages — from the tracks into picture rows, out in CAT062
(read back by the project's decoder and by asterix_decoder) and in CoT (takproto), and
a picture without those columns still loads and is evaluated as before."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import takproto
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.cli import main
from airpicture.geo import enu_basis, geodetic_to_ecef
from airpicture.interop.asterix import (
    AGE_062_MAX_S,
    GEO_HEIGHT_LSB_M,
    QUARTER_FL_M,
    AsterixDecoder,
    SystemCode,
    encode_cat062,
)
from airpicture.interop.cot import (
    CE90_PER_SIGMA,
    LE90_PER_SIGMA,
    UNKNOWN_ERROR_M,
    cot_events,
    event_xml,
)
from airpicture.metrics import evaluate_run
from airpicture.metrics.synthetic import SyntheticSpec, synthetic_run
from airpicture.tables import PICTURE_OPTIONAL_COLUMNS, PICTURE_SCHEMA, read_table, write_table
from airpicture.tracking.view import TrackView, picture_rows, update_times
from tests.interop.asterix_tables import EPOCH, SENSORS, picture_with_extras
from tests.interop.independent import asterix_decoder_parse, value
from tests.interop.test_cot import pytak_read

APC_HALF_LSB_M = 0.25 + 1e-9
AGE_HALF_LSB_S = 0.125 + 1e-9
FT_M = 0.3048


def expected_sigma_xy(rows: dict[str, Any], i: int) -> tuple[float, float]:
    """I500 APC carries σe and σn together, both finite and ≤ 32,767.5 m."""
    e, n = float(rows["sigma_e_m"][i]), float(rows["sigma_n_m"][i])
    if math.isfinite(e) and math.isfinite(n):
        return e, n
    return math.nan, math.nan


def expected_sigma_u(rows: dict[str, Any], i: int) -> float:
    """I500 AGA: 8 bits of 6.25 ft, up to 485.8 m; beyond it, left out."""
    u = float(rows["sigma_u_m"][i])
    return u if math.isfinite(u) and u <= 255 * GEO_HEIGHT_LSB_M else math.nan


def expected_age(rows: dict[str, Any], name: str, i: int) -> float:
    age = float(rows[name][i])
    return min(age, AGE_062_MAX_S) if math.isfinite(age) else math.nan


def close_or_both_nan(a: float, b: float, tolerance: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tolerance


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_the_extra_columns_survive_cat062(seed: int) -> None:
    rows = picture_with_extras(n_tracks=6, n_snapshots=3, seed=seed)
    decoder = AsterixDecoder(list(SENSORS.values()), EPOCH)
    parts = [
        decoder.decode(d.data).tracks
        for d in encode_cat062(rows, SystemCode(9, 9), EPOCH).datagrams
    ]
    back = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.lexsort((rows["track_id"].astype(str), rows["time_s"]))
    assert back["ident"].tolist() == [rows["ident"][i] for i in order]
    assert back["mode3a"].tolist() == [rows["mode3a"][i] for i in order]
    for j, i in enumerate(order.tolist()):
        e, n = expected_sigma_xy(rows, i)
        assert close_or_both_nan(back["sigma_e_m"][j], e, APC_HALF_LSB_M)
        assert close_or_both_nan(back["sigma_n_m"][j], n, APC_HALF_LSB_M)
        u = expected_sigma_u(rows, i)
        assert close_or_both_nan(back["sigma_u_m"][j], u, GEO_HEIGHT_LSB_M / 2 + 1e-9)
        for name in ("psr_age_s", "ssr_age_s", "ads_age_s"):
            assert close_or_both_nan(back[name][j], expected_age(rows, name, i), AGE_HALF_LSB_S)
        assert close_or_both_nan(
            back["pressure_alt_m"][j], rows["pressure_alt_m"][i], QUARTER_FL_M / 2 + 1e-9
        )


def test_the_extra_columns_decode_in_asterix_decoder_to_the_rows_they_were_made_from() -> None:
    rows = picture_with_extras(n_tracks=40, n_snapshots=3, seed=290)
    encoded = encode_cat062(rows, SystemCode(sac=2, sic=100), EPOCH)
    theirs = asterix_decoder_parse(b"".join(d.data for d in encoded.datagrams))
    assert not encoded.skipped and len(theirs) == 120
    order = np.lexsort((rows["track_id"].astype(str), rows["time_s"]))
    written = {"APC": 0, "AGA": 0, "PSR": 0, "SSR": 0, "ES": 0, "I060": 0, "I245": 0, "ADR": 0}
    for record, i in zip(theirs, order.tolist(), strict=True):
        e, n = expected_sigma_xy(rows, i)
        x, y = value(record, "I500", "APC", "APC_X"), value(record, "I500", "APC", "APC_Y")
        assert close_or_both_nan(math.nan if x is None else x, e, APC_HALF_LSB_M)
        assert close_or_both_nan(math.nan if y is None else y, n, APC_HALF_LSB_M)
        written["APC"] += x is not None
        aga = value(record, "I500", "AGA", "AGA_Acc")  # feet
        u = expected_sigma_u(rows, i)
        assert close_or_both_nan(
            math.nan if aga is None else aga * FT_M, u, GEO_HEIGHT_LSB_M / 2 + 1e-6
        )
        written["AGA"] += aga is not None
        for name, sub in (("psr_age_s", "PSR"), ("ssr_age_s", "SSR"), ("ads_age_s", "ES")):
            age = value(record, "I290", sub, sub)
            assert close_or_both_nan(
                math.nan if age is None else age, expected_age(rows, name, i), AGE_HALF_LSB_S
            )
            written[sub] += age is not None
        mode3a = value(record, "I060", "Mode3A")
        assert (mode3a or "") == rows["mode3a"][i]
        written["I060"] += mode3a is not None
        pressure = value(record, "I136", "MFL")  # feet
        assert close_or_both_nan(
            math.nan if pressure is None else pressure * FT_M,
            rows["pressure_alt_m"][i],
            QUARTER_FL_M / 2 + 1e-6,
        )
        callsign = value(record, "I245", "TId")
        address = value(record, "I380", "ADR", "ADR")
        ident = rows["ident"][i]
        if ident and len(ident) == 6 and all(c in "0123456789abcdef" for c in ident):
            assert address.lower() == ident and callsign is None
        else:
            assert (callsign or "").rstrip() == ident and address is None
        written["I245"] += callsign is not None
        written["ADR"] += address is not None
    # every kind of value was exercised, and its absence too
    assert all(0 < count < 120 for count in written.values()), written


def test_cot_ce_and_le_come_from_the_pictures_sigma_columns() -> None:
    rows = picture_with_extras(n_tracks=5, n_snapshots=1, seed=3)
    rows["sigma_e_m"][:] = [30.0, 30.0, np.nan, 10.0, 0.0]
    rows["sigma_n_m"][:] = [40.0, 40.0, 5.0, 10.0, 0.0]
    rows["sigma_u_m"][:] = [20.0, np.nan, 5.0, 10.0, 0.0]
    rows["ident"][:] = ["BAW123", "4ca1f2", "", "QFA1", ""]
    events = cot_events(rows, EPOCH, 15.0)  # one per row, in the rows' order
    for event, i in zip(events, range(5), strict=True):
        cot = takproto.parse_proto(bytearray(event_xml(event))).cotEvent
        e, n, u = (float(rows[c][i]) for c in ("sigma_e_m", "sigma_n_m", "sigma_u_m"))
        ce = CE90_PER_SIGMA * math.sqrt((e**2 + n**2) / 2) if math.isfinite(e + n) else None
        le = LE90_PER_SIGMA * u if math.isfinite(u) else None
        assert cot.ce == pytest.approx(UNKNOWN_ERROR_M if ce is None else ce, abs=0.05)
        assert cot.le == pytest.approx(UNKNOWN_ERROR_M if le is None else le, abs=0.05)
        assert cot.detail.contact.callsign == (rows["ident"][i] or rows["track_id"][i])
    assert events[0].ce_m == pytest.approx(2.146 * math.sqrt((30.0**2 + 40.0**2) / 2), abs=0.1)


def test_picture_rows_give_the_tracks_enu_sigmas_ident_and_what_the_tracker_knows() -> None:
    lat, lon = np.array([35.0, -33.9]), np.array([139.0, 151.2])
    basis = enu_basis(lat, lon)
    x = np.zeros((2, 6))
    x[:, :3] = geodetic_to_ecef(lat, lon, np.array([10_000.0, 3_000.0]))
    # P_pos = R' diag(σe², σn², σu²) R: known ENU errors put into ECEF
    sigma = np.array([[100.0, 200.0, 50.0], [15.0, 15.0, 400.0]])
    P = np.zeros((2, 6, 6))
    P[:, :3, :3] = np.einsum("nji,nj,njk->nik", basis, sigma**2, basis)
    P[:, 3:, 3:] = np.eye(3)
    view = TrackView(
        time_s=100.0,
        track_id=np.array(["T00001", "T00002"], dtype=object),
        number=np.array([1, 2]),
        confirmed=np.ones(2, dtype=bool),
        x=x,
        P=P,
        mode_probabilities=np.ones((2, 1)),
        mode_names=("cv",),
        ident=np.array(["BAW123", "4ca1f2"]),
        sources=np.array([["R1"], ["A1"]], dtype=object),
        mode3a=np.array(["7000", ""], dtype=object),
        pressure_alt_m=np.array([9_900.0, np.nan]),
        updated_s={"update": np.array([99.0, 98.5]), "psr": np.array([99.0, -np.inf])},
    )
    rows = picture_rows(view, "JPN", None, np.array(["unknown"] * 2, dtype=object))
    got = np.stack([rows["sigma_e_m"], rows["sigma_n_m"], rows["sigma_u_m"]], axis=-1)
    assert np.allclose(got, sigma, rtol=1e-9)
    assert rows["ident"].tolist() == ["BAW123", "4ca1f2"]
    assert rows["mode3a"].tolist() == ["7000", ""]
    assert rows["pressure_alt_m"][0] == 9_900.0 and np.isnan(rows["pressure_alt_m"][1])
    assert rows["update_age_s"].tolist() == [1.0, 1.5]
    assert rows["psr_age_s"][0] == 1.0 and np.isnan(rows["psr_age_s"][1])  # never by a PSR
    assert np.isnan(rows["ssr_age_s"]).all() and np.isnan(rows["ads_age_s"]).all()
    assert set(PICTURE_OPTIONAL_COLUMNS) <= set(rows)


def test_a_tracker_that_says_nothing_more_gives_nan_and_empty_columns() -> None:
    x = np.zeros((1, 6))
    x[:, :3] = geodetic_to_ecef(np.array([0.0]), np.array([0.0]), np.array([0.0]))
    view = TrackView(
        time_s=0.0,
        track_id=np.array(["T1"], dtype=object),
        number=np.array([1]),
        confirmed=np.ones(1, dtype=bool),
        x=x,
        P=np.eye(6)[None] * 4.0,
        mode_probabilities=np.ones((1, 1)),
        mode_names=("cv",),
        ident=np.array([""]),
        sources=np.array([["R1"]], dtype=object),
    )
    rows = picture_rows(view, "JPN", None, np.array(["unknown"], dtype=object))
    assert rows["sigma_e_m"][0] == pytest.approx(2.0) and rows["sigma_u_m"][0] == pytest.approx(2.0)
    assert rows["mode3a"].tolist() == [""] and rows["ident"].tolist() == [""]
    for name in ("pressure_alt_m", "update_age_s", "psr_age_s", "ssr_age_s", "ads_age_s"):
        assert np.isnan(rows[name]).all()


def test_a_picture_without_the_new_columns_loads_and_is_evaluated_the_same(
    tmp_path: Path,
) -> None:
    run_dir = synthetic_run(
        SyntheticSpec(n_targets=8, n_steps=10), np.random.default_rng(14)
    ).write(tmp_path / "run")
    with_columns = evaluate_run(run_dir, write_report=False)
    table = pq.read_table(run_dir / "picture.parquet")
    old = [f.name for f in PICTURE_SCHEMA if f.name not in PICTURE_OPTIONAL_COLUMNS]
    pq.write_table(table.select(old), run_dir / "picture.parquet")
    rows = read_table(run_dir / "picture.parquet", PICTURE_SCHEMA)
    assert np.isnan(rows["sigma_e_m"]).all() and set(rows["ident"].tolist()) == {""}
    without = evaluate_run(run_dir, write_report=False)
    assert without["viewers"] == with_columns["viewers"]


def test_update_times_are_the_latest_hit_by_each_kind_of_sensor() -> None:
    last_hit = np.array(
        [
            [10.0, np.nan, 12.0, 3.0, 11.0],  # hit by everything
            [np.nan, 7.0, np.nan, np.nan, np.nan],  # by one 2D radar only
        ]
    )
    types = ["radar", "radar2d", "adsb", "oth", "radar"]
    got = update_times(last_hit, types)
    assert got["update"].tolist() == [12.0, 7.0]
    assert got["psr"].tolist() == [11.0, -np.inf]
    assert got["ssr"].tolist() == [-np.inf, 7.0]
    assert got["ads"].tolist() == [12.0, -np.inf]


def test_export_puts_a_pictures_extra_columns_out_in_cat062_and_cot(tmp_path: Path) -> None:
    rows = picture_with_extras(n_tracks=6, n_snapshots=3, seed=11)
    write_table(tmp_path / "picture.parquet", rows, PICTURE_SCHEMA)
    info = {"epoch": "2026-05-01T23:59:58Z", "nations": ["JPN"], "picture_interval_s": 5.0}
    (tmp_path / "run.json").write_text(json.dumps(info))
    for fmt in ("asterix062", "cot-xml"):
        args = ["export", str(tmp_path), "--format", fmt, "--viewer", "JPN"]
        assert main([*args, "--out", str(tmp_path / fmt)]) == 0
    records = asterix_decoder_parse((tmp_path / "asterix062").read_bytes())
    assert len(records) == 18
    order = np.lexsort((rows["track_id"].astype(str), rows["time_s"]))
    for j, i in enumerate(order.tolist()):
        record = records[j]
        assert value(record, "I040", "TrkN") == int(rows["track_id"][i])
        e, _ = expected_sigma_xy(rows, i)
        x = value(record, "I500", "APC", "APC_X")
        assert close_or_both_nan(math.nan if x is None else x, e, APC_HALF_LSB_M)
    events = (tmp_path / "cot-xml").read_bytes().split(b"\n<?xml")
    assert len(events) == 18
    # pytak's receiver takes the events off the stream; ce from the row's σ
    first = ET.fromstring(pytak_read(events[0], protocol=0).split(b"?>", 1)[1])
    k = 0  # export writes the rows in the picture's order
    e, n = expected_sigma_xy(rows, k)
    expected_ce = CE90_PER_SIGMA * math.sqrt((e**2 + n**2) / 2) if math.isfinite(e) else None
    ce = float(first.find("point").get("ce"))
    assert ce == pytest.approx(UNKNOWN_ERROR_M if expected_ce is None else expected_ce, abs=0.05)
