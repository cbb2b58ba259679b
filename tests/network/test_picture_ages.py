"""A nation's fused picture says how old each track's updates are (CAT062 I290's ages),
its own trackers' and its partners' (carried in TrackBatch.updated_s)."""

from __future__ import annotations

import numpy as np

from airpicture.network import NetworkRun
from airpicture.sim.simulate import simulate
from tests.network.netscen import network_scenario


def test_each_nations_picture_has_the_ages_of_its_tracks_updates() -> None:
    # Share all tracks: JPN's picture fuses its own radar and ADS-B tracks with USA's and
    # AUS's radar tracks.
    loaded = network_scenario(duration_s=60.0)
    run = NetworkRun(loaded, simulate(loaded).plots)
    last = run.advance(60.0)[-1]
    for nation, rows in last.pictures.items():
        n = len(rows["time_s"])
        assert n > 0, nation
        age = rows["update_age_s"]
        assert np.isfinite(age).all() and (age >= 0.0).all() and (age < 30.0).all(), nation
        # Any sensor's update is at least as recent as each kind's (space IR counts
        # under "any sensor" only).
        kinds = np.stack([rows[f"{k}_age_s"] for k in ("psr", "ssr", "ads")])
        told = np.isfinite(kinds).any(axis=0)
        assert (age[told] <= np.nanmin(kinds[:, told], axis=0)).all(), nation
        assert np.isfinite(rows["psr_age_s"]).any()  # every nation has a 3D radar
    # JPN's ADS-B updates some of JPN's tracks: its picture says so; AUS has no ADS-B of
    # its own but holds JPN's tracks, with their ADS-B age.
    assert np.isfinite(last.pictures["JPN"]["ads_age_s"]).any()
    assert np.isfinite(last.pictures["AUS"]["ads_age_s"]).any()


def test_a_squawk_one_nations_radar_reads_reaches_every_partners_picture() -> None:
    loaded = network_scenario(duration_s=60.0)
    plots = dict(simulate(loaded).plots)
    ids = sorted(set(plots["target_id"].tolist()) - {""})
    code_of = {t: f"{i + 0o4000:04o}" for i, t in enumerate(ids)}
    by_jpn = plots["sensor_id"] == "JPN-R1"
    plots["mode3a"] = np.where(by_jpn, [code_of.get(t, "") for t in plots["target_id"]], "").astype(
        object
    )
    last = NetworkRun(loaded, plots).advance(60.0)[-1]
    for nation, rows in last.pictures.items():
        seen_by_jpn = np.array(["JPN-R1" in s for s in rows["sources"]])
        assert seen_by_jpn.any(), nation
        codes = rows["mode3a"][seen_by_jpn].tolist()
        assert all(c in code_of.values() for c in codes), (nation, codes)
        assert len(set(codes)) == len(codes)  # one aircraft, one squawk
        assert set(rows["mode3a"][~seen_by_jpn].tolist()) <= {""}
