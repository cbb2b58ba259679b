"""Threat assessment: classification, launch detection, impact prediction, warnings.

`NationalAssessor(scenario, nation)` implements the `Assessor` contract of
`assessment.py`; `replay.assess_plots` runs it over a recorded scenario.
See docs/threat.md.

Names are loaded on first use (module `__getattr__`), as in `airpicture.tracking`:
the assessment reads tracks through `airpicture.tracking.view`, and only the
replay runner (`replay.py`, which tracks recorded reports) loads the tracker.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airpicture.threat.assessment import Assessment, Assessor, BoostReports
    from airpicture.threat.assessor import AssessorSettings, NationalAssessor
    from airpicture.threat.impact import ImpactPrediction, ImpactSettings, predict_impact
    from airpicture.threat.launch import LaunchDetector, LaunchEvent, LaunchSettings
    from airpicture.threat.replay import AssessRun, assess_plots, assess_run_dir, write_jsonl

_WHERE = {
    "AssessRun": "airpicture.threat.replay",
    "Assessment": "airpicture.threat.assessment",
    "Assessor": "airpicture.threat.assessment",
    "AssessorSettings": "airpicture.threat.assessor",
    "BoostReports": "airpicture.threat.assessment",
    "ImpactPrediction": "airpicture.threat.impact",
    "ImpactSettings": "airpicture.threat.impact",
    "LaunchDetector": "airpicture.threat.launch",
    "LaunchEvent": "airpicture.threat.launch",
    "LaunchSettings": "airpicture.threat.launch",
    "NationalAssessor": "airpicture.threat.assessor",
    "assess_plots": "airpicture.threat.replay",
    "assess_run_dir": "airpicture.threat.replay",
    "predict_impact": "airpicture.threat.impact",
    "write_jsonl": "airpicture.threat.replay",
}

__all__ = [
    "AssessRun",
    "Assessment",
    "Assessor",
    "AssessorSettings",
    "BoostReports",
    "ImpactPrediction",
    "ImpactSettings",
    "LaunchDetector",
    "LaunchEvent",
    "LaunchSettings",
    "NationalAssessor",
    "assess_plots",
    "assess_run_dir",
    "predict_impact",
    "write_jsonl",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'airpicture.threat' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
