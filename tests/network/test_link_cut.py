"""JPN's server cut off from the others for 60 exercise seconds, nodes running (a server per
nation joined by leaf links, accounts, TLS): what was sent meanwhile arrives once the link is
back, every message exactly once, and the node rules judge the stale batches."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import nats
import numpy as np
import yaml

from airpicture.deploy import connect_options, init_exercise, start_servers
from airpicture.network.run import NetworkSettings
from airpicture.network.service import (
    ExerciseClock,
    ServiceSettings,
    network_json,
    read_node_outputs,
)
from airpicture.scenario import load_scenario
from airpicture.sim.simulate import simulate

from .jetstream_server import run_in_process
from .netscen import NATIONS, network_scenario

CUT_AT_S = 40.0
CUT_FOR_S = 60.0
DURATION_S = 160.0
#: A silent partner is waited for this long (wall s; 10 exercise s at 10x), then not until
#: its markers come again: the nodes go on without JPN while it is cut off.
MARKER_WAIT_S = 1.0
#: A partner silent this long (exercise s; 3 s wall at 10x) is down. Longer than the default
#: 15 s: when the cut begins, a sender's flush waits one PubAck timeout (2 s wall, 20
#: exercise s at 10x) for JPN before it hands JPN's messages to the background, and its
#: other partners hear nothing from it meanwhile.
DOWN_AFTER_S = 30.0


def test_a_link_cut_for_60_s_then_restored_delivers_everything_queued(tmp_path: Path) -> None:
    data = network_scenario(duration_s=DURATION_S).scenario.model_dump(
        mode="json", exclude_none=True
    )
    scenario_file = tmp_path / "scenario.yaml"
    scenario_file.write_text(yaml.safe_dump(data))
    loaded = load_scenario(scenario_file)
    sim = simulate(loaded)
    deployment = init_exercise(scenario_file, tmp_path / "exercise", servers_per_nation=True)
    domains = {n: deployment.nations[n].jetstream_domain for n in NATIONS}
    out = tmp_path / "out"
    events: dict[str, float] = {}

    async def connect(nation: str, role: str) -> Any:
        return await nats.connect(**connect_options(deployment, nation, role))  # type: ignore[arg-type]

    with start_servers(deployment) as servers:

        async def cut_and_restore(clock: ExerciseClock, stop: asyncio.Event) -> None:
            await clock.sleep_until(CUT_AT_S)
            await asyncio.to_thread(servers.cut_link, "ap-JPN")
            events["cut_s"] = clock.now_s()
            events["epoch_unix_s"] = clock.epoch_unix_s
            events["speed"] = clock.speed
            await clock.sleep_until(CUT_AT_S + CUT_FOR_S)
            events["restoring_s"] = clock.now_s()
            await asyncio.to_thread(servers.restore_link, "ap-JPN")
            events["restored_s"] = clock.now_s()
            del stop

        services = asyncio.run(
            run_in_process(
                loaded, sim.plots, out, connect, speed=10.0, during=cut_and_restore,
                domains=domains, settings=ServiceSettings(
                    NetworkSettings(partner_down_after_s=DOWN_AFTER_S),
                    marker_wait_s=MARKER_WAIT_S),
            )
        )  # fmt: skip
    assert CUT_AT_S <= events["cut_s"] < CUT_AT_S + 5.0
    assert events["restored_s"] >= CUT_AT_S + CUT_FOR_S
    by_nation = {s.nation: s for s in services}
    # Every partner message sent arrived once the link was back, none twice.
    summary = network_json(read_node_outputs(out, list(NATIONS)))
    links = summary["links"]
    for name in ("USA->JPN", "AUS->JPN", "JPN->USA", "JPN->AUS", "USA->AUS", "AUS->USA"):
        assert links[name]["sent"] == links[name]["delivered"] > 0, name
    for sender in ("USA", "AUS"):
        bus = by_nation[sender].bus.counts
        assert bus.receivers_unreachable == {"JPN": 1}, sender
        assert bus.resent["JPN"] > 0
        assert by_nation[sender].bus.unsent == 0
    jpn = by_nation["JPN"].bus.counts
    assert set(jpn.receivers_unreachable) == {"USA", "AUS"}
    assert all(v == 1 for v in jpn.receivers_unreachable.values())
    for name in ("USA", "AUS"):
        counts = by_nation[name].bus.counts
        assert counts.resent["JPN"] > 0 and counts.publish_retries > 0
    # While cut off, JPN's picture loses its partners' tracks once they are older than the
    # fusion's source age; after the restore the partners' sources come back.
    picture = read_node_outputs(out, ["JPN"]).picture
    jpn_rows = picture["viewer"] == "JPN"
    times = picture["time_s"][jpn_rows]
    foreign = np.array(
        [any(not s.startswith("JPN-") for s in src) for src in picture["sources"][jpn_rows]]
    )
    max_age = by_nation["JPN"].node.settings.fusion.max_source_age_s
    jpn_stats = by_nation["JPN"].stats
    times_s = by_nation["JPN"].times_s[jpn_stats.first_cycle :]
    fused_unix = {
        float(t): events["epoch_unix_s"] + float(t) / events["speed"] + lag
        for t, lag in zip(times_s, jpn_stats.fuse_lag_s, strict=False)
    }
    cut_ends_unix = events["epoch_unix_s"] + events["restoring_s"] / events["speed"]
    foreign_at = {float(t): bool(f) for t, f in zip(times, foreign, strict=True)}
    # Fused while cut off, past the age of the last partner track received before the cut.
    in_cut = [
        t for t, u in fused_unix.items() if t > events["cut_s"] + max_age and u < cut_ends_unix
    ]
    assert in_cut and not any(foreign_at.get(t, False) for t in in_cut)
    after = [t for t in fused_unix if t >= events["restored_s"] + 10.0]
    assert after and all(foreign_at[t] for t in after)
    # The stale batches, queued during the cut, all arrived in order: each was used (a
    # batch older than one already held would be refused as `late`; none was).
    messages = summary["nodes"]["JPN"]["messages"]
    delivered = links["USA->JPN"]["delivered"] + links["AUS->JPN"]["delivered"]
    assert messages["received"]["track_batches"] == delivered
    assert messages["rejected"] == {}
    assert by_nation["JPN"].node_stats()["service"]["marker_timeouts"]
    # Liveness: each side of the cut marked the other down once, while it lasted, and up
    # again once it was over; USA and AUS never lost each other.
    seen = {n: s.node_stats()["node"]["partner_links"] for n, s in by_nation.items()}
    for viewer, partner in (("JPN", "USA"), ("JPN", "AUS"), ("USA", "JPN"), ("AUS", "JPN")):
        link = seen[viewer][partner]
        assert link["times_down"] == 1 and link["state"] == "up", (viewer, partner, link)
        [outage] = link["outages"]
        assert CUT_AT_S - 15.0 < outage["down_s"] < CUT_AT_S + CUT_FOR_S, (viewer, partner)
        assert outage["up_s"] is not None and outage["up_s"] > outage["down_s"]
    assert seen["USA"]["AUS"]["times_down"] == seen["AUS"]["USA"]["times_down"] == 0
