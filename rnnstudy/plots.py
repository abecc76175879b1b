"""Pictures of a trial: loss and accuracy against epoch."""

from __future__ import annotations

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
