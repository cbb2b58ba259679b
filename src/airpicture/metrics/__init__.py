"""Picture quality: GOSPA, the SIAP measures, commonality between nations, and the report.

Entry points: `evaluate_run(run_dir)` (what `airpicture evaluate` does) and
`evaluate(load_run(run_dir), settings)` for the arrays behind it. Definitions,
defaults and the differences from Stone Soup are in docs/metrics.md.
"""

from airpicture.metrics.association import (
    Associations,
    AssociationSettings,
    HysteresisAssociator,
    TrackTruthAssociator,
    associate_over_time,
)
from airpicture.metrics.commonality import CommonalityResult, CommonalitySettings, commonality
from airpicture.metrics.evaluate import METRICS_SCHEMA, evaluate_run, to_json
from airpicture.metrics.evaluation import Evaluation, EvaluationSettings, evaluate
from airpicture.metrics.gospa import GospaSeries, GospaSettings, gospa, gospa_series
from airpicture.metrics.report import Section, write_report
from airpicture.metrics.run_data import RunData, load_run
from airpicture.metrics.siap import SiapResult, siap

__all__ = [
    "METRICS_SCHEMA",
    "AssociationSettings",
    "Associations",
    "CommonalityResult",
    "CommonalitySettings",
    "Evaluation",
    "EvaluationSettings",
    "GospaSeries",
    "GospaSettings",
    "HysteresisAssociator",
    "RunData",
    "Section",
    "SiapResult",
    "TrackTruthAssociator",
    "associate_over_time",
    "commonality",
    "evaluate",
    "evaluate_run",
    "gospa",
    "gospa_series",
    "load_run",
    "siap",
    "to_json",
    "write_report",
]
