"""The run report: summary first, GOSPA per target, sensors, links, UTC time axes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from airpicture.cli import main
from airpicture.metrics.report import utc_times
from tests.study.scenario_file import write_scenario


def test_utc_times_count_from_the_epoch() -> None:
    t = utc_times("2026-04-10T21:00:00Z", [0.0, 90.5])
    assert t.tolist() == [
        np.datetime64("2026-04-10T21:00:00.000").item(),
        np.datetime64("2026-04-10T21:01:30.500").item(),
    ]
    # an epoch with an offset is converted to UTC
    assert utc_times("2026-04-11T06:00:00+09:00", [0.0])[0] == np.datetime64("2026-04-10T21:00")


def test_the_run_report_reads_summary_first_and_has_every_section(tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path / "s.yaml", duration_s=40.0)
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(out)]) == 0
    text = (out / "report.html").read_text(encoding="utf-8")
    titles = re.findall(r"<h2>([^<]+)</h2>", text)
    assert titles[0] == "Summary"
    for title in ("GOSPA over time", "What each sensor contributed", "The load on each link"):
        assert title in titles
    summary = text[text.index("<h2>Summary</h2>") : text.index("<h2>Run</h2>")]
    for nation in ("USA", "JPN", "AUS"):
        assert f"<b>{nation}</b> held" in summary and "per target" in summary
    assert "GOSPA per target (m)" in text
    # every link of the three nations, with its messages
    for link in ("AUS-&gt;JPN", "JPN-&gt;USA", "USA-&gt;AUS"):
        assert f"<td>{link}</td>" in text
    # every node's view of each partner's link: up at the end, never down
    for node, partner in (("AUS", "JPN"), ("JPN", "USA"), ("USA", "AUS")):
        assert f"<tr><td>{node}</td><td>{partner}</td><td>up</td>" in text
    assert "heartbeats taken / sent" in text
    # every sensor of the scenario, with its reports
    for sensor in ("USA-R1", "USA-R2", "JPN-R1", "JPN-ADSB", "AUS-R1"):
        assert f"<td>{sensor}</td>" in text
