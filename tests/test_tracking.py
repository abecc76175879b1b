"""The MLflow tracking store as a user of `rnnstudy optimize` meets it."""

import os
import subprocess
import sys

# what `rnnstudy optimize` does first with its store, then a warning that must still be shown
FIRST_USE = """
import logging, sys
from rnnstudy.stores.mlflow_tracking import Tracker

tracker = Tracker(sys.argv[1])
tracker.check()
tracker.experiment("quiet")
logging.getLogger("mlflow.store").warning("a warning still shows")
"""


def test_a_new_sqlite_store_is_made_without_mlflows_info_lines(tmp_path):
    database = tmp_path / "mlruns" / "mlflow.db"
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_LOGGING_LEVEL"}  # MLflow's default, INFO
    done = subprocess.run(
        [sys.executable, "-c", FIRST_USE, f"sqlite:///{database}"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stdout
    assert database.exists()
    assert "Creating initial" not in done.stdout and " INFO " not in done.stdout, done.stdout
    assert "WARNING mlflow.store: a warning still shows" in done.stdout
