"""What a study declares: the Study, its search space and hyperparameters, which way its
objective is better, and the Optuna sampler and pruner it asks for."""

from rnnstudy._lazy import exports

__all__ = [
    "Choice",
    "Float",
    "HyperParameters",
    "Int",
    "Space",
    "Study",
    "best",
    "grid",
    "label",
    "load_study",
    "lower_is_better",
    "make_pruner",
    "make_sampler",
    "pack_study",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "Choice": "rnnstudy.spec.space",
        "Float": "rnnstudy.spec.space",
        "HyperParameters": "rnnstudy.spec.hyperparameters",
        "Int": "rnnstudy.spec.space",
        "Space": "rnnstudy.spec.space",
        "Study": "rnnstudy.spec.study",
        "best": "rnnstudy.spec.direction",
        "grid": "rnnstudy.spec.space",
        "label": "rnnstudy.spec.space",
        "load_study": "rnnstudy.spec.study",
        "lower_is_better": "rnnstudy.spec.direction",
        "make_pruner": "rnnstudy.spec.samplers",
        "make_sampler": "rnnstudy.spec.samplers",
        "pack_study": "rnnstudy.spec.study",
    },
)
