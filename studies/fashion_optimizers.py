"""Seed 003, Part A, Q3 offline: the 90/40 CNN and four ways to train it, on Fashion-MNIST.

    rnnstudy optimize studies/fashion_optimizers.py
    rnnstudy optimize studies/fashion_optimizers.py --epochs 2 --subset 2000   # a quick try

Fashion-MNIST comes from Debian: apt-get install -y dataset-fashion-mnist.
"""

from rnnstudy import Study

study = Study(
    dataset="fashion_mnist",
    model="cnn",
    # four configurations, not a grid: each point is one line of the report's comparison
    points=[
        {"optimizer": "sgd", "momentum": 0.1},  # mini-batch GD with momentum 0.1 (0.5681)
        {"optimizer": "rmsprop"},  # (0.4953)
        {"optimizer": "adam"},  # (0.4953; its curve spikes periodically)
        {"optimizer": "sgd", "dropout": 0.5},  # dropout 0.5 on the dense layers (0.5597)
    ],
    fixed={"c1": 90, "c2": 40, "epochs": 1000, "batch_size": 128, "learning_rate": 0.001},
    objective="test_accuracy",
    reduce="mean_last",
    window=200,
    test_every_epoch=True,
    description="Seed 003 Q3: optimizers and dropout on the 90/40 CNN, Fashion-MNIST.",
)
