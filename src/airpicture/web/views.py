"""What each session may see: its nation's picture, warnings, sensors and assets — nothing else.

This module is the one place the server decides what leaves it for a nation.

- A nation is served only a picture made for it: its own viewer's rows (the
  distributed network's node, or a centralized run's national view, made by a
  central tracker over only the reports that nation may hold). The pooled `ALL`
  picture is served only to an `ALL` account (exercise control), never filtered
  for a nation: its tracks were associated, started and numbered with every
  pooled sensor, so even its rows whose sources a nation may hold were shaped by
  sensors it may not (docs/security.md). A run without a nation's picture
  serves that nation nothing (`unserved`).
- Warnings: those whose `recipients` name the nation (`ALL` sees every one), and the
  end of every alert the nation was told of: a closing row (fell, impact, cancelled)
  that does not name it reaches it as `closing_notice` (the fact that the alert ended,
  without the row's details), so that no nation's alert outlives its threat (a run
  whose threat assessment already sends these, as lifecycle.py does now, is unchanged).
- Sensors: only those whose data the nation may hold; assets: the nation's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from airpicture.threat.warning import Warning, closing_notice
from airpicture.web.protocol import Place, SensorSite
from airpicture.web.sources import PictureFrame, RunInfo

CENTRAL_VIEWER = "ALL"


@dataclass(frozen=True)
class ViewRule:
    """How one served viewer's picture is made from the source's frames."""

    viewer: str
    #: The source viewer whose rows it reads (its own: a nation gets only its picture).
    from_viewer: str
    #: Ids of the alerts this viewer has been sent so far (frames are given in time order).
    told: set[str] = field(default_factory=set, compare=False)


def view_rules(info: RunInfo) -> dict[str, ViewRule]:
    """Every viewer this run can serve, and how."""
    produced = set(info.picture_viewers)
    rules: dict[str, ViewRule] = {}
    for nation in info.nations:
        if nation in produced:
            rules[nation] = ViewRule(nation, nation)
    if CENTRAL_VIEWER in produced:
        rules[CENTRAL_VIEWER] = ViewRule(CENTRAL_VIEWER, CENTRAL_VIEWER)
    return rules


def unserved(info: RunInfo) -> list[str]:
    """The nations this run has no picture for (a centralized run made without national
    views): they are served nothing."""
    return [n for n in info.nations if n not in set(info.picture_viewers)]


def frame_for(rule: ViewRule, frame: PictureFrame) -> PictureFrame:
    """The frame as `rule`'s viewer may see it (the caller passes frames of `from_viewer`)."""
    picture = dict(frame.picture)
    picture["viewer"] = np.full(len(picture["track_id"]), rule.viewer, dtype=object)
    return PictureFrame(
        frame.time_s, rule.viewer, picture, warnings_for(rule.viewer, frame.warnings, rule.told)
    )


def warnings_for(
    viewer: str, warnings: Iterable[Warning], told: set[str] | None = None
) -> list[Warning]:
    """The warnings addressed to `viewer`'s nation (every one for `ALL`); with `told` (the
    alert ids the viewer was sent before, updated here), also the end of each of those
    alerts as a `closing_notice` when its closing row does not name the viewer."""
    out = []
    for w in warnings:
        if viewer == CENTRAL_VIEWER or viewer in w.recipients:
            out.append(w)
            if told is not None:
                told.add(w.warning_id)
        elif told is not None and w.closes and w.warning_id in told:
            out.append(closing_notice(w, (viewer,)))
    return out


def sensors_for(viewer: str, info: RunInfo) -> list[SensorSite]:
    """The sensor sites whose data `viewer` may hold."""
    visible = set(info.viewable_sensors.get(viewer, ()))
    return [site for sid, site in info.sensors.items() if sid in visible]


def assets_for(viewer: str, info: RunInfo) -> list[Place]:
    """Defended assets of `viewer`'s nation (every one for `ALL`)."""
    return [a for a in info.assets if viewer == CENTRAL_VIEWER or a.nation == viewer]
