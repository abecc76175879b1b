"""What a study shows: its trials read back from the stores (readback), the seeds' tables and the
comparison of its points (report), the files and pictures written at the end of a run (outputs),
the figures (plots) and LaTeX and other exports (export).

Everything is read from MLflow (and Optuna's storage for Optuna's own plots), so a report works
for a study another machine ran."""

from rnnstudy._lazy import exports

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
__getattr__, __dir__ = exports(
    __name__,
    {
        "CURVE_METRICS": "rnnstudy.results.report",
        "FORMATS": "rnnstudy.results.report",
        "Report": "rnnstudy.results.report",
        "ReportError": "rnnstudy.errors",
        "ReportOptions": "rnnstudy.results.report",
        "StudyFacts": "rnnstudy.results._readback",
        "completed": "rnnstudy.results._readback",
        "histories": "rnnstudy.results._readback",
        "make_report": "rnnstudy.results.report",
        "markdown_table": "rnnstudy.results.report",
        "optuna_study": "rnnstudy.results._readback",
        "per_model": "rnnstudy.results.report",
        "pivot": "rnnstudy.results.report",
        "publish": "rnnstudy.results._outputs",
        "seed_means": "rnnstudy.results.report",
        "study_facts": "rnnstudy.results._readback",
        "table": "rnnstudy.results.report",
        "trials_frame": "rnnstudy.results._readback",
        "write_all": "rnnstudy.results._outputs",
    },
)
