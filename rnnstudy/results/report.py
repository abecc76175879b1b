"""A study's results as the seeds' tables, read back from what was logged.

Everything comes from the MLflow tracking store (and the Optuna storage for Optuna's plots),
so a report works for a study that another machine ran:

- :func:`make_report`: the seeds' table — the searched hyperparameters, then parameter count,
  training and inference time, overfit, the final and best value of a metric and its mean
  and spread (max − min) over the last N epochs — with seed 003's pivot of a two-parameter
  grid (row and column means) and its "stable models" filter;
- :func:`per_model`: a table for a study file's ``report(frame)``: a row per finished trial,
  named by the file's ``label(row)``;

What is read from the stores is :mod:`rnnstudy.results._readback`; the files written at the end of
a run, :mod:`rnnstudy.results._outputs`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rnnstudy import stats
from rnnstudy.errors import ReportError
from rnnstudy.keys import CHANCE_PARAM
from rnnstudy.results import _export, _verdict
from rnnstudy.results._readback import StudyFacts, completed
from rnnstudy.spec.direction import lower_is_better
from rnnstudy.urls import redact

DEFAULT_LAST = 5  # epochs averaged when the study does not score by a window of its own
CURVE_METRICS = ("val_accuracy", "val_loss")
OUTPUTS = ("table.csv", "trials.csv", "report.md", "report.tex", "pivot.csv", "curves.png", "points.png")
OUTPUTS += ("optuna.html", "front.csv", "pareto.png")
FORMATS = ("text", "markdown", "latex")
# params every run logs beside its values
NOT_SEARCHED = ("_package", "n_train", "n_val", "n_test", CHANCE_PARAM)
# per_model's columns (logged name -> header): test accuracy at the last and best epoch, and the cost
MODEL_COLUMNS = {
    "test_accuracy": "test_accuracy",
    "best_test_accuracy": "best_test_accuracy",
    "train_time_s": "train_time_s",
    "params_total": "params",
}


@dataclass
class ReportOptions:
    """How to cut the table; every None takes the study's own choice.

    Args:
        metric: the per-epoch metric of the final/best/mean/spread columns (the objective).
        last: N, the epochs of the mean and spread (the study's window, else 5).
        pivot: (row, column) hyperparameters; None pivots a two-parameter grid by itself.
        value: the column the pivot shows (the objective, as seed 003's table).
        stable: keep only trials whose spread over the last N epochs is under this.
    """

    metric: str | None = None
    last: int | None = None
    pivot: tuple[str, str] | None = None
    value: str = "objective"
    stable: float | None = None


@dataclass
class Report:
    """A study's table, its pivot and what its own ``report(frame)`` said.

    The table keeps full column names (``table.csv``); people read shorter headers, with the
    metric and N in the title.
    """

    title: str
    table: pd.DataFrame  # finished trials, index "trial"
    pivot: pd.DataFrame | None = None
    pivot_caption: str = ""
    notes: list[str] = field(default_factory=list)
    extra: str | None = None  # the study file's own analysis, as text
    headers: dict[str, str] = field(default_factory=dict)
    value: str = "objective"  # the column the points are compared on
    comparison: Any = None  # rnnstudy.stats.Comparison of the points, when they have seeds
    points: pd.DataFrame | None = None  # one row per point (repeats): n, mean, CI, test against the best
    names: list[str] = field(default_factory=list)  # the hyperparameters that make a point
    axes: tuple[str, str] | None = None  # the pivot's row and column
    front: Any = None  # rnnstudy.stats.Front of a study with several objectives

    def front_table(self) -> pd.DataFrame:
        """The front's table for people: n, each objective's mean ± CI, status, dominated by."""
        return _export.front_rows(self.front)

    def export(self, form: str) -> str:
        """The points as a table for a paper or a page: ``form`` "latex" (booktabs: mean ± CI,
        the best in bold, the points not distinguishable from it marked) or "markdown"; with the
        pivot of a two-parameter grid."""
        if form not in FORMATS:
            raise ReportError(f"--format {form!r} is not known; allowed: {', '.join(FORMATS)}")
        if form == "text":
            return self.text()
        if self.front is not None:
            if form == "latex":
                return _export.front_latex(self.front, caption=self.title)
            return _export.front_markdown(self.front) + f"\n{self.front.levels}\n"
        if self.comparison is None:
            return "no finished trials yet"
        summary = self.comparison.frame()
        if self.points is not None:  # each point's hyperparameters beside its numbers
            params = self.points[[n for n in self.names if n in self.points]]
            summary = _export.with_params(summary, params.to_dict("index"))
        columns = [n for n in self.names if n in summary] or None
        metric = self.value
        if form == "latex":
            parts = [_export.latex(summary, columns, caption=self.title, metric=metric)]
            if self.axes:
                parts.append(
                    _export.pivot_latex(summary, *self.axes, caption=self.pivot_caption, metric=metric)
                )
        else:
            parts = [_export.markdown(summary, columns, metric=metric)]
            if self.axes:
                parts.append(_export.pivot_markdown(summary, *self.axes, metric=metric))
        return "\n\n".join(parts) + "\n"

    def text(self) -> str:
        """For the terminal: with repeats, the points (the trials are in trials.csv)."""
        parts = [self.title]
        if self.front is not None:
            parts += [self.front_table().to_string(), *self.front.lines(), self.front.levels]
        if self.points is not None:
            parts += [points_shown(self.points).to_string(), *self.comparison.lines()]
        else:
            shown = formatted(self.table).rename(columns=self.headers)
            parts.append(shown.to_string() if not shown.empty else "no finished trials yet")
        if self.pivot is not None:
            parts.append(f"{self.pivot_caption}\n{formatted(self.pivot).to_string()}")
        parts += self.notes
        if self.extra:
            parts.append(self.extra)
        return "\n\n".join(parts)

    def markdown(self) -> str:
        parts = [f"## {self.title}"]
        if self.front is not None:
            parts += [
                _export.front_markdown(self.front),
                "\n".join(f"- {line}" for line in [*self.front.lines(), self.front.levels]),
                "### Trials",
            ]
        if self.points is not None:
            parts += [
                markdown_table(points_shown(self.points)),
                "\n".join(f"- {line}" for line in self.comparison.lines()),
                "### Trials",
            ]
        parts.append(markdown_table(self.table, self.headers))
        if self.pivot is not None:
            parts += [self.pivot_caption, markdown_table(self.pivot)]
        parts += ["\n".join(f"- {note}" for note in self.notes)] if self.notes else []
        if self.extra:
            parts.append("```\n" + self.extra + "\n```")
        return "\n\n".join(parts) + "\n"

    def write(self, folder: Path) -> list[Path]:
        """``table.csv`` (a row per point with repeats, else per trial), ``trials.csv`` with
        repeats, ``pivot.csv`` when pivoted, and ``report.md`` with everything."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = [folder / "table.csv", folder / "report.md"]
        (self.points if self.points is not None else self.table).to_csv(paths[0])
        paths[1].write_text(self.markdown())
        if self.points is not None:
            paths.append(folder / "trials.csv")
            self.table.to_csv(paths[-1])
        if self.pivot is not None:
            paths.append(folder / "pivot.csv")
            self.pivot.to_csv(paths[-1])
        if self.front is not None:
            paths.append(folder / "front.csv")
            front = self.front.frame()
            for column in ("dominated_by", "behind"):  # tuples of points: "; "-joined in a CSV
                front[column] = front[column].map("; ".join)
            front.to_csv(paths[-1])
        return paths


def make_report(
    frame: pd.DataFrame, history: dict[int, pd.DataFrame], facts: StudyFacts, options: ReportOptions
) -> Report:
    """The report of a study from its trials frame and per-epoch history."""
    metric = options.metric or facts.objective
    last = options.last if options.last is not None else (facts.window if facts.window > 1 else DEFAULT_LAST)
    if last < 1:
        raise ReportError(f"--last {last} must be >= 1")
    if options.last is None and history:  # trials shorter than the window: the window is theirs
        last = min(last, max(len(h) for h in history.values()))
    logged = sorted({m for h in history.values() for m in h})
    if options.metric and history and metric not in logged:
        raise ReportError(f"--metric {metric!r} was not logged every epoch; logged: {', '.join(logged)}")
    searched = facts.searched or varying(frame)
    lower = lower_is_better(metric, objective=facts.objective, direction=facts.direction)
    full = table(frame, history, searched, metric, last, lower_is_better=lower)
    shown, notes = full, []
    skipped = _skipped(frame)
    if skipped:
        notes.append(f"not shown: {skipped}")
    failed = _failed_points(frame)
    if failed:
        notes.append(f"failed (no trial of theirs completed, so out of the comparison): {failed}")
    spread = f"{metric}_spread_last{last}"
    if options.stable is not None:
        if spread not in full:
            raise ReportError(f"--stable needs the per-epoch history of {metric!r}, which was not logged")
        shown = full[full[spread] < options.stable]
        notes.append(
            f"stable (max - min of {metric} over the last {last} epochs < {options.stable}): "
            f"{len(shown)} of {len(full)} trials"
        )
    front = _verdict.front(frame, shown, searched, facts) if facts.several else None
    # several objectives: the front is the verdict, not a best point on one of them
    comparison, points = (
        (None, None)
        if front is not None
        else _verdict.compare_points(frame, shown, searched, options.value, facts)
    )
    chance = _chance_note(frame, shown, points, searched, options.value, facts)
    best = _best_line(shown, searched, options.value, facts) if front is None else ""
    if best and points is None:
        notes.append(("best stable: " if options.stable is not None else "best: ") + best)
        if comparison is not None:
            notes.append(comparison.verdict)  # one seed per point: the ranking is unverified
    if chance:
        notes.append(chance)
    axes = options.pivot or _grid_axes(full, searched, facts)
    pivoted = pivot(shown, *axes, options.value, like=full) if axes else None
    caption = f"{options.value} by {axes[0]} (rows) and {axes[1]} (columns), with means" if axes else ""
    extra = None
    if facts.report is not None:
        try:
            result = facts.report(completed(frame))
        except Exception as exc:  # the study file's own code: say so, keep the rest of the report
            result = f"the study file's report(frame) failed: {type(exc).__name__}: {exc}"
        text = formatted(seed_means(result)).to_string() if isinstance(result, pd.DataFrame) else str(result)
        extra = redact(text)  # the study file's own output, logged in report.md
    title = (
        f"{facts.name}: {len(shown)} finished trial(s); {metric} at the last epoch, its best, "
        f"and its mean and spread (max - min) over the last {last} epochs"
    )
    if points is not None:
        title = f"{facts.name}: {len(points)} points × seeds, {len(shown)} finished trial(s); {options.value} per point"
    if front is not None:
        title = (
            f"{facts.name}: {len(front.table)} points, {len(shown)} finished trial(s); the front of "
            + ", ".join(f"{n} ({'min' if d == 'minimize' else 'max'})" for n, d in facts.objectives.items())
        )
    names = [n for n in searched if n != "seed"]
    return Report(
        title,
        shown,
        pivoted,
        caption,
        notes,
        extra,
        _headers(metric, last),
        options.value,
        comparison,
        points,
        names,
        tuple(axes) if axes else None,
        front,
    )


def _chance_note(
    frame, shown: pd.DataFrame, points, searched: list[str], value: str, facts: StudyFacts
) -> str:
    """What an accuracy is worth beside chance: the validation split's majority-class share
    (what a model that learned nothing scores), and the points (or trials) not above it."""
    metric = facts.objective if value == "objective" else value
    done = completed(frame).set_index("trial")
    if "val_accuracy" not in str(metric) or CHANCE_PARAM not in done or value not in shown or shown.empty:
        return ""
    chance = pd.to_numeric(done[CHANCE_PARAM], errors="coerce").reindex(shown.index)
    if chance.isna().all():
        return ""
    level = (
        f"{chance.min():.4f}" if chance.min() == chance.max() else f"{chance.min():.4f}–{chance.max():.4f}"
    )
    head = f"chance: {metric} {level}, always answering the validation split's majority class"
    if points is not None:  # a point is above chance when its mean is above its trials' chance
        labels = _verdict.point_labels(frame, shown, [n for n in searched if n in shown and n != "seed"])
        by_point = chance.groupby(labels).max().reindex(points.index)
        below = points.index[points["mean"].to_numpy() <= by_point.to_numpy()]
        named = [f"{p} ({points.at[p, 'mean']:.4f})" for p in below]
        whole = len(points)
    else:
        below = shown.index[shown[value].to_numpy() <= chance.to_numpy()]
        named = [f"trial #{t} ({shown.at[t, value]:.4f})" for t in below]
        whole = len(shown)
    if not named:
        return f"{head}; every {'point' if points is not None else 'trial'} is above it"
    if len(named) == whole:
        return f"{head}; NOT ONE is above it: the models learned nothing yet ({', '.join(named[:5])})"
    return f"{head}; not above it: {', '.join(named[:8])}" + (
        f" and {len(named) - 8} more" if len(named) > 8 else ""
    )


def points_shown(points: pd.DataFrame) -> pd.DataFrame:
    """The points' table for people: the searched values, n, mean ± CI half-width, the
    difference to the best with its interval, the Holm-corrected p-values, the verdict, then
    the points' mean size, training time and test accuracy."""

    def _p(value) -> str:
        return "" if pd.isna(value) else stats.format_p(value)

    names = [c for c in points.columns if c not in stats.COLUMNS and c not in _verdict.COST_COLUMNS]
    shown = pd.DataFrame({c: [_cell(c, v) for v in points[c]] for c in names}, index=points.index)
    shown["n"] = points["n"].astype(int).astype(str)
    half = (points["ci_high"] - points["ci_low"]) / 2
    shown["mean ± 95% CI"] = [
        f"{m:.4f} ± {h:.4f}" if pd.notna(h) else f"{m:.4f}" for m, h in zip(points["mean"], half)
    ]
    shown["std"] = [_cell("std", v) for v in points["std"]]
    shown["diff to best [95% CI, unadjusted]"] = [
        "" if verdict == "best" or pd.isna(d) else f"{d:+.4f} [{lo:+.4f}, {hi:+.4f}]"
        for d, lo, hi, verdict in zip(
            points["diff"], points["diff_low"], points["diff_high"], points["verdict"]
        )
    ]
    shown["p (t, Holm)"] = [_p(v) for v in points["p"]]
    shown["p (Wilcoxon, Holm)"] = [_p(v) for v in points["p_wilcoxon"]]
    shown["verdict"] = stats.shown_verdicts(points)
    headers = _headers("", 0)
    for column in [c for c in _verdict.COST_COLUMNS if c in points]:
        shown[headers.get(column, column)] = [_cell(column, v) for v in points[column]]
    return shown


def table(
    frame: pd.DataFrame,
    history: dict[int, pd.DataFrame],
    searched: list[str],
    metric: str,
    last: int,
    *,
    lower_is_better: bool = False,
) -> pd.DataFrame:
    """Finished trials: searched values, size, times, overfit, then the metric's final, best,
    mean and spread (max − min) over the last ``last`` epochs, the test accuracy and the objective."""
    done = completed(frame)
    if done.empty:
        return pd.DataFrame(columns=["trial"]).set_index("trial")
    out = done[["trial", *[c for c in searched if c in done]]].copy()
    if "seed" in done and "seed" not in searched and done["seed"].nunique() > 1:
        out["seed"] = done["seed"]  # repeats: the trials of a point differ by their seed
    sizes = ["params_total"]
    if "params_trainable" in done and not done["params_trainable"].equals(done["params_total"]):
        sizes.append("params_trainable")  # only where something is frozen (seed 000's GloVe)
    for column in (*sizes, "train_time_s", "inference_time_s", "overfit_pct"):
        if column in done:
            out[column] = done[column]
    series = [history.get(int(t), pd.DataFrame()).get(metric) for t in done["trial"]]
    if any(s is not None for s in series):
        pick = min if lower_is_better else max
        out[f"{metric}_final"] = [s.iloc[-1] if s is not None else math.nan for s in series]
        out[f"{metric}_best"] = [pick(s) if s is not None else math.nan for s in series]
        tails = [s.iloc[-last:] if s is not None else None for s in series]
        out[f"{metric}_mean_last{last}"] = [t.mean() if t is not None else math.nan for t in tails]
        out[f"{metric}_spread_last{last}"] = [t.max() - t.min() if t is not None else math.nan for t in tails]
    scores = [c for c in done if str(c).startswith(_verdict.SCORE_PREFIX)]  # several objectives' scores
    for column in ("test_accuracy", "objective", *scores):
        if column in done and column not in out:
            out[column] = done[column]
    return out.set_index("trial")


def pivot(
    shown: pd.DataFrame, row: str, column: str, value: str, *, like: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Seed 003's grid: ``value`` by ``row`` × ``column``, with a ``mean`` column and row.

    Several trials in one cell (seeds, say) are averaged; the bottom-right corner is the mean
    of the cells. ``like`` (the unfiltered table) keeps the whole grid, filtered cells blank.
    """
    for name in (row, column, value):
        if name not in shown:
            raise ReportError(
                f"cannot pivot on {name!r}: not a column of the table; columns: "
                f"{', '.join(map(str, shown.columns))}"
            )
    if row == column:
        raise ReportError(f"--pivot {row} {column}: give two different hyperparameters")
    grid = shown.pivot_table(index=row, columns=column, values=value, aggfunc="mean", dropna=False)
    if like is not None:
        grid = grid.reindex(index=_ordered(like[row]), columns=_ordered(like[column]))
    grid["mean"] = grid.mean(axis=1)
    means = grid.drop(columns="mean").mean(axis=0)
    means["mean"] = grid.drop(columns="mean").stack().mean()
    grid.loc["mean"] = means
    grid.index.name, grid.columns.name = None, f"{row} \\ {column}"
    return grid


def seed_means(table: pd.DataFrame) -> pd.DataFrame:
    """A study file's table with one row per trial, as the seed reports have one per model: the
    rows that share a label (a model's seeds) become their mean, with their count in a "seeds"
    column. A table whose labels are all different is returned as it is."""
    if not table.index.has_duplicates:
        return table
    groups = table.groupby(level=list(range(table.index.nlevels)), sort=False)
    numbers = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])]
    varying = [c for c in numbers if (groups[c].nunique() > 1).any()]
    shared = [c for c in table.columns if c not in varying]  # a model's size, its name: as they are
    means = groups[varying].mean().join(groups[shared].first())[list(table.columns)]
    return means.assign(seeds=groups.size())


def per_model(
    frame: pd.DataFrame, label: Callable[[pd.Series], str], columns: Mapping[str, str] = MODEL_COLUMNS
) -> pd.DataFrame | str:
    """A study file's table: the finished trials of ``frame`` in its order, indexed "model" by
    ``label(row)``, with ``columns`` (logged name -> header); a line while none has finished."""
    done = completed(frame)
    if done.empty:
        return "no finished trials yet"
    models = done.apply(label, axis=1).rename("model")
    return done[list(columns)].rename(columns=columns).set_index(models)


def markdown_table(frame: pd.DataFrame, headers: dict[str, str] | None = None) -> str:
    """A pipe table of ``frame`` with its index as the first column, numbers as printed."""
    text = formatted(frame).rename(columns=headers or {})
    head = [frame.columns.name or frame.index.name or "", *map(str, text.columns)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join([str(i), *row]) + " |" for i, row in zip(text.index, text.values)]
    return "\n".join(lines)


def _ordered(values: pd.Series) -> list:
    unique = list(values.dropna().unique())
    try:
        return sorted(unique)
    except TypeError:  # mixed kinds (numbers and words): sort as text
        return sorted(unique, key=str)


def _headers(metric: str, last: int) -> dict[str, str]:
    """Short headers for people; the title names the metric and N."""
    return {
        "params_total": "params",
        "params_trainable": "trainable",
        "train_time_s": "train_s",
        "inference_time_s": "infer_s",
        "overfit_pct": "overfit_%",
        f"{metric}_final": "final",
        f"{metric}_best": "best",
        f"{metric}_mean_last{last}": f"mean_last{last}",
        f"{metric}_spread_last{last}": f"spread_last{last}",
        "test_accuracy": "test_acc",
    }


def formatted(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers as text: counts whole, seconds to 2 places, scores to 4."""
    out = frame.copy().astype(object)
    for column in frame.columns:
        out[column] = [_cell(column, v) for v in frame[column]]
    return out


def _cell(column: Any, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if str(column).startswith("params_"):
        return str(int(value))
    if str(column).endswith(("_s", "_pct")):
        return f"{value:.2f}"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}" if abs(value) >= 1000 else f"{value:.4f}"


def _best_line(shown: pd.DataFrame, searched: list[str], value: str, facts: StudyFacts) -> str:
    """The best trial by ``value``, with its searched values, as one line."""
    if shown.empty or value not in shown or shown[value].isna().all():
        return ""
    lower = lower_is_better(value, objective=facts.objective, direction=facts.direction)
    trial = shown[value].idxmin() if lower else shown[value].idxmax()
    values = [f"{k}={shown.at[trial, k]}" for k in searched if k in shown]
    return " ".join([f"trial #{trial}", *values, f"{value} {_cell(value, shown.at[trial, value])}"])


def _grid_axes(shown: pd.DataFrame, searched: list[str], facts: StudyFacts) -> tuple[str, str] | None:
    """A grid of exactly two searched hyperparameters pivots by itself."""
    names = [n for n in searched if n in shown]
    if facts.sampler != "grid" or len(names) != 2 or shown.empty:
        return None
    if any(shown[n].nunique() < 2 for n in names):
        return None
    return names[0], names[1]


def varying(frame: pd.DataFrame) -> list[str]:
    """Params whose value differs between trials: the searched ones when nothing else says."""
    params = [c for c in frame.attrs.get("params", ()) if not c.endswith(NOT_SEARCHED)]
    return [c for c in params if c in frame and frame[c].astype(str).nunique() > 1]


def _skipped(frame: pd.DataFrame) -> str:
    if frame.empty:
        return ""
    counts = frame["state"].value_counts()
    return ", ".join(f"{n} {state.lower()}" for state, n in counts.items() if state != "COMPLETE")


def _failed_points(frame: pd.DataFrame) -> str:
    """The points whose trials all failed (a race drops them): their verdict is "failed"."""
    if frame.empty or "point" not in frame:
        return ""
    states = frame.groupby("point", dropna=True)["state"].agg(set)
    return ", ".join(point for point, seen in states.items() if seen == {"FAILED"})
