"""The two pictures of repeated runs: every point's mean with its CI, and mean curves over seeds."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pandas as pd

from rnnstudy.results import plots
from rnnstudy.stats import compare


def grid_scores(seeds: int = 5) -> pd.DataFrame:
    """A 5 x 5 channel grid (25 points) like seed 003's, scores with a shared seed effect."""
    rng = np.random.default_rng(40)
    shared = rng.normal(0, 0.002, seeds)
    rows = []
    for c1 in (10, 30, 50, 70, 90):
        for c2 in (20, 40, 60, 80, 100):
            truth = 0.50 + 0.0006 * c1 + 0.0002 * c2 - 0.0000018 * c2**2
            for seed in range(seeds):
                rows.append((f"c1={c1} c2={c2}", seed, truth + shared[seed] + rng.normal(0, 0.003)))
    return pd.DataFrame(rows, columns=["point", "seed", "value"])


def _png(path):
    assert path.exists() and path.stat().st_size > 10_000
    return matplotlib.image.imread(path)


def test_points_with_ci_draws_25_points(tmp_path):
    result = compare(grid_scores(), lower_is_better=False)
    assert result.ties and result.worse  # the picture has every kind of mark
    path = tmp_path / "points.png"
    plots.points_with_ci(result.frame(), path, title="cifar_channels", metric="test accuracy")
    height, width, _ = _png(path).shape
    assert height > 600 and width > 600  # 25 rows, readable at 90 dpi: about 0.3 inch each


def test_points_with_ci_one_seed_and_lower_is_better(tmp_path):
    scores = pd.DataFrame({"point": ["a", "b", "c"], "seed": [0, 0, 0], "value": [1.2, 0.9, 1.0]})
    summary = compare(scores, lower_is_better=True).frame()
    path = tmp_path / "one.png"
    plots.points_with_ci(summary, path)  # no intervals, every rival untested
    assert _png(path).shape[0] > 200
    assert list(plots._best_first(summary, summary.attrs["lower_is_better"]).index) == ["b", "c", "a"]


def test_mean_curves_band_per_epoch(tmp_path):
    rng = np.random.default_rng(41)
    epochs = pd.Index(range(1, 21), name="epoch")
    histories = {
        f"lr={lr}": [
            pd.DataFrame(
                {
                    "val_accuracy": 0.9 - 0.4 * np.exp(-epochs.to_numpy() * lr) + rng.normal(0, 0.01, 20),
                    "val_loss": 0.3 + np.exp(-epochs.to_numpy() * lr) + rng.normal(0, 0.02, 20),
                },
                index=epochs,
            )
            for _ in range(5)
        ]
        for lr in (0.05, 0.1, 0.3)
    }
    histories["short"] = [histories["lr=0.1"][0].iloc[:5], histories["lr=0.3"][0].iloc[:8]]  # unequal runs
    path = tmp_path / "curves.png"
    plots.mean_curves(histories, ["val_accuracy", "val_loss", "never_logged"], path, title="optimizers")
    height, width, _ = _png(path).shape
    assert width > 2 * height  # two panels side by side (the metric nobody logged is left out)
    single = tmp_path / "single.png"
    plots.mean_curves(histories, "val_accuracy", single)
    assert _png(single).shape[1] < width


def test_two_seeds_far_apart_keep_the_accuracy_band_inside_0_and_1():
    """With two seeds the 95 % band is ±12.7 standard errors: it was drawn from -0.25 to 1.45."""
    epochs = pd.Index([1, 2, 3], name="epoch")
    seeds = [
        pd.DataFrame({"val_accuracy": v, "val_loss": loss}, index=epochs)
        for v, loss in (([0.2, 0.5, 0.6], [2.0, 1.2, 0.9]), ([0.6, 0.7, 0.9], [0.5, 0.4, 0.3]))
    ]
    figure = plots.mean_curves_figure({"c=1": seeds}, ["val_accuracy", "val_loss"])

    for ax, (low, high) in zip(figure.axes, [(0.0, 1.0), (0.0, np.inf)]):
        band = ax.collections[0].get_paths()[0].vertices[:, 1]
        assert band.min() >= low and band.max() <= high
        assert band.min() == low  # the interval did reach past the bound: it was clipped, not dropped


def test_long_point_labels_get_fewer_legend_columns_so_none_is_cut():
    epochs = pd.Index([1, 2], name="epoch")
    run = pd.DataFrame({"val_accuracy": [0.5, 0.6]}, index=epochs)
    short = plots.mean_curves_figure({f"c={k}": [run, run] for k in range(4)}, "val_accuracy")
    long = plots.mean_curves_figure(
        {f"train_samples={n} embedding={e}": [run, run] for n in (100, 1000) for e in ("scratch", "glove")},
        "val_accuracy",
    )
    for figure in (short, long):
        figure.canvas.draw()
        legend, page = figure.legends[0].get_window_extent(), figure.bbox
        assert page.x0 <= legend.x0 and legend.x1 <= page.x1  # no entry cut at the edges
    assert short.legends[0]._ncols == 4 and long.legends[0]._ncols < 4


def test_long_point_labels_leave_the_plot_its_width(tmp_path, monkeypatch):
    """Shakespeare's labels are 95 characters: the plot beside them keeps at least 4.5 inches."""
    long = "cell=gru sequence_length=50 head=adjusted head_units_1=256 head_units_2=256 learning_rate=0.01"
    rows = [(f"{long} n={n}", seed, 0.3 + 0.01 * n + 0.002 * seed) for n in range(4) for seed in range(3)]
    summary = compare(pd.DataFrame(rows, columns=["point", "seed", "value"]), lower_is_better=False).frame()
    drawn = []
    monkeypatch.setattr(plots.plt, "close", drawn.append)  # keep the figure to measure it
    plots.points_with_ci(summary, tmp_path / "points.png")
    figure = drawn[0]
    plot = figure.axes[0].get_position()
    assert plot.width * figure.get_figwidth() >= 4.5
    figure.canvas.draw()
    labels = [t.get_window_extent() for t in figure.axes[0].get_yticklabels()]
    assert min(box.x0 for box in labels) >= 0  # no label cut at the left edge
