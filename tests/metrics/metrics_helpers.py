"""Hand-built run folders for the metrics tests.

Positions are given as east/north/up metres in one local frame (see
`airpicture.metrics.synthetic.Frame`), so the distances a test expects are the
ENU distances it wrote down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from airpicture.metrics.synthetic import Frame, table_from_enu, write_run

FRAME = Frame(lat_deg=30.0, lon_deg=140.0)


@dataclass(frozen=True)
class T:
    """A truth row: time, target, ENU position (m), detected by which sensors."""

    time_s: float
    target_id: str
    e_m: float
    n_m: float = 0.0
    u_m: float = 10_000.0
    detectable_by: tuple[str, ...] = ("USA-R1", "JPN-R1")
    identity: str = "hostile"
    velocity_mps: tuple[float, float, float] = (0.0, 0.0, 0.0)
    kind: str = "aircraft"


@dataclass(frozen=True)
class P:
    """A picture row: time, viewer, track number, ENU position (m)."""

    time_s: float
    viewer: str
    track_id: str
    e_m: float
    n_m: float = 0.0
    u_m: float = 10_000.0
    identity: str = "hostile"
    velocity_mps: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass
class Case:
    truth: list[T] = field(default_factory=list)
    picture: list[P] = field(default_factory=list)
    nations: tuple[str, ...] = ("USA", "JPN")
    interval_s: float = 1.0
    duration_s: float | None = None
    fusion: str = "distributed"

    def write(self, run_dir: Path) -> Path:
        sensors = {f"{n}-R1": {"nation": n, "type": "radar"} for n in self.nations}
        viewers: dict[str, list[str]] = {n: [f"{n}-R1"] for n in self.nations}
        viewers["ALL"] = list(sensors)
        times = [r.time_s for r in self.truth] + [r.time_s for r in self.picture]
        duration = self.duration_s if self.duration_s is not None else max(times, default=0.0)
        truth = table_from_enu(
            FRAME,
            np.array([r.time_s for r in self.truth], dtype=np.float64),
            np.array([[r.e_m, r.n_m, r.u_m] for r in self.truth], dtype=np.float64).reshape(-1, 3),
            np.array([r.velocity_mps for r in self.truth], dtype=np.float64).reshape(-1, 3),
            {
                "target_id": [r.target_id for r in self.truth],
                "kind": [r.kind for r in self.truth],
                "identity": [r.identity for r in self.truth],
                "detectable_by": [list(r.detectable_by) for r in self.truth],
            },
        )
        picture = table_from_enu(
            FRAME,
            np.array([r.time_s for r in self.picture], dtype=np.float64),
            np.array([[r.e_m, r.n_m, r.u_m] for r in self.picture], dtype=np.float64).reshape(
                -1, 3
            ),
            np.array([r.velocity_mps for r in self.picture], dtype=np.float64).reshape(-1, 3),
            {
                "viewer": [r.viewer for r in self.picture],
                "track_id": [r.track_id for r in self.picture],
                "cls": ["aircraft"] * len(self.picture),
                "identity": [r.identity for r in self.picture],
                "sources": [["USA-R1"]] * len(self.picture),
            },
        )
        return write_run(
            run_dir,
            truth,
            picture,
            picture_interval_s=self.interval_s,
            duration_s=duration,
            nations=self.nations,
            sensors=sensors,
            viewers=viewers,
            fusion=self.fusion,
        )


def steady(target_id: str, e_m: float, steps: Sequence[int], **kwargs: object) -> list[T]:
    """A truth that stays at one place over `steps` (interval 1 s)."""
    return [T(float(k), target_id, e_m, **kwargs) for k in steps]  # type: ignore[arg-type]


def follow(
    viewer: str, track_id: str, e_m: float, steps: Sequence[int], **kwargs: object
) -> list[P]:
    """A track that stays at one place over `steps` (interval 1 s)."""
    return [P(float(k), viewer, track_id, e_m, **kwargs) for k in steps]  # type: ignore[arg-type]
