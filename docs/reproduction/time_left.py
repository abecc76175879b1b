"""How well the progress line's "time left" read: each COMPLETE line's figure against the time
the study really had left then (its last trial's end, from the Optuna store, less that
trial's end).

    python docs/reproduction/time_left.py docs/reproduction/logs/glove_vs_scratch.txt repro-glove-vs-scratch

Prints, at a few points of the study, the figure shown, the time that was left and their ratio.
"""

import re
import sys

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

LINE = re.compile(r"^trial #(\d+) COMPLETE \((\d+)/(\d+)\).*time left ~(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def main():
    log, name = sys.argv[1:3]
    storage = JournalStorage(JournalFileBackend("mlruns/optuna.journal"))
    trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
    ended = {t.number: t.datetime_complete for t in trials if t.datetime_complete}
    started = min(t.datetime_start for t in trials if t.datetime_start)
    last = max(ended.values())
    print(
        f"{name}: {len(ended)} trials, {(last - started).total_seconds():.0f} s from first start to last end"
    )
    print(f"{'done':>7} {'elapsed s':>9} {'shown s':>8} {'left s':>7} {'shown/left':>10}")
    for line in open(log, encoding="utf-8", errors="replace"):
        found = LINE.match(line.strip())
        if not found:
            continue
        number, done, total = map(int, found.groups()[:3])
        h, m, s = (int(g or 0) for g in found.groups()[3:])
        shown = 3600 * h + 60 * m + s
        left = (last - ended[number]).total_seconds()
        elapsed = (ended[number] - started).total_seconds()
        if done in {1, 2, 3} or done % max(total // 6, 1) == 0:
            ratio = f"{shown / left:.2f}" if left > 0 else "-"
            print(f"{done:>3}/{total:<3} {elapsed:>9.0f} {shown:>8} {left:>7.0f} {ratio:>10}")


if __name__ == "__main__":
    main()
