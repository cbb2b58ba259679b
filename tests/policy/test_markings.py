"""Markings: most restrictive wins, checked against a set-based reference on random policies."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.policy import ReleaseGuard, ReleasePolicy, most_restrictive, viewable_sensors
from airpicture.policy.release import track_receivers_of_sensor
from airpicture.scenario import load_scenario
from tests.conftest import REPO
from tests.network.netscen import NATIONS, SENSORS, network_scenario

nation_sets = st.lists(st.sampled_from(NATIONS), unique=True, max_size=3)


@st.composite
def policies(draw: st.DrawFn) -> dict[str, object]:
    release = {n: {"tracks": draw(nation_sets), "plots": draw(nation_sets)} for n in NATIONS}
    overrides = {
        s["id"]: {"tracks": draw(nation_sets), "plots": draw(nation_sets)}
        for s in SENSORS
        if draw(st.booleans())
    }
    return {"release": release, "sensor_release": overrides}


@settings(max_examples=60, deadline=None)
@given(policies(), st.lists(st.lists(st.integers(0, len(SENSORS) - 1), max_size=4), max_size=6))
def test_derived_marking_is_the_intersection(policy_spec: dict, products: list[list[int]]) -> None:
    loaded = network_scenario(**policy_spec)  # type: ignore[arg-type]
    scenario = loaded.scenario
    policy = ReleasePolicy.from_scenario(scenario)
    mask = np.zeros((len(products), len(SENSORS)), dtype=bool)
    for k, members in enumerate(products):
        mask[k, members] = True
    marking = policy.derived_marking(mask)
    for k, members in enumerate(products):
        expected: set[str] = set()
        if members:
            sets = [track_receivers_of_sensor(scenario, scenario.sensors[i]) for i in members]
            expected = set.intersection(*map(set, sets))
        assert set(policy.nation_names(marking[k])) == expected
    # Grouping products: the intersection of their markings.
    if products:
        group = np.arange(len(products)) % 2
        grouped = most_restrictive(marking, group, 2)
        for g in (0, 1):
            rows = marking[group == g]
            expect = rows.all(axis=0) if rows.shape[0] else np.zeros(len(NATIONS), bool)
            assert np.array_equal(grouped[g], expect)


@settings(max_examples=40, deadline=None)
@given(policies())
def test_guard_lets_out_only_what_the_rules_allow(policy_spec: dict) -> None:
    scenario = network_scenario(**policy_spec).scenario  # type: ignore[arg-type]
    policy = ReleasePolicy.from_scenario(scenario)
    rng = np.random.default_rng(0)
    for nation in NATIONS:
        guard = ReleaseGuard(policy, nation)
        sources = rng.random((20, len(SENSORS))) < 0.4
        for receiver in NATIONS:
            if receiver == nation:
                continue
            ok = guard.tracks_for(receiver, sources)
            for k in np.flatnonzero(ok):
                for i in np.flatnonzero(sources[k]):
                    sensor = scenario.sensors[i]
                    assert receiver in track_receivers_of_sensor(scenario, sensor)
            index = np.arange(len(SENSORS))
            plots_ok = guard.plots_for(receiver, index)
            for i in np.flatnonzero(plots_ok):
                sensor = scenario.sensors[i]
                release = sensor.release or scenario.nations[sensor.nation].release
                assert sensor.nation == nation and receiver in release.plots


def test_pacific_shield_sbirs_is_not_releasable_to_aus() -> None:
    scenario = load_scenario(REPO / "scenarios/pacific-shield.yaml").scenario
    policy = ReleasePolicy.from_scenario(scenario)
    sbirs = np.array([s.id == "USA-SBIRS-GEO" for s in scenario.sensors])
    tpy2 = np.array([s.id == "USA-TPY2-SHARIKI" for s in scenario.sensors])
    marking = policy.derived_marking(np.stack([sbirs, tpy2, sbirs | tpy2]))
    assert policy.nation_names(marking[0]) == ["JPN", "USA"]
    assert policy.nation_names(marking[1]) == ["AUS", "JPN", "USA"]
    assert policy.nation_names(marking[2]) == ["JPN", "USA"]  # the most restrictive wins
    viewers = viewable_sensors(scenario)
    assert "USA-SBIRS-GEO" not in viewers["AUS"]
    assert "JPN-ARSR-MITSUTOGE" in viewers["USA"]  # its tracks, not its plots
    assert not policy.plot_sensors_of("USA")[scenario.sensors.index(
        next(s for s in scenario.sensors if s.id == "JPN-ARSR-MITSUTOGE"))]  # fmt: skip
