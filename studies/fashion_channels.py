"""Seed 003, Part A, Q2 offline: the channel grid on Fashion-MNIST (CIFAR-10 needs a download).

    rnnstudy optimize studies/fashion_channels.py                     # the report's 1,000 epochs
    rnnstudy optimize studies/fashion_channels.py --epochs 2 --subset 2000 --trials 3   # a quick try

Fashion-MNIST comes from Debian: apt-get install -y dataset-fashion-mnist.
"""

from rnnstudy import Study

study = Study(
    dataset="fashion_mnist",
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
    description="Seed 003 Q2: CNN channel grid on Fashion-MNIST, mean test accuracy of the last 200 epochs.",
)
