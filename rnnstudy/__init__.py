"""rnnstudy: Keras experiments as one command — plugins, Optuna search, MLflow tracking."""

from rnnstudy.api import Result, load, optimize
from rnnstudy.errors import RnnstudyError
from rnnstudy.plugins.data import Data
from rnnstudy.spec.space import Choice, Float, Int
from rnnstudy.spec.study import Study

__all__ = ["Choice", "Data", "Float", "Int", "Result", "RnnstudyError", "Study", "load", "optimize"]
__version__ = "0.1.0"
