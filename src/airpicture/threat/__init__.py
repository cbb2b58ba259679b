"""Threat assessment: classification, launch detection, impact prediction, warnings.

`NationalAssessor(scenario, nation)` implements the `Assessor` contract of
`assessment.py`; `replay.assess_plots` runs it over a recorded scenario.
See docs/threat.md.
"""

from airpicture.threat.assessment import Assessment, Assessor, BoostReports
from airpicture.threat.assessor import AssessorSettings, NationalAssessor
from airpicture.threat.impact import ImpactPrediction, ImpactSettings, predict_impact
from airpicture.threat.launch import LaunchDetector, LaunchEvent, LaunchSettings
from airpicture.threat.replay import AssessRun, assess_plots, assess_run_dir, write_jsonl

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
