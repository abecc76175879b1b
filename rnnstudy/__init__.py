"""rnnstudy: Keras experiments as one command — plugins, Optuna search, MLflow tracking."""

from rnnstudy.data import Data
from rnnstudy.errors import RnnstudyError
from rnnstudy.space import Choice, Float, Int
from rnnstudy.study import Study

__all__ = ["Choice", "Data", "Float", "Int", "RnnstudyError", "Study"]
__version__ = "0.1.0"
