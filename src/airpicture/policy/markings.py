"""Release markings as boolean arrays, and the most-restrictive-wins rule.

A *marking* is the set of nations that may receive a piece of data. It is held
as a boolean row over the policy's nations (sorted codes), so a batch of
products is a `(K, n_nations)` array and the rules are array operations:

* a sensor's plots carry its plot marking, products derived from it its track
  marking (`release.py`);
* a product derived from several sensors carries the intersection of their
  track markings — the most restrictive marking wins:
      marking[k, n] = ∧_{s ∈ sources[k]} track_marking[s, n]
  and a product with no known source is releasable to nobody;
* a product derived from several products (a fused track, a warning about it)
  carries the intersection of theirs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from airpicture.policy.release import plot_receivers_of_sensor, track_receivers_of_sensor
from airpicture.scenario import Scenario

BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.intp]


@dataclass(frozen=True)
class ReleasePolicy:
    """Every sensor's markings, as arrays: rows are sensors (scenario order), columns nations."""

    nations: tuple[str, ...]
    sensor_ids: tuple[str, ...]
    #: Owner of each sensor, as a column index into `nations`.
    sensor_owner: IntArray
    #: (n_sensors, n_nations): who may receive tracks derived from each sensor.
    track_marking: BoolArray
    #: (n_sensors, n_nations): who may receive each sensor's plots.
    plot_marking: BoolArray

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> ReleasePolicy:
        nations = tuple(sorted(scenario.nations))
        column = {code: i for i, code in enumerate(nations)}
        n_s, n_n = len(scenario.sensors), len(nations)
        track = np.zeros((n_s, n_n), dtype=bool)
        plots = np.zeros((n_s, n_n), dtype=bool)
        for i, sensor in enumerate(scenario.sensors):
            track[i, [column[c] for c in track_receivers_of_sensor(scenario, sensor)]] = True
            plots[i, [column[c] for c in plot_receivers_of_sensor(scenario, sensor)]] = True
        owner = np.array([column[s.nation] for s in scenario.sensors], dtype=np.intp)
        return cls(nations, tuple(s.id for s in scenario.sensors), owner, track, plots)

    # ------------------------------------------------------------------ indices

    def nation_index(self, nation: str) -> int:
        return self.nations.index(nation)

    def sensor_index(self, sensor_ids: Sequence[str] | NDArray[np.object_]) -> IntArray:
        """Row of each sensor id; −1 for an id the policy does not know."""
        lookup = {sid: i for i, sid in enumerate(self.sensor_ids)}
        return np.array([lookup.get(str(s), -1) for s in sensor_ids], dtype=np.intp)

    def sources_mask(self, sources: Iterable[Iterable[str]]) -> tuple[BoolArray, BoolArray]:
        """(K, n_sensors) mask of each product's sources, and whether every id was known."""
        lookup = {sid: i for i, sid in enumerate(self.sensor_ids)}
        rows: list[int] = []
        cols: list[int] = []
        known: list[bool] = []
        for k, ids in enumerate(sources):
            ok = True
            for sid in ids:
                j = lookup.get(sid, -1)
                if j < 0:
                    ok = False
                else:
                    rows.append(k)
                    cols.append(j)
            known.append(ok)
        mask = np.zeros((len(known), len(self.sensor_ids)), dtype=bool)
        mask[rows, cols] = True
        return mask, np.array(known, dtype=bool)

    def source_names(self, mask: BoolArray) -> NDArray[np.object_]:
        """Object array of sensor-id lists, one per row of a (K, n_sensors) mask."""
        ids = np.array(self.sensor_ids, dtype=object)
        out = np.empty(mask.shape[0], dtype=object)
        out[:] = [list(ids[row]) for row in mask]
        return out

    def nation_names(self, marking: BoolArray) -> list[str]:
        """The nations of one marking row."""
        return [n for n, allowed in zip(self.nations, marking, strict=True) if allowed]

    def marking_of(self, nations: Iterable[str]) -> BoolArray:
        row = np.zeros(len(self.nations), dtype=bool)
        for code in nations:
            if code in self.nations:
                row[self.nations.index(code)] = True
        return row

    # ------------------------------------------------------------------ rules

    def derived_marking(self, sources: BoolArray) -> BoolArray:
        """Marking of products derived from the given sources: most restrictive wins.

        marking[k, n] = ∧_s (¬sources[k, s] ∨ track_marking[s, n]), and nobody
        for a product with no source. Counting the sources that forbid n:
        forbidden = sources · ¬track_marking; allowed iff that count is 0.
        """
        forbidden = sources.astype(np.int64) @ (~self.track_marking).astype(np.int64)
        has_source = np.asarray(sources.any(axis=-1), dtype=bool)
        result: BoolArray = (forbidden == 0) & has_source[..., None]
        return result

    def holdable_sensors(self, nation: str) -> BoolArray:
        """(n_sensors,) sensors whose data `nation` may hold: its own, and any released to it."""
        col = self.nation_index(nation)
        result: BoolArray = self.track_marking[:, col] | self.plot_marking[:, col]
        return result

    def plot_sensors_of(self, nation: str) -> BoolArray:
        """(n_sensors,) the sensors whose plots `nation` may hold (its own included)."""
        result: BoolArray = self.plot_marking[:, self.nation_index(nation)].copy()
        return result

    def tracker_groups(self, nation: str) -> list[tuple[BoolArray, list[int]]]:
        """`nation`'s trackers: one per distinct track marking among the sensors whose plots
        it holds, as (that marking, its sensors' rows), in the order of their first sensor.

        Each tracker's tracks then carry sources of one marking only, so every track may
        go wherever its sensors allow. The policy is common knowledge, so every node knows
        every nation's trackers (and their blocks of network numbers, `NumberBlocks`)."""
        groups: dict[bytes, tuple[BoolArray, list[int]]] = {}
        for i in np.flatnonzero(self.plot_sensors_of(nation)):
            marking = self.track_marking[i]
            groups.setdefault(marking.tobytes(), (marking, []))[1].append(int(i))
        return list(groups.values())

    def tracker_origins(self, nation: str) -> list[str]:
        """The names of `nation`'s trackers ("USA.0", …), in `tracker_groups`' order: the
        `origin` of the tracks each one makes, and the only origins a partner accepts
        from that nation."""
        return [f"{nation}.{g}" for g in range(len(self.tracker_groups(nation)))]

    def tracker_markings(self) -> dict[str, list[BoolArray]]:
        """Every nation's trackers' markings (`tracker_groups`), in their order."""
        return {n: [m for m, _ in self.tracker_groups(n)] for n in self.nations}

    def plot_receivers(self, sender: str) -> BoolArray:
        """(n_nations,) who `sender` may give plots: a sensor it owns has them in its plot
        marking (a node never forwards a partner's plots). Never `sender` itself."""
        owned = self.sensor_owner == self.nation_index(sender)
        result: BoolArray = np.any(self.plot_marking[owned], axis=0)
        result[self.nation_index(sender)] = False
        return result

    def track_receivers(self, sender: str) -> BoolArray:
        """(n_nations,) who `sender` may give tracks or warnings: a sensor it may hold has
        them in its track marking (a product of that sensor alone may go). Never `sender`."""
        result: BoolArray = np.any(self.track_marking[self.holdable_sensors(sender)], axis=0)
        result[self.nation_index(sender)] = False
        return result

    def link_receivers(self, sender: str) -> list[str]:
        """The partners `sender` may send anything to (plots, tracks or warnings): its links,
        on which it also says it is alive (`network.liveness`)."""
        linked = self.plot_receivers(sender) | self.track_receivers(sender)
        return [n for n, ok in zip(self.nations, linked, strict=True) if ok]


def most_restrictive(markings: BoolArray, group: IntArray, n_groups: int) -> BoolArray:
    """Marking of each group of products: the intersection of its members' markings.

    markings (K, n_nations), group (K,) in [0, n_groups). A group with no member
    is releasable to nobody.
    """
    n_nations = markings.shape[1]
    forbidden = np.zeros((n_groups, n_nations), dtype=np.int64)
    np.add.at(forbidden, group, (~markings).astype(np.int64))
    members = np.bincount(group, minlength=n_groups)
    result: BoolArray = (forbidden == 0) & (members > 0)[:, None]
    return result
