"""Pictures: a trial's curves, every trial of a study in one figure, and Optuna's plots."""

from __future__ import annotations

import html
import io
import logging
import math
import sys
import warnings
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:  # in Jupyter the notebook's backend stays: figures show inline
    matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from rnnstudy import stats
from rnnstudy.spec.direction import lower_is_better

SPLITS = (("", "train"), ("val_", "validation"), ("test_", "test"))


class ShownFigure(Figure):
    """A figure that IPython shows as a PNG whatever matplotlib's backend; not pyplot's, so a
    notebook shows it once, where it is returned."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=90)
        return buffer.getvalue()


def curves(rows: list[dict[str, float]], path: Path, title: str = "") -> None:
    """Loss and accuracy per epoch for every split that was logged, side by side."""
    epochs = range(1, len(rows) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for prefix, label in SPLITS:
            key = prefix + metric
            if rows and key in rows[0]:
                ax.plot(epochs, [r.get(key) for r in rows], label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def study_curves(histories: dict, metrics: list[str], path: Path, title: str = "") -> None:
    """:func:`study_curves_figure` as a PNG file."""
    study_curves_figure(histories, metrics, title).savefig(path, dpi=90)


def study_curves_figure(histories: dict, metrics: list[str], title: str = "") -> Figure:
    """Every trial's ``metrics`` against epoch, one panel per metric, one line per trial.

    Args:
        histories: per-epoch values by trial label, each a DataFrame indexed by epoch.
        metrics: the panels, e.g. ["val_accuracy", "val_loss"]; a metric nobody logged is left out.
    """
    from matplotlib.ticker import MaxNLocator

    metrics = [m for m in metrics if any(m in h for h in histories.values())] or metrics[:1]
    columns = min(max(len(histories), 1), 5)
    legend_rows = -(-len(histories) // columns)
    height = 4.0 + 0.22 * legend_rows  # room under the panels for the legend
    fig = ShownFigure(figsize=(5.2 * len(metrics), height))
    axes = fig.subplots(1, len(metrics), squeeze=False)
    many = len(histories) > 10  # past ten lines, a colour map tells neighbours apart better
    colours = matplotlib.colormaps["viridis" if many else "tab10"]
    for ax, metric in zip(axes[0], metrics):
        for k, (label, history) in enumerate(histories.items()):
            if metric in history:
                series = history[metric].dropna()
                ax.plot(
                    series.index,
                    series.values,
                    marker="." if len(series) < 20 else None,
                    color=colours(k / (len(histories) - 1)) if many else colours(k % 10),
                    label=label,
                    linewidth=1.2,
                )
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncols=columns, fontsize="small", frameon=False)
    fig.suptitle(f"{title}: every trial" if title else "every trial")
    fig.tight_layout(rect=(0, 0.22 * legend_rows / height + 0.02 if handles else 0, 1, 1))
    return fig


OPTUNA_PLOTS = (
    ("optimisation history", "plot_optimization_history"),
    ("parallel coordinates", "plot_parallel_coordinate"),
    ("parameter importances", "plot_param_importances"),
    ("contour", "plot_contour"),
)


def optuna_page(study, path: Path, title: str = "") -> None:
    """Optuna's optimisation history, parallel coordinates, importances and contour in one
    self-contained HTML page (plotly.js inside, so it opens offline and in MLflow's viewer).

    A plot the study cannot have yet (importances of one trial, a contour of one parameter)
    is replaced by a line saying why.
    """
    import optuna
    import plotly.offline

    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    names = {n for t in complete for n in t.params}
    why_not = {
        "plot_param_importances": "needs two finished trials" if len(complete) < 2 else "",
        "plot_contour": "needs two searched hyperparameters" if len(names) < 2 else "",
    }
    sections = []
    shown = OPTUNA_PLOTS
    if len(study.directions) > 1:  # the other plots need one target: the front is the picture
        shown = (("Pareto front", "plot_pareto_front"),)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(logging.ERROR)  # Optuna warns on plots of small studies
    try:
        for heading, function in shown:
            reason = "no finished trials yet" if not complete else why_not.get(function, "")
            if not reason:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        figure = getattr(optuna.visualization, function)(study)
                    body = figure.to_html(full_html=False, include_plotlyjs=False)
                except (ValueError, RuntimeError, ZeroDivisionError) as exc:  # degenerate studies
                    reason = f"{type(exc).__name__}: {exc}"
            if reason:
                body = f"<p><em>{html.escape(reason)}</em></p>"
            sections.append(f"<h2>{heading}</h2>\n{body}")
    finally:
        optuna.logging.set_verbosity(verbosity)
    page = (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<script type='text/javascript'>{plotly.offline.get_plotlyjs()}</script></head>\n"
        f"<body style='font-family: sans-serif'><h1>{html.escape(title)}: Optuna</h1>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )
    path.write_text(page, encoding="utf-8")


# --- repeated runs: every point's mean with its CI, and mean curves over seeds -------------

VERDICT_STYLE = {  # verdict -> colour, marker, legend label (see rnnstudy.stats)
    "best": ("#d62728", "*", "best"),
    "tie": ("#1f77b4", "o", "not distinguishable from the best"),
    "untested": ("#1f77b4", "o", "not tested (fewer than 2 seeds in common with the best)"),
    "worse": ("#9a9a9a", "o", "worse than the best"),
}


def points_with_ci(summary, path: Path, title: str = "", metric: str = "") -> None:
    """Every point's mean with its CI as a whisker, one row per point, best at the top.

    Args:
        summary: the per-point frame of :func:`rnnstudy.stats` (``Comparison.frame()``):
            indexed by point, with mean, ci_low, ci_high, p and verdict ("best", "tie", "worse").
        metric: the x axis' name.

    The best point is a red star, the points not distinguishable from it blue (hollow when they
    could not be tested), the worse ones grey; a dotted line marks the best mean. The legend says
    what the colours mean, with alpha and the test from the frame's ``attrs`` when it has them.
    """
    import numpy as np

    alpha = summary.attrs.get("alpha", stats.ALPHA)
    lower = summary.attrs.get("lower_is_better")  # set by the comparison; else the metric's name says
    lower = lower_is_better(metric) if lower is None else bool(lower)
    table = _best_first(summary, lower)
    k = len(table)
    height = 1.9 + 0.3 * k
    # the labels' width (about 0.085 in a character at the tick font) beside a plot of 5.5 in,
    # so that long labels (shakespeare's 95 characters) do not squeeze the plot to nothing
    width = max(8.0, 5.5 + 0.085 * max((len(str(p)) for p in table.index), default=0))
    fig, ax = plt.subplots(figsize=(width, height))
    y = np.arange(k)[::-1]  # the first row at the top
    kinds = list(stats.shown_verdicts(table))
    shown = {}
    for kind in ("worse", "untested", "tie", "best"):  # the best drawn last, on top
        rows = np.array([x == kind for x in kinds], dtype=bool)
        if not rows.any():
            continue
        colour, marker, label = VERDICT_STYLE[kind]
        if kind == "best":
            label = f"best ({'lowest' if lower else 'highest'} mean)"
        if kind == "tie":
            label += f" (paired t-test, Holm, α={alpha:g})"
        part = table[rows]
        mean = part["mean"].to_numpy(dtype=float)
        low = np.nan_to_num(mean - part["ci_low"].to_numpy(dtype=float), nan=0.0)
        high = np.nan_to_num(part["ci_high"].to_numpy(dtype=float) - mean, nan=0.0)
        shown[kind] = ax.errorbar(
            mean,
            y[rows],
            xerr=[low, high],
            fmt=marker,
            color=colour,
            markerfacecolor="white" if kind == "untested" else colour,
            markersize=11 if kind == "best" else 6,
            capsize=3,
            elinewidth=1.4,
            label=label,
            zorder=3,
        )
    line = []
    if k:
        best = table["mean"].iloc[0]
        line = [
            ax.axvline(
                best, color=VERDICT_STYLE["best"][0], linestyle=":", linewidth=1, label="the best mean"
            )
        ]
    ax.set_yticks(y)
    ax.set_yticklabels([str(p) for p in table.index], fontsize="small" if k > 15 else "medium")
    ax.set_ylim(-0.7, k - 0.3)
    confidence = f"{(1 - alpha) * 100:g} %"
    ax.set_xlabel(f"{metric or 'value'}: mean over seeds, whiskers = {confidence} CI (t interval)")
    ax.grid(axis="x", alpha=0.3)
    handles = [shown[kind] for kind in VERDICT_STYLE if kind in shown] + line  # best, ties, ..., line
    legend_height = 0.2 * len(handles) + 0.45
    fig.legend(
        handles,
        [h.get_label() for h in handles],
        loc="lower center",
        fontsize="small",
        title="colours: paired tests on the seeds both have, so a worse point's whisker may overlap the best's",
        title_fontsize="small",
        frameon=False,
    )
    ax.set_title(title or "points with their confidence intervals")
    fig.tight_layout(rect=(0, legend_height / height, 1, 1))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _best_first(summary, lower: bool):
    """The rows best first, then by mean in the metric's direction (positions, not labels: a
    point may be a tuple)."""
    import numpy as np

    verdict = summary["verdict"].to_numpy()
    best, rest = np.flatnonzero(verdict == "best"), np.flatnonzero(verdict != "best")
    means = summary["mean"].to_numpy(dtype=float)
    rest = rest[np.argsort(means[rest] if lower else -means[rest], kind="stable")]
    return summary.iloc[np.concatenate([best, rest]).astype(int)]


def _range(metric: str) -> tuple[float, float]:
    """The values a metric can take, so that a band of few seeds stays inside them."""
    if "accuracy" in metric:
        return 0.0, 1.0
    if metric.endswith("perplexity"):
        return 1.0, math.inf
    return (0.0, math.inf) if metric.endswith("loss") else (-math.inf, math.inf)


def mean_curves(
    histories_by_point: dict, metric, path: Path, title: str = "", confidence: float = 0.95
) -> None:
    """:func:`mean_curves_figure` as a PNG file."""
    mean_curves_figure(histories_by_point, metric, title, confidence).savefig(path, dpi=90)


def mean_curves_figure(histories_by_point: dict, metric, title: str = "", confidence: float = 0.95) -> Figure:
    """Per point, the mean curve over its seeds with a band for the CI of that mean (a t
    interval per epoch, from scipy); one panel per metric.

    Args:
        histories_by_point: ``{point label: [one DataFrame per seed, indexed by epoch, a column
            per metric]}``.
        metric: a metric name, or a list of them (one panel each; one nobody logged is left out).

    An epoch that only one seed reached has a mean but no band.
    """
    import numpy as np
    import pandas as pd
    from matplotlib.ticker import MaxNLocator
    from scipy import stats as scipy_stats

    metrics = [metric] if isinstance(metric, str) else list(metric)
    logged = [m for m in metrics if any(m in h for hs in histories_by_point.values() for h in hs)]
    metrics = logged or metrics[:1]
    width = 6.0 * len(metrics)
    longest = max((len(f"{label} (10 seeds)") for label in histories_by_point), default=1)
    # as many legend columns as the figure's width holds (about 15 small characters an inch)
    columns = max(1, min(len(histories_by_point), 4, int(width * 15 // (longest + 5))))
    legend_rows = -(-len(histories_by_point) // columns)
    height = 4.2 + 0.24 * legend_rows
    fig = ShownFigure(figsize=(width, height))
    axes = fig.subplots(1, len(metrics), squeeze=False)
    many = len(histories_by_point) > 10
    colours = matplotlib.colormaps["viridis" if many else "tab10"]
    for ax, name in zip(axes[0], metrics):
        for k, (label, histories) in enumerate(histories_by_point.items()):
            runs = [h[name] for h in histories if name in h]
            if not runs:
                continue
            values = pd.concat(runs, axis=1).sort_index()  # epochs x seeds
            n = values.notna().sum(axis=1).to_numpy()
            mean = values.mean(axis=1).to_numpy(dtype=float)
            sem = (values.std(axis=1, ddof=1) / np.sqrt(n)).to_numpy(dtype=float)
            with np.errstate(invalid="ignore", divide="ignore"):
                low, high = scipy_stats.t.interval(confidence, df=np.maximum(n - 1, 1), loc=mean, scale=sem)
            low, high = np.clip(low, *_range(name)), np.clip(high, *_range(name))
            band = (n >= 2) & np.isfinite(low) & np.isfinite(high)
            colour = colours(k / max(len(histories_by_point) - 1, 1)) if many else colours(k % 10)
            epochs = values.index.to_numpy()
            ax.plot(
                epochs,
                mean,
                color=colour,
                linewidth=1.4,
                marker="o" if len(epochs) < 20 else None,  # a line of one epoch is no line at all
                label=f"{label} ({len(runs)} seed{'' if len(runs) == 1 else 's'})",
            )
            ax.fill_between(epochs, low, high, where=band, color=colour, alpha=0.2, linewidth=0)
            if len(epochs) == 1 and band.all():  # a band needs two epochs: a whisker instead
                ax.errorbar(epochs, mean, yerr=[mean - low, high - mean], color=colour, capsize=4)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncols=columns, fontsize="small", frameon=False)
    what = f"mean over seeds, band = {confidence * 100:g} % CI of the mean"
    fig.suptitle(f"{title}: {what}" if title else what)
    fig.tight_layout(rect=(0, 0.24 * legend_rows / height + 0.02 if handles else 0, 1, 1))
    return fig


# --- several objectives: the Pareto front --------------------------------------------------

FRONT_STYLE = {  # status -> colour, marker, alpha, legend label (see rnnstudy.stats.pareto)
    "dominated": ("#9a9a9a", "o", 0.35, "dominated"),
    "possibly": ("#1f77b4", "o", 0.9, "possibly on the front (the seeds cannot tell)"),
    "front": ("#d62728", "*", 1.0, "on the front"),
}


def pareto(front, path: Path, title: str = "") -> None:
    """:func:`pareto_figure` as a PNG file."""
    fig = pareto_figure(front, title)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def pareto_figure(front, title: str = "") -> Figure:
    """The points of a front (rnnstudy.stats.Front) by their objectives' means, with CI error
    bars: two objectives on the axes, the front drawn as its staircase and the dominated points
    faded; three or more, a matrix of every pair (the front marked, no staircase: a projection
    of it is none)."""
    names = list(front.objectives)
    pairs = [(i, j) for j in range(1, len(names)) for i in range(j)]
    side = len(names) - 1
    fig = ShownFigure(figsize=(6.5, 5.0) if side == 1 else (3.6 * side, 3.4 * side))
    grid = fig.subplots(side, side, squeeze=False)
    for row in grid:
        for ax in row:
            ax.set_visible(False)
    for i, j in pairs:
        ax = grid[j - 1][i]
        ax.set_visible(True)
        _front_panel(ax, front, names[i], names[j], staircase=side == 1)
    handles, labels = grid[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, frameon=False)
    fig.suptitle(f"{title}: Pareto front" if title else "Pareto front")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def _front_panel(ax, front, x: str, y: str, *, staircase: bool) -> None:
    import numpy as np

    table = front.table
    for status, (colour, marker, alpha, label) in FRONT_STYLE.items():  # the front drawn last
        part = table[table["status"] == status]
        if part.empty:
            continue
        ax.errorbar(
            part[x],
            part[y],
            xerr=np.abs([part[x] - part[f"{x}_low"], part[f"{x}_high"] - part[x]]),
            yerr=np.abs([part[y] - part[f"{y}_low"], part[f"{y}_high"] - part[y]]),
            fmt=marker,
            color=colour,
            alpha=alpha,
            markersize=11 if marker == "*" else 6,
            capsize=3,
            label=label,
        )
        for point, row in part.iterrows():
            ax.annotate(
                str(point),
                (row[x], row[y]),
                fontsize=7,
                alpha=alpha,
                xytext=(4, 4),
                textcoords="offset points",
            )
    on = table[table["status"] == "front"].sort_values(x)
    if staircase and len(on) > 1:
        # the edge of what the front dominates: from each point, the step goes to its
        # neighbour's value on y at its own x when higher x is better, at the neighbour's x when lower
        ax.step(on[x], on[y], where="post" if front.objectives[x] else "pre", color="#d62728", alpha=0.5)
    for axis, name in ((ax.set_xlabel, x), (ax.set_ylabel, y)):
        axis(f"{name} ({'lower' if front.objectives[name] else 'higher'} is better)")
    ax.grid(alpha=0.3)
