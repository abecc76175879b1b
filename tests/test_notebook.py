"""rnnstudy in a real Jupyter kernel: examples/quickstart.ipynb run by nbclient, and the stop
button (a kernel interrupt) in the middle of a study, then the same call again.

The kernel is ipykernel's own "python3" of this interpreter (jupyter_client starts it with
sys.executable), so nothing needs registering; its environment is this process's, with tiny
Fashion-MNIST files in ``$RNNSTUDY_DATA_DIR``.
"""

from __future__ import annotations

import queue
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from conftest import write_fashion
from nbclient import NotebookClient

QUICKSTART = Path(__file__).parent.parent / "examples" / "quickstart.ipynb"
# the notebook's parameters, made tiny: one epoch on the 160 training images of write_fashion
TINY = "epochs = 1\ntrain_samples = 0\nvalidation_samples = 40\nworkers = 2"


@pytest.fixture
def kernel_env(workdir, monkeypatch) -> Path:
    monkeypatch.setenv("RNNSTUDY_DATA_DIR", str(write_fashion(workdir / "data")))
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    return workdir


def _text(output) -> str:
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return "\n".join(output.traceback)
    return "\n".join(str(v) for k, v in output.get("data", {}).items() if k.startswith("text/"))


@pytest.mark.slow  # a real Jupyter kernel running the quickstart: half a minute
def test_the_quickstart_notebook_runs_on_a_kernel(kernel_env):
    notebook = nbformat.read(QUICKSTART, as_version=4)
    assert all(
        not c.get("outputs") and not c.get("execution_count") for c in notebook.cells if c.cell_type == "code"
    )
    parameters = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", ()))
    notebook.cells.insert(parameters + 1, nbformat.v4.new_code_cell(TINY))  # as papermill injects
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(kernel_env)}}
    ).execute()

    cells = {c.source.split("\n")[0]: c for c in notebook.cells if c.cell_type == "code"}
    run = cells["result = rnnstudy.optimize(study, workers=workers)"]
    streams = "".join(o.text for o in run.outputs if o.output_type == "stream")
    assert "study 'quickstart': 4 trial(s) to run" in streams
    assert "4/4 trials" in streams and "best #" in streams  # the progress bar, at its end
    assert "trial #0 started" not in streams  # the bar, not the log lines
    assert not [
        o.text for o in run.outputs if o.output_type == "stream" and o.name == "stderr"
    ]  # workers quiet
    shown = next(o for o in run.outputs if o.output_type == "execute_result").data["text/html"]
    assert "rnnstudy result &#x27;quickstart&#x27;</b>: 4 complete" in shown
    assert "mean val_accuracy" in shown  # the notebook's report(frame) hook
    table = cells['result.table().sort_values("objective", ascending=False)'].outputs[0].data["text/html"]
    assert _rows(table) == 4  # the grid's trials
    pivot = cells["result.pivot()"].outputs[0].data["text/plain"]
    assert "c1 \\ c2" in pivot and "mean" in pivot
    curves = cells["result.curves()"].outputs[0]
    assert "image/png" in curves.data  # a real figure, inline
    assert "objective" in cells["result.best"].outputs[0].data["text/plain"]
    reloaded = cells['rnnstudy.load("quickstart").table()[["c1", "c2", "objective"]]']
    assert _rows(reloaded.outputs[0].data["text/html"]) == 4
    assert (kernel_env / "mlruns" / "optuna.journal").exists()  # the stores beside the notebook


def _rows(page: str) -> int:
    """The body rows of a DataFrame's HTML."""
    return page.partition("<tbody>")[2].count("<tr")


LONG_STUDY = """
import rnnstudy
from rnnstudy import Study

study = Study(
    dataset="fashion_mnist",
    model="cnn",
    search={"c1": [2, 3, 4]},
    fixed={"epochs": 60, "batch_size": 8, "c2": 2, "dense_units": 8, "validation_samples": 40},
    name="stopped",
)
"""


@pytest.mark.slow  # a kernel, a study stopped and resumed: half a minute
def test_the_stop_button_stops_cleanly_and_the_same_call_resumes(kernel_env):
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(kernel_env))
    try:
        _execute(client, textwrap.dedent(LONG_STUDY))
        message = client.execute("result = rnnstudy.optimize(study, epochs=60)")
        _wait(client, message, until=lambda text: "epoch 2/60" in text)  # a trial is under way
        manager.interrupt_kernel()
        error, streams = _wait(client, message)
        assert error["ename"] == "Interrupted"
        assert error["evalue"].startswith("interrupted: 0 trial(s) done, the running ones ended; to resume")
        assert "rnnstudy.optimize(study, epochs=60)" in error["evalue"]
        assert error["traceback"] == [f"Interrupted: {error['evalue']}"]  # one line in the cell
        assert "Traceback" not in streams and "KeyboardInterrupt" not in streams  # nothing of the workers'

        error, streams = _wait(
            client, client.execute("rnnstudy.optimize(study.variant(model='resnet', name='other'))")
        )
        assert error["traceback"] == [f"PluginError: {error['evalue']}"] and not streams
        assert error["evalue"].startswith("unknown model 'resnet'; installed models: ")

        _, streams = _wait(client, client.execute("result = rnnstudy.optimize(study, epochs=1)"))
        assert "3 trial(s) to run, 0 already done" in streams  # the interrupted trial runs again
        _, counts = _wait(client, client.execute("print(result.counts())"))
        assert counts.strip() == "3 complete, 0 pruned, 0 failed, 1 interrupted"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _execute(client, code: str) -> None:
    error, streams = _wait(client, client.execute(code))
    assert error is None, streams


def _wait(client, message_id: str, until=None, timeout: float = 240.0):
    """The cell's outputs until it is done (or until ``until(streams)``): its error content, if
    any, and its stream text."""
    deadline = time.monotonic() + timeout
    streams, error = "", None
    while time.monotonic() < deadline:
        try:
            message = client.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        if message["parent_header"].get("msg_id") != message_id:
            continue
        kind, content = message["msg_type"], message["content"]
        if kind == "stream":
            streams += content["text"]
            if until is not None and until(streams):
                return None, streams
        elif kind == "error":
            error = content
        elif kind == "status" and content["execution_state"] == "idle" and until is None:
            return error, streams
    raise AssertionError(f"the kernel did not finish in {timeout:.0f} s; its output:\n{streams}")
