"""The ``rnnstudy`` command line: thin commands that parse, call the core and print.

What a command runs is imported when it runs (``rnnstudy._lazy.module``), so ``--help`` pays
for none of TensorFlow, Optuna or MLflow. A user's mistake is one line, ``Error: ...``, and exit code 2, never a traceback.
"""

from __future__ import annotations

import ast
import shlex
import signal
import sys
from pathlib import Path

import click

from rnnstudy._lazy import module
from rnnstudy.durations import parse_duration
from rnnstudy.errors import Exit, Interrupted, RnnstudyError, Stopped
from rnnstudy.urls import redact

backend = module("rnnstudy.runtime.backend")
driver = module("rnnstudy.run.driver")
optuna_storage = module("rnnstudy.stores.optuna_storage")
plugin_registry = module("rnnstudy.plugins.registry")
preflight = module("rnnstudy.run.preflight")
reporting = module("rnnstudy.results")
rerunning = module("rnnstudy.tools.rerun")
servers = module("rnnstudy.tools.servers")
study_files = module("rnnstudy.spec.study")
tracking = module("rnnstudy.stores.mlflow_tracking")


class UserError(click.ClickException):
    """Printed as ``Error: <message>``; exit code 2."""

    exit_code = 2


class RnnstudyGroup(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except RnnstudyError as exc:
            raise UserError(redact(str(exc))) from None
        except Interrupted as exc:
            click.echo(redact(str(exc)), err=True)
            ctx.exit(Exit.TERMINATED if exc.signal == signal.SIGTERM else Exit.INTERRUPTED)
        except Stopped as exc:
            click.echo(redact(str(exc)), err=True)
            ctx.exit(Exit.STOPPED)


STORAGE = click.option(
    "--storage",
    envvar="RNNSTUDY_STORAGE",
    metavar="URL",
    help="Optuna storage: a journal file path, an RDB URL such as postgresql://user@host/db, or "
    "grpc://HOST:PORT of an `rnnstudy storage-proxy` [default: mlruns/optuna.journal].",
)
TRACKING = click.option(
    "--tracking-uri",
    envvar="MLFLOW_TRACKING_URI",
    metavar="URI",
    help="MLflow tracking URI [default: sqlite:///mlruns/mlflow.db].",
)


def _assignment(ctx, param, values) -> dict:
    parsed = {}
    for item in values:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE, e.g. --set learning_rate=0.01")
        try:
            parsed[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            parsed[name] = text  # a bare word is a string: --set optimizer=adam
    return parsed


def _objectives(ctx, param, values) -> list:
    """--objective NAME or NAME=max|min, repeatable (the study checks them: one line, exit 2)."""
    given = []
    for item in values:
        name, sep, way = item.partition("=")
        given.append({name: way} if sep else name)
    return given


def _repeats(ctx, param, text):
    """--repeats N or adaptive (checked by the study: one line, exit 2)."""
    if text is None or text == "adaptive":
        return text
    try:
        return int(text)
    except ValueError:
        return text  # the study names what is allowed


@click.group(cls=RnnstudyGroup)
@click.version_option(package_name="rnnstudy")
def cli() -> None:
    """Keras experiments as one command: plugins, Optuna search, MLflow tracking."""


def _workers(text: str) -> int | None:
    """--workers N or auto (None)."""
    if text == "auto":
        return None
    try:
        return int(text)
    except ValueError:
        raise UserError(f"--workers {text!r} must be a whole number or auto (e.g. --workers 2)") from None


@cli.command()
@click.argument("study_file", type=click.Path(dir_okay=False))
@click.option(
    "--workers",
    default="auto",
    metavar="N|auto",
    help="Worker processes on this machine [default: auto: one per GPU × --workers-per-gpu; without "
    "GPUs, the count measured fastest here for the study's model (measured once, when the study "
    "is long enough to pay for it), else 1].",
)
@click.option(
    "--workers-per-gpu",
    type=int,
    metavar="K",
    help="Trials that share one GPU, each allocating GPU memory as it needs it [default: 1].",
)
@click.option(
    "--budget",
    metavar="DURATION",
    help="Refuse to start when the estimated time is longer, e.g. 2h, 45m, 1h30m; the refusal "
    "names the --epochs, --subset, --trials or --repeats that would fit.",
)
@STORAGE
@TRACKING
@click.option("--epochs", type=int, help="Override the study's epochs (e.g. 2 for a quick try).")
@click.option(
    "--trials",
    type=int,
    help="Run at most this many trials (the first of a grid, seed by seed; configurations of a sampler).",
)
@click.option(
    "--repeats",
    callback=_repeats,
    metavar="N|adaptive",
    help="Seeds per configuration (paired: every point runs seeds 0..N-1), or 'adaptive' to race: "
    "more seeds only for points that still tie with the best [default: the study's].",
)
@click.option("--subset", type=int, help="Use at most N samples of each data split.")
@click.option(
    "--set",
    "values",
    multiple=True,
    callback=_assignment,
    metavar="NAME=VALUE",
    help="Fix any hyperparameter, e.g. --set batch_size=64 (repeatable).",
)
@click.option(
    "--objective",
    "objectives",
    multiple=True,
    callback=_objectives,
    metavar="NAME[=max|min]",
    help="Score trials by this metric instead of the study's (repeatable: several objectives, a "
    "Pareto front); its direction is the rule's (losses, params, train_s, infer_s down) unless given.",
)
@click.option(
    "--primary",
    metavar="NAME",
    help="With several objectives, the one the pruner and the progress line see [default: the first].",
)
@click.option(
    "--data-dir",
    envvar="RNNSTUDY_DATA_DIR",
    type=click.Path(file_okay=False),
    help="Folder holding local copies of datasets.",
)
@click.option(
    "--trials-per-worker",
    default=25,
    show_default=True,
    help="Replace a worker process after this many trials (bounds memory).",
)
@click.option(
    "--backend",
    "keras_backend",
    metavar="tensorflow|jax|torch|auto",
    help="The Keras backend the trials train on [default: the study's, else tensorflow].",
)
@click.option(
    "--checkpoint-dir",
    type=click.Path(file_okay=False),
    help="Folder for trial checkpoints, one every checkpoint_every (--set checkpoint_every=5 "
    "epochs, or 30m) [default: the MLflow artifact store]. Every machine of the study must reach it.",
)
@click.option(
    "--keep-models",
    is_flag=True,
    help="Log each complete trial's final model as an MLflow model (its run's artifact 'model').",
)
@click.option(
    "--deterministic",
    is_flag=True,
    help="Deterministic ops in every trial (TensorFlow, PyTorch; JAX on a CPU always is), so that "
    "`rnnstudy rerun` reproduces a trial's metrics on the same machine; a little slower.",
)
def optimize(
    study_file,
    workers,
    workers_per_gpu,
    budget,
    storage,
    tracking_uri,
    epochs,
    trials,
    repeats,
    subset,
    values,
    objectives,
    primary,
    data_dir,
    trials_per_worker,
    keras_backend,
    checkpoint_dir,
    keep_models,
    deterministic,
) -> None:
    """Run STUDY_FILE's search; every trial is logged to MLflow. Run again to resume.

    Exit codes: 0 every trial done; 1 some trials failed (run again to retry them) or the
    closing report failed; 2 bad input (nothing written); 3 stopped, no progress possible
    (workers kept dying); 130 Ctrl-C, 143 SIGTERM (run again to resume).
    """

    if budget is not None:
        parse_duration(budget)  # one line, before anything else
    workers = _workers(workers)
    for flag, value in (
        ("--epochs", epochs),
        ("--subset", subset),
        ("--trials-per-worker", trials_per_worker),
    ):
        if value is not None and value < 1:
            raise UserError(f"{flag} {value} must be >= 1")
    overrides = dict(values)
    if epochs is not None:
        overrides["epochs"] = epochs
    if subset is not None:
        overrides["subset"] = subset
    options = preflight.RunOptions(
        storage_url=storage,
        tracking_uri=tracking_uri,
        workers=workers,
        data_dir=data_dir,
        trials_per_worker=trials_per_worker,
        overrides={
            "values": overrides,
            "trials": trials,
            "repeats": repeats,
            "objective": objectives or None,
            "primary": primary,
        },
        command=shlex.join(["rnnstudy", *sys.argv[1:]]),
        backend=keras_backend,
        workers_per_gpu=workers_per_gpu,
        budget=budget,
        checkpoint_dir=checkpoint_dir,
        keep_models=keep_models,
        deterministic=deterministic,
    )
    sys.exit(driver.optimize(study_file, options).exit_code)


@cli.command()
@click.argument("study")
@click.argument("trial", type=int)
@STORAGE
@TRACKING
@click.option(
    "--data-dir",
    envvar="RNNSTUDY_DATA_DIR",
    type=click.Path(file_okay=False),
    help="Folder holding local copies of datasets [default: the one the trial was run with].",
)
def rerun(study, trial, storage, tracking_uri, data_dir) -> None:
    """Run trial TRIAL of STUDY (a study file or a study name) again, from the record its run left.

    Every hyperparameter value (typed, from the recorded study and Optuna), the seed, the
    backend and deterministic ops are the original's; what differs (packages, machine, rnnstudy,
    the study file) is said first, and a value stored without its URL password stops it with one
    line. The new MLflow run is nested under the original trial's run; it is not a trial of the
    study. A record holds code (the study file, a pickled Study): rerunning one trusts its store.
    """
    name = study_files.load_study(study).name if study.endswith(".py") or Path(study).is_file() else study
    rerunning.rerun(name, trial, storage_url=storage, tracking_uri=tracking_uri, data_dir=data_dir)


@cli.command()
@click.argument("study")
@STORAGE
@TRACKING
@click.option(
    "--last",
    type=int,
    help="N: the mean and spread are over the last N epochs [default: the study's window, else 5].",
)
@click.option(
    "--metric", help="The per-epoch metric of the final/best/mean/spread columns [default: the objective]."
)
@click.option(
    "--pivot",
    nargs=2,
    metavar="ROW COLUMN",
    help="Pivot the table on two hyperparameters (a 2-D grid pivots by itself).",
)
@click.option("--value", default="objective", show_default=True, help="The column the pivot shows.")
@click.option(
    "--stable",
    type=float,
    metavar="THRESHOLD",
    help="Keep only trials whose max - min over the last N epochs is under THRESHOLD (seed 003: 0.15).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Folder for table.csv, report.md, curves.png, optuna.html [default: reports/STUDY].",
)
@click.option(
    "--format",
    "form",
    default="text",
    show_default=True,
    metavar="text|markdown|latex",
    help="How to print the points: a terminal table, Markdown, or LaTeX booktabs (mean ± CI, best in bold).",
)
def report(study, storage, tracking_uri, last, metric, pivot, value, stable, out, form) -> None:
    """The table of STUDY (a study file or a study name) from what MLflow logged.

    Prints it and writes it as CSV and Markdown beside the pictures. Works for a study that
    another machine ran: point --tracking-uri and --storage at its stores.
    """
    if form not in reporting.FORMATS:  # before anything is read or written
        raise reporting.ReportError(
            f"--format {form!r} is not known; allowed: {', '.join(reporting.FORMATS)}"
        )
    spec = study_files.load_study(study) if study.endswith(".py") or Path(study).is_file() else None
    name = spec.name if spec else study
    tracker = tracking.Tracker(tracking_uri)
    tracker.check()
    facts = reporting.study_facts(tracker, name, spec)
    frame = reporting.trials_frame(tracker, name)
    if frame.empty:
        raise reporting.ReportError(f"study {name!r} has no trial runs yet; run `rnnstudy optimize` first")
    optuna_study, why_not = reporting.optuna_study(storage, name)
    options = reporting.ReportOptions(metric, last, tuple(pivot) if pivot else None, value, stable)
    folder = Path(out) if out else Path("reports") / name
    result, files = reporting.write_all(folder, frame, facts, tracker, optuna_study, options)
    click.echo(result.export(form))
    if why_not:
        click.echo(f"\n{why_not}")
    click.echo(f"\nwrote {', '.join(p.name for p in files)} in {folder}/")


@cli.command()
def plugins() -> None:
    """List every dataset, model and optimizer with its package and version."""
    backend.start()  # plugins import Keras: quietly
    rows = plugin_registry.default_registry().all()
    width = max((len(p.name) for p in rows), default=4)
    for plugin in rows:
        line = f"{plugin.kind:<10} {plugin.name:<{width}}  {plugin.package} {plugin.version}"
        if plugin.error:
            line += f"  BROKEN: {plugin.error}"
        click.echo(line)


@cli.command()
@TRACKING
@click.option("--port", default=5000, show_default=True)
@click.option("--workers", default=1, show_default=True, help="Server processes (one person needs one).")
def ui(tracking_uri, port, workers) -> None:
    """Start the MLflow UI on 127.0.0.1 over this project's tracking store.

    The server (`mlflow ui` and every process it starts) stops with this command: on Ctrl-C
    (exit code 130), SIGTERM (143) or SIGHUP (129).
    """
    servers.check_port(port)  # before anything starts or is written

    tracker = tracking.Tracker(tracking_uri)
    tracker.check()
    address = f"http://127.0.0.1:{port}"
    click.echo(f"MLflow UI at {address} (store {redact(tracker.uri)}); Ctrl-C stops it")
    for experiment in tracker.client.search_experiments(max_results=50):
        if experiment.name != "Default":  # each study's runs, in the UI's model-training view
            click.echo(
                f"  {experiment.name}: {address}/#/experiments/{experiment.experiment_id}/runs"
                "?workflowType=machine_learning"
            )
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", tracker.uri]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    sys.exit(servers.serve(command, name="MLflow UI"))


@cli.command()
@STORAGE
@click.option("--port", default=8080, show_default=True)
def dashboard(storage, port) -> None:
    """Start optuna-dashboard on 127.0.0.1 over this project's Optuna storage.

    It stops on Ctrl-C (exit code 130), SIGTERM (143) or SIGHUP (129).
    """
    servers.check_port(port)  # before anything starts or is written

    import optuna_dashboard

    url = storage or optuna_storage.default_storage_url()
    opened = optuna_storage.open_storage(url)
    click.echo(f"Optuna dashboard at http://127.0.0.1:{port} (storage {redact(url)}); Ctrl-C stops it")
    # served from this process, which starts no other: nothing can be left behind
    app = optuna_dashboard.wsgi(opened)
    sys.exit(servers.serve_wsgi(app, port=port, name="Optuna dashboard"))


@cli.command("storage-proxy")
@click.option(
    "--storage",
    envvar="RNNSTUDY_STORAGE",
    required=True,
    help="The database the proxy serves: postgresql://USER:PASSWORD@HOST/DB (or $RNNSTUDY_STORAGE).",
)
@click.option("--port", default=13000, show_default=True)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Where to listen: 0.0.0.0 for the workers of other machines (the proxy has no authentication).",
)
def storage_proxy(storage, port, host) -> None:
    """Serve an Optuna storage to many machines through one process (Optuna's gRPC proxy).

    Workers take --storage grpc://HOST:PORT and never connect to the database: the proxy
    holds its few connections. Heartbeats and the taking of waiting trials work through it;
    the study lock does not, so start one command of a study first, then the others
    (docs/machines/many.md). It stops on Ctrl-C (exit code 130), SIGTERM (143) or SIGHUP (129).
    """
    sys.exit(servers.serve_storage_proxy(storage, port=port, host=host))


def main() -> None:
    try:
        cli(prog_name="rnnstudy")
    except SystemExit as exc:
        if "keras" not in sys.modules or not isinstance(exc.code, int | None):
            raise
        backend.exit_now(exc.code or 0)  # all is written: skip TensorFlow's slow teardown
