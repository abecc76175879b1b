"""Seed 003, Part A, Q3: the 90/40 CNN with four ways to train it.

    rnnstudy optimize studies/cifar_optimizers.py
    rnnstudy optimize studies/cifar_optimizers.py --epochs 2 --subset 2000   # a quick try

Needs CIFAR-10 (--data-dir with cifar-10-python.tar.gz); offline, run fashion_optimizers.py.
"""

from rnnstudy import Study

study = Study(
    dataset="cifar10",
    model="cnn",
    # four configurations, not a grid: each point is one line of the report's comparison
    points=[
        {"optimizer": "sgd", "momentum": 0.1},  # mini-batch GD with momentum 0.1 (0.5681)
        {"optimizer": "rmsprop"},  # (0.4953)
        {"optimizer": "adam"},  # (0.4953; its curve spikes periodically)
        {"optimizer": "sgd", "dropout": 0.5},  # dropout 0.5 on the dense layers (0.5597)
    ],
    fixed={"c1": 90, "c2": 40, "epochs": 1000, "batch_size": 128, "learning_rate": 0.001},
    repeats="adaptive",  # a race, 3 to 10 seeds: 1,000-epoch trials are long, so seeds go only where it is open
    objective="test_accuracy",
    reduce="mean_last",
    window=200,
    test_every_epoch=True,
    description="Seed 003 Q3: optimizers and dropout on the 90/40 CNN, CIFAR-10.",
)
