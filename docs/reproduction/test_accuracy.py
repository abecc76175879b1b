"""Test accuracy per point, mean ± 95 % CI over the seeds, from a report's trials.csv.

    python docs/reproduction/test_accuracy.py docs/reproduction/char_prediction [COLUMN ...]

The studies' verdicts are on their objective (validation accuracy, or the mean test accuracy of
the last epochs); the seeds' tables give test accuracy, so the tables beside them use this.
COLUMN names the searched columns that make a point (default: every column before ``seed``).
"""

import sys
from pathlib import Path

import pandas as pd
from scipy import stats


def main():
    folder, *columns = sys.argv[1:]
    trials = pd.read_csv(Path(folder) / "trials.csv")
    columns = columns or list(trials.columns[1 : trials.columns.get_loc("seed")])
    rows = []
    for point, group in trials.groupby(columns, sort=False, dropna=False):
        values = group["test_accuracy"]
        half = stats.t.ppf(0.975, len(values) - 1) * values.sem() if len(values) > 1 else float("nan")
        rows.append([*(point if isinstance(point, tuple) else (point,)), len(values), values.mean(), half])
    table = pd.DataFrame(rows, columns=[*columns, "n", "test_acc", "ci95"])
    print(table.to_string(index=False, float_format="{:.4f}".format))


if __name__ == "__main__":
    main()
