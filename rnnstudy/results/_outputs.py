"""What ``rnnstudy optimize`` does at the end: the report's files and pictures, written to a
folder and logged on the study's parent run (again after every resumed run)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from rnnstudy._lazy import module
from rnnstudy.keys import REPORT_ARTIFACTS
from rnnstudy.results._readback import StudyFacts, histories, trials_frame
from rnnstudy.results.report import CURVE_METRICS, OUTPUTS, Report, ReportOptions, make_report, varying
from rnnstudy.spec.space import label
from rnnstudy.spec.study import Study
from rnnstudy.stores.mlflow_tracking import Tracker
from rnnstudy.stores.outcome import Outcome

plots = module("rnnstudy.results.plots")  # matplotlib: only when a report is written


def publish(
    spec: Study, study, tracker: Tracker, parent_run_id: str, options: ReportOptions | None = None
) -> str:
    """Make the report and the pictures, log them on the parent run, return the report's text.

    Called at the end of every ``rnnstudy optimize``, so a resumed study's files are remade.
    """
    facts = StudyFacts.of(spec)
    frame = trials_frame(tracker, spec)
    if frame.empty:
        return "no trials yet"
    with tempfile.TemporaryDirectory(prefix="rnnstudy-report-") as tmp:
        report, files = write_all(Path(tmp), frame, facts, tracker, study, options or ReportOptions())
        tracker.client.log_artifacts(parent_run_id, tmp, artifact_path=REPORT_ARTIFACTS)
    names = ", ".join(p.name for p in files)
    return f"{report.text()}\n\nlogged on the study's parent run under {REPORT_ARTIFACTS}/: {names}"


def write_all(
    folder: Path, frame, facts: StudyFacts, tracker: Tracker, study, options: ReportOptions
) -> tuple[Report, list[Path]]:
    """The report's files and pictures in ``folder``: table.csv, report.md, pivot.csv,
    curves.png (every trial against epoch, or with repeats each point's mean and CI band),
    with repeats trials.csv, points.png (the points' means with CI whiskers) and report.tex,
    with several objectives front.csv, pareto.png and report.tex (the front), and optuna.html
    (``study`` None leaves it out)."""

    metric = options.metric or facts.objective
    ran = frame[frame["state"].isin((Outcome.COMPLETE.tag, Outcome.PRUNED.tag))]
    history = histories(tracker, ran, [*CURVE_METRICS, metric])
    report = make_report(frame, history, facts, options)
    for stale in OUTPUTS:  # a pivot or a plot from an earlier report must not linger
        (folder / stale).unlink(missing_ok=True)
    files = report.write(folder)
    searched = facts.searched or varying(frame)
    labels = {
        int(row["trial"]): " ".join(
            [f"#{int(row['trial'])}", *(f"{k}={row[k]}" for k in searched if k in row)]
        )
        for _, row in frame.iterrows()
    }
    files.append(folder / "curves.png")
    shown_metrics = list(dict.fromkeys([*CURVE_METRICS, metric]))
    if report.points is not None:  # repeats: a point's mean curve over its seeds, with a CI band
        by_point: dict[str, list[pd.DataFrame]] = {}
        for _, row in frame.iterrows():
            if int(row["trial"]) in history:
                point = row.get("point") or label({n: row[n] for n in report.names if n in row})
                by_point.setdefault(point, []).append(history[int(row["trial"])])
        plots.mean_curves(by_point, shown_metrics, files[-1], title=facts.name)
        files.append(folder / "points.png")
        plots.points_with_ci(report.comparison.frame(), files[-1], title=facts.name, metric=options.value)
        files.append(folder / "report.tex")
        files[-1].write_text(report.export("latex"))
    else:
        plots.study_curves(
            {labels[t]: h for t, h in history.items()}, shown_metrics, files[-1], title=facts.name
        )
    if report.front is not None:  # several objectives: the front, and the LaTeX of it
        files.append(folder / "pareto.png")
        plots.pareto(report.front, files[-1], title=facts.name)
        if report.points is None:
            files.append(folder / "report.tex")
            files[-1].write_text(report.export("latex"))
    if study is not None:
        files.append(folder / "optuna.html")
        plots.optuna_page(study, files[-1], title=facts.name)
    return report, files


# --- helpers -------------------------------------------------------------------------------
