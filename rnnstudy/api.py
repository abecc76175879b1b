"""The Python front door, for notebooks and scripts: run a study, look at its results.

    import rnnstudy
    from rnnstudy import Study

    study = Study(dataset="fashion_mnist", model="cnn", search={"c1": [10, 50]}, name="cnn-c1")
    result = rnnstudy.optimize(study, epochs=2, workers=2)  # or a study file's path
    result.table(), result.pivot(), result.curves(), result.best, result.verdict
    rnnstudy.load("cnn-c1")  # later, or on another machine: the same result

:func:`optimize` is ``rnnstudy optimize``: the same driver, stores, resume and MLflow runs. A
Study defined in a notebook reaches the worker processes pickled by value (see
:func:`rnnstudy.spec.study.pack_study`). Errors are the CLI's one-line :class:`RnnstudyError`
messages; Ctrl-C (Jupyter's stop button) raises :class:`rnnstudy.errors.Interrupted`, and the
same call again resumes.
"""

from __future__ import annotations

import functools
import html
import warnings
from pathlib import Path
from typing import Any

from rnnstudy import results
from rnnstudy._lazy import module
from rnnstudy.errors import Interrupted, ReportError, RnnstudyError, Stopped, StudyFileError
from rnnstudy.spec.study import Study
from rnnstudy.urls import redact

direction = module("rnnstudy.spec.direction")
driver = module("rnnstudy.run.driver")
outcome = module("rnnstudy.stores.outcome")
plots = module("rnnstudy.results.plots")
report_tables = module("rnnstudy.results.report")
preflight = module("rnnstudy.run.preflight")
space = module("rnnstudy.spec.space")
study_files = module("rnnstudy.spec.study")
optuna_storage = module("rnnstudy.stores.optuna_storage")
tracking = module("rnnstudy.stores.mlflow_tracking")


def _one_line(function):
    """Our errors as their message alone, passwords hidden: a notebook cell shows one line
    (IPython prints what ``_render_traceback_`` gives), a script a traceback without rnnstudy's
    frames. Ctrl-C outside the trials (while the study is checked, say) is an Interrupted too."""

    @functools.wraps(function)
    def call(*args, **kwargs):
        __tracebackhide__ = True  # noqa: F841  (pytest leaves this frame out too)
        try:
            return function(*args, **kwargs)
        except (RnnstudyError, Interrupted, Stopped) as exc:
            error = exc
        except KeyboardInterrupt:
            error = Interrupted("interrupted; to resume, run the same call again")
        error.args = (redact(str(error)),)
        error._render_traceback_ = lambda: [f"{type(error).__name__}: {error}"]
        raise error.with_traceback(None) from None

    return call


