"""What each session may see: its nation's picture, warnings, sensors and assets — nothing else.

This module is the one place the server decides what leaves it for a nation.

- A run with a picture per nation (the distributed network) serves each
  nation exactly its own viewer's rows.
- A run with only the centralized picture (viewer `ALL`) serves a nation the
  `ALL` tracks whose every contributing sensor that nation may hold (run.json
  `viewers`): the release rule "a product fused from several sources goes
  only where every source may go". A track with no recorded sources goes to
  no nation. The `ALL` picture itself is served only to an `ALL` account
  (exercise control).
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

from airpicture.tables import Table, take_rows
from airpicture.threat.warning import Warning, closing_notice
from airpicture.web.protocol import Place, SensorSite
from airpicture.web.sources import PictureFrame, RunInfo

CENTRAL_VIEWER = "ALL"


@dataclass(frozen=True)
class ViewRule:
    """How one served viewer's picture is made from the source's frames."""

    viewer: str
    #: The source viewer whose rows it reads.
    from_viewer: str
    #: None: every row; else only rows whose sources are all in this set.
    allowed_sensors: frozenset[str] | None
    #: Ids of the alerts this viewer has been sent so far (frames are given in time order).
    told: set[str] = field(default_factory=set, compare=False)


def view_rules(info: RunInfo) -> dict[str, ViewRule]:
    """Every viewer this run can serve, and how."""
    produced = set(info.picture_viewers)
    rules: dict[str, ViewRule] = {}
    for nation in info.nations:
        if nation in produced:
            rules[nation] = ViewRule(nation, nation, None)
        elif CENTRAL_VIEWER in produced:
            allowed = frozenset(info.viewable_sensors.get(nation, ()))
            rules[nation] = ViewRule(nation, CENTRAL_VIEWER, allowed)
    if CENTRAL_VIEWER in produced:
        rules[CENTRAL_VIEWER] = ViewRule(CENTRAL_VIEWER, CENTRAL_VIEWER, None)
    return rules


def releasable_rows(picture: Table, allowed: frozenset[str]) -> Table:
    """The rows whose every source is in `allowed` (and that have at least one)."""
    verdict: dict[tuple[str, ...], bool] = {}
    keep = np.zeros(len(picture["track_id"]), dtype=bool)
    for i, sources in enumerate(picture["sources"]):
        key = tuple(sources)
        ok = verdict.get(key)
        if ok is None:
            ok = verdict[key] = bool(key) and allowed.issuperset(key)
        keep[i] = ok
    return take_rows(picture, keep)


def frame_for(rule: ViewRule, frame: PictureFrame) -> PictureFrame:
    """The frame as `rule`'s viewer may see it (the caller passes frames of `from_viewer`)."""
    picture = frame.picture
    if rule.allowed_sensors is not None:
        picture = releasable_rows(picture, rule.allowed_sensors)
    picture = dict(picture)
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
