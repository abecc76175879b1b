"""A few-minute offline demo: seed 003's channel question, small, on Fashion-MNIST.

rnnstudy optimize studies/demo.py
rnnstudy ui            # then open the printed address: one parent run, four trials
"""

from rnnstudy import Study

study = Study(
    dataset="fashion_mnist",
    model="cnn",
    optimizer="adam",  # Adam gets somewhere in 3 epochs; the report's plain SGD would need hundreds
    search={"c1": [10, 50], "c2": [20, 60]},
    fixed={
        "epochs": 3,
        "batch_size": 128,
        "train_samples": 6000,  # a tenth of the training set keeps each trial under a minute
        "validation_samples": 2000,
    },
    objective="val_accuracy",
    description="Demo: a 2×2 channel grid of seed 003's CNN on Fashion-MNIST.",
)