@_one_line
def optimize(
    study: Study | str | Path,
    *,
    epochs: int | None = None,
    trials: int | None = None,
    subset: int | None = None,
    repeats: int | str | None = None,
    workers: int = 1,
    storage: str | None = None,
    tracking_uri: str | None = None,
    data_dir: str | None = None,
    values: dict[str, Any] | None = None,
    backend: str | None = None,
    checkpoint_dir: str | None = None,
    keep_models: bool = False,
    deterministic: bool = False,
    objective: str | list | None = None,
    primary: str | None = None,
) -> Result:
    """Run a study to the end of its budget, as ``rnnstudy optimize`` does; the same call again
    resumes it.

    Args:
        study: a :class:`~rnnstudy.Study` with a ``name`` (defined in a notebook cell, say), or
            the path of a study file.
        epochs, subset: override the study's epochs and its samples per split (``--epochs``,
            ``--subset``); None keeps the study's.
        trials: run at most this many trials (``--trials``); None runs them all.
        repeats: seeds per configuration, or ``"adaptive"`` (``--repeats``); None: the study's.
        workers: worker processes on this machine (``--workers``).
        storage: the Optuna storage URL; None: ``$RNNSTUDY_STORAGE``, else ``mlruns/optuna.journal``.
        tracking_uri: the MLflow tracking URI; None: ``$MLFLOW_TRACKING_URI``, else
            ``sqlite:///mlruns/mlflow.db``.
        data_dir: the folder of local datasets; None: ``$RNNSTUDY_DATA_DIR``, else the defaults.
        values: hyperparameters to fix, ``{"batch_size": 64}`` (``--set``); None fixes none.
        backend: the Keras backend (``--backend``); None: the study's.
        checkpoint_dir: the folder of trial checkpoints (``--checkpoint-dir``); None: the MLflow
            artifact store.
        keep_models: log each complete trial's model as an MLflow model (``--keep-models``).
        deterministic: the backend's deterministic ops in every trial (``--deterministic``),
            so that ``rnnstudy rerun`` reproduces a trial's metrics on the same machine.
        objective: the metric(s) that score a trial instead of the study's (``--objective``):
            a name, or a list (each by the direction rule, or ``{"params": "min"}``); None: the study's.
        primary: with several objectives, the one the pruner sees (``--primary``).

    Returns:
        The study's :class:`Result`, read back from MLflow.

    Raises:
        RnnstudyError: the input is wrong (one line; nothing was written).
        rnnstudy.errors.Interrupted: Ctrl-C or Jupyter's stop button; the running trials were
            ended, and the same call again resumes.
    """

    given, spec = _study(study)
    for name, value in (("epochs", epochs), ("subset", subset)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise RnnstudyError(f"{name}={value!r} must be a whole number >= 1, or None for the study's")
    if values is not None and not isinstance(values, dict):
        raise RnnstudyError(f"values={values!r} must be a dict of name: value, e.g. {{'batch_size': 64}}")
    fixed = dict(values or {})
    fixed.update({k: v for k, v in (("epochs", epochs), ("subset", subset)) if v is not None})
    storage = storage or optuna_storage.default_storage_url()
    tracking_uri = tracking_uri or tracking.default_tracking_uri()
    options = preflight.RunOptions(
        storage_url=storage,
        tracking_uri=tracking_uri,
        workers=workers,
        data_dir=data_dir,
        overrides={
            "values": fixed,
            "trials": trials,
            "repeats": repeats,
            "objective": [objective] if isinstance(objective, str | dict) else objective,
            "primary": primary,
        },
        command=_call(
            study, epochs, trials, subset, repeats, workers, values, backend, checkpoint_dir, deterministic
        ),
        backend=backend,
        checkpoint_dir=checkpoint_dir,
        keep_models=keep_models,
        deterministic=deterministic,
    )
    with warnings.catch_warnings():  # optuna imports tqdm.auto, which says it draws text without ipywidgets
        warnings.filterwarnings("ignore", message="IProgress not found")
        driver.optimize(given, options, table=False)  # the result shows the table
    return Result(spec.name, tracking_uri=tracking_uri, storage=storage, study=spec)


@_one_line
def load(name: str | Study, *, storage: str | None = None, tracking_uri: str | None = None) -> Result:
    """A study that ran before (here or on another machine) as the :class:`Result` that
    :func:`optimize` returned.

    Args:
        name: the study's name (its MLflow experiment), or its Study (whose ``report`` hook
            then runs too).
        storage: the Optuna storage, for :attr:`Result.optuna`; None: as :func:`optimize`.
        tracking_uri: the MLflow store the study logged to; None: as :func:`optimize`.

    Raises:
        rnnstudy.errors.ReportError: no such study in the MLflow store, or no trial runs yet.
    """

    spec = name if isinstance(name, Study) else None
    study_name = spec.name if spec else name
    if not isinstance(study_name, str) or not study_name:
        raise ReportError(f"load({name!r}): give a study's name (its MLflow experiment) or its Study")
    result = Result(study_name, tracking_uri=tracking_uri or tracking.default_tracking_uri(), storage=storage)
    result.tracker.check()
    result._facts = results.study_facts(result.tracker, study_name, spec)  # an unknown name: one line
    if result.frame.empty:
        raise ReportError(f"study {study_name!r} has no trial runs yet; run rnnstudy.optimize first")
    return result


class Result:
    """A study's results, read back from its MLflow runs (and its Optuna storage).

    Every table is read when asked for, and kept: :meth:`refresh` reads again.

    Attributes:
        name: the study's name (its Optuna study and MLflow experiment).
        storage: its Optuna storage URL (None: the default).
        tracker: the MLflow side (rnnstudy.stores.mlflow_tracking.Tracker).
    """

    def __init__(
        self, name: str, *, tracking_uri: str, storage: str | None = None, study: Study | None = None
    ) -> None:

        self.name = name
        self.storage = storage
        self.tracker = tracking.Tracker(tracking_uri)
        self._facts = results.StudyFacts.of(study) if study is not None else None
        self._frame = None
        self._histories: dict[tuple[str, ...], dict] = {}
        self._reports: dict[tuple, Any] = {}

    # --- what was logged ---

    @property
    def frame(self):
        """One row per trial run (rnnstudy.results.report.trials_frame): state, params, final metrics."""

        if self._frame is None:
            self._frame = results.trials_frame(self.tracker, self.name)
        return self._frame

    def refresh(self) -> Result:
        """Read the stores again (trials that another process finished since, say)."""
        self._frame = None
        self._histories = {}
        self._reports = {}
        return self

    @property
    def optuna(self):
        """The Optuna study, or None when its storage is not there."""

        return results.optuna_study(self.storage, self.name)[0]

    @property
    def facts(self):
        """What the report knows of the study: its Study's, else its parent run's."""

        if self._facts is None:
            self._facts = results.study_facts(self.tracker, self.name)
        return self._facts

    # --- the report's tables ---

    def report(
        self,
        *,
        metric: str | None = None,
        last: int | None = None,
        pivot: tuple[str, str] | None = None,
        value: str | None = None,
        stable: float | None = None,
    ):
        """The study's report (rnnstudy.results.report.Report), cut as ``rnnstudy report`` cuts it.

        Args:
            metric: the metric of the final/best/mean/spread columns; None: the objective.
            last: the epochs of the mean and spread; None: the study's window, else 5.
            pivot: (row, column) hyperparameters; None pivots a two-parameter grid by itself.
            value: the column compared and pivoted; None: "objective".
            stable: keep the trials whose spread over the last epochs is under this; None: all.
        """

        options = results.ReportOptions(
            metric, last, tuple(pivot) if pivot else None, value or "objective", stable
        )
        key = (options.metric, options.last, options.pivot, options.value, options.stable)
        if key not in self._reports:
            history = self._history([options.metric or self.facts.objective])
            self._reports[key] = results.make_report(self.frame, history, self.facts, options)
        return self._reports[key]

    def table(self, **options):
        """The report's table as a DataFrame, as ``table.csv``: a row per finished trial, or with
        repeats a row per point (n, mean, CI, the test against the best). ``options`` are
        :meth:`report`'s."""
        report = self.report(**options)
        return report.points if report.points is not None else report.table

    def pivot(self, row: str | None = None, column: str | None = None, **options):
        """``value`` (the objective) by ``row`` × ``column``, with means, as seed 003's grid;
        None when neither is given and the study is not a two-parameter grid. ``options`` are
        :meth:`report`'s."""
        if (row is None) != (column is None):
            raise ReportError(f"pivot(row={row!r}, column={column!r}): give both, or neither")
        return self.report(pivot=(row, column) if row else None, **options).pivot

    @property
    def best(self):
        """The best finished trial's row of :meth:`table` (with repeats the best point's), or
        None while none has finished."""

        report = self.report()
        if report.points is not None:
            return report.points.loc[report.comparison.best]
        table = report.table
        if table.empty or "objective" not in table or table["objective"].isna().all():
            return None
        facts = self.facts
        lower = direction.lower_is_better("objective", objective=facts.objective, direction=facts.direction)
        return table.loc[table["objective"].idxmin() if lower else table["objective"].idxmax()]

    @property
    def front(self):
        """With several objectives, the front judged over the seeds (rnnstudy.stats.Front:
        ``.front``, ``.possibly``, ``.dominated``, ``.levels``, ``.text()``, ``.frame()``); with one
        seed per point the plain Pareto set, unverified. None for one objective, or before any
        trial has finished."""
        return self.report().front

    def pareto(self):
        """:attr:`front` as a matplotlib Figure (``pareto.png``): two objectives on the axes with
        their CIs, the front drawn and the dominated points faded; more, a matrix of pairs."""
        front = self.front
        if front is None:
            raise ReportError(f"study {self.name!r} has no front: it has one objective, or no finished trial")
        return plots.pareto_figure(front, title=self.name)

    @property
    def verdict(self):
        """The points compared on their seeds (rnnstudy.stats.Comparison: ``.text()``,
        ``.best``, ``.ties``, ``.worse``, ``.frame()``); with one seed per point it says that
        the ranking is unverified. None while no trial has finished."""
        return self.report().comparison

    def curves(self, metrics: list[str] | None = None):
        """Validation accuracy and loss (or ``metrics``) against epoch, as a matplotlib Figure:
        every trial, or with repeats each point's mean over its seeds with a 95 % band. A
        notebook shows it inline; ``.savefig(path)`` writes it."""

        shown = list(dict.fromkeys(metrics or [*results.CURVE_METRICS, self.facts.objective]))
        history = self._history(shown)
        report = self.report()
        frame = self.frame
        if report.points is not None:  # as report.write_all draws curves.png
            by_point: dict[str, list] = {}
            for _, row in frame.iterrows():
                if int(row["trial"]) in history:
                    point = space.label({n: row[n] for n in report.names if n in row})
                    by_point.setdefault(point, []).append(history[int(row["trial"])])
            return plots.mean_curves_figure(by_point, shown, title=self.name)
        searched = [n for n in report.names if n in frame]
        labels = {
            int(row["trial"]): " ".join([f"#{int(row['trial'])}", *(f"{k}={row[k]}" for k in searched)])
            for _, row in frame.iterrows()
        }
        return plots.study_curves_figure({labels[t]: h for t, h in history.items()}, shown, title=self.name)

    # --- shown ---

    def counts(self) -> str:
        """The trial runs by state: ``"4 complete, 0 pruned, 1 failed"`` (and interrupted, lost)."""
        states = self.frame["state"].value_counts().to_dict() if not self.frame.empty else {}
        shown = {"COMPLETE": 0, "PRUNED": 0, "FAILED": 0, **states}
        return ", ".join(f"{n} {state.lower()}" for state, n in shown.items())

    def __repr__(self) -> str:
        if self.frame.empty:
            return f"rnnstudy result {self.name!r}: no trials yet"
        return f"rnnstudy result {self.name!r}: {self.counts()}\n\n{self.report().text()}"

    def _repr_html_(self) -> str:

        escape = html.escape
        head = f"<p><b>rnnstudy result {escape(repr(self.name))}</b>: {escape(self.counts())}</p>"
        if self.frame.empty:
            return head
        report = self.report()
        parts = [head, f"<p>{escape(report.title)}</p>"]
        if report.front is not None:
            parts.append(report.front_table().to_html())
            parts += [f"<p>{escape(line)}</p>" for line in [*report.front.lines(), report.front.levels]]
        if report.points is not None:
            parts.append(report_tables.points_shown(report.points).to_html())
            parts += [f"<p>{escape(line)}</p>" for line in report.comparison.lines()]
        else:
            parts.append(report_tables.formatted(report.table).rename(columns=report.headers).to_html())
        if report.pivot is not None:
            parts += [
                f"<p>{escape(report.pivot_caption)}</p>",
                report_tables.formatted(report.pivot).to_html(),
            ]
        parts += [f"<p>{escape(note)}</p>" for note in report.notes]
        if report.extra:
            parts.append(f"<pre>{escape(report.extra)}</pre>")
        return "\n".join(parts)

    def _history(self, metrics: list[str]) -> dict:
        """Each trial's per-epoch values of ``metrics`` and the curves' (read once per set)."""

        wanted = tuple(dict.fromkeys([*results.CURVE_METRICS, *metrics]))
        if wanted not in self._histories:
            frame = self.frame
            ran = (
                frame[frame["state"].isin((outcome.Outcome.COMPLETE.tag, outcome.Outcome.PRUNED.tag))]
                if len(frame)
                else frame
            )
            self._histories[wanted] = results.histories(self.tracker, ran, list(wanted)) if len(ran) else {}
        return self._histories[wanted]


def _study(study) -> tuple[Study | str, Study]:
    """What the driver gets (the Study, or a file's path as the CLI passes it), and the Study."""

    if isinstance(study, Study):
        if not study.name:
            raise StudyFileError(
                "the Study has no name: give it one, e.g. Study(..., name='fashion-cnn'); it names the "
                "Optuna study and the MLflow experiment, and the same name resumes it"
            )
        return study, study
    if isinstance(study, str | Path):
        return str(study), study_files.load_study(study)
    raise StudyFileError(
        f"study={study!r} is a {type(study).__name__}: give a rnnstudy.Study or a study file's path"
    )


def _call(
    study, epochs, trials, subset, repeats, workers, values, backend, checkpoint_dir, deterministic
) -> str:
    """The call that resumes, for the message of an interrupted study."""
    given = {"epochs": epochs, "trials": trials, "subset": subset, "repeats": repeats}
    given.update(workers=workers if workers != 1 else None, values=values, backend=backend)
    given.update(checkpoint_dir=checkpoint_dir, deterministic=deterministic or None)
    first = "study" if isinstance(study, Study) else repr(str(study))
    arguments = [first, *(f"{k}={v!r}" for k, v in given.items() if v is not None)]
    return f"rnnstudy.optimize({', '.join(arguments)})"
