"""Seed 003, Part A, Q2: which channel counts suit the CNN on CIFAR-10?

    rnnstudy optimize studies/cifar_channels.py                     # the report's 1,000 epochs, raced: 3-10 seeds a cell
    rnnstudy optimize studies/cifar_channels.py --repeats 1         # the report's one run a cell
    rnnstudy optimize studies/cifar_channels.py --epochs 2 --subset 2000 --trials 3   # a quick try

Needs CIFAR-10 (--data-dir with cifar-10-python.tar.gz); offline, run fashion_channels.py.
"""

from rnnstudy import Study

study = Study(
    dataset="cifar10",
    model="cnn",
    optimizer="sgd",
    # the report's 5×5 grid: C1 for the first convolution, C2 for the second
    search={"c1": [10, 30, 50, 70, 90], "c2": [20, 40, 60, 80, 100]},
    fixed={
        "epochs": 1000,  # the report trains each model 1,000 epochs ...
        "batch_size": 128,
        "learning_rate": 0.001,  # plain mini-batch SGD, as in the assignment
    },
    # ... and scores a model by its mean test accuracy over the last 200 epochs, because the
    # test curve is too noisy for its last value or its peak to mean much
    objective="test_accuracy",
    reduce="mean_last",
    window=200,
    test_every_epoch=True,
    # several seeds per cell, not the report's one run: on Fashion-MNIST four seeds move a cell by an
    # SD of 0.005-0.015, as much as neighbouring cells differ (docs/REPRODUCTION.md, seed 003 Q2)
    repeats="adaptive",  # a race, 3 to 10 seeds a cell: more only where the verdict is still open
    description="Seed 003 Q2: CNN channel grid on CIFAR-10, mean test accuracy of the last 200 epochs.",
)
