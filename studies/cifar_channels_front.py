"""Seed 003, Part A, Q2 as a trade-off: which channel counts buy accuracy worth their parameters?

    rnnstudy optimize studies/cifar_channels_front.py                     # 25 cells × 3 seeds, 1,000 epochs
    rnnstudy optimize studies/cifar_channels_front.py --epochs 2 --subset 2000 --repeats 2   # a quick try

cifar_channels.py's grid and training, scored on two objectives: the validation accuracy (its
mean over the last 200 epochs, up) and the parameter count (down, exact: no test needed). The
report names the cells on the front, those possibly on it and the dominated ones with the cell
that dominates each, judged over the seeds (docs/stats/pareto.md); pareto.png draws it.
Needs CIFAR-10 (--data-dir with cifar-10-python.tar.gz); offline, add --set dataset=fashion_mnist.
"""

from pathlib import Path

from rnnstudy.spec.study import load_study

study = load_study(Path(__file__).with_name("cifar_channels.py")).variant(
    objective=["val_accuracy", "params"],
    repeats=3,  # a front is judged on paired seeds; a race ranks one objective only
    description="Seed 003 Q2: CNN channel grid on CIFAR-10, the front of validation accuracy and parameters.",
)
