"""What a study shows: its trials read back from the stores (readback), the seeds' tables and the
comparison of its points (report), the files and pictures written at the end of a run (outputs),
the figures (plots) and LaTeX and other exports (export).

Everything is read from MLflow (and Optuna's storage for Optuna's own plots), so a report works
for a study another machine ran."""

from rnnstudy.errors import ReportError
from rnnstudy.results.outputs import publish, write_all
from rnnstudy.results.readback import (
    StudyFacts,
    completed,
    histories,
    optuna_study,
    study_facts,
    trials_frame,
)
from rnnstudy.results.report import (
    CURVE_METRICS,
    FORMATS,
    Report,
    ReportOptions,
    make_report,
    markdown_table,
    per_model,
    pivot,
    seed_means,
    table,
)

__all__ = [
    "CURVE_METRICS",
    "FORMATS",
    "Report",
    "ReportError",
    "ReportOptions",
    "StudyFacts",
    "completed",
    "histories",
    "make_report",
    "markdown_table",
    "optuna_study",
    "per_model",
    "pivot",
    "publish",
    "seed_means",
    "study_facts",
    "table",
    "trials_frame",
    "write_all",
]
