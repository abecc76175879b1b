"""Pictures: a trial's curves, every trial of a study in one figure, and Optuna's plots."""

from __future__ import annotations

import html
import logging
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402

SPLITS = (("", "train"), ("val_", "validation"), ("test_", "test"))


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
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), height), squeeze=False)
    many = len(histories) > 10  # past ten lines, a colour map tells neighbours apart better
    colours = plt.get_cmap("viridis" if many else "tab10")
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
    fig.savefig(path, dpi=90)
    plt.close(fig)


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
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(logging.ERROR)  # Optuna warns on plots of small studies
    try:
        for heading, function in OPTUNA_PLOTS:
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
