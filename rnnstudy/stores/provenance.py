"""What a study's invocation was: the record that lets ``rnnstudy rerun`` run any trial again.

Every ``rnnstudy optimize`` (and ``rnnstudy.optimize``) of a study logs one invocation on the
study's MLflow parent run, once the study is checked and before any trial starts, in the
parent run's artifact folder ``record/invocation-N/``:

- ``study.py``: the study file's text (``study.pkl`` for a Study defined in code: what the
  worker processes got, pickled by value);
- ``packages.txt``: every installed distribution as ``name==version``, sorted;
- ``record.json``: the command line, the options (storage, tracking URI, workers, overrides,
  backend, deterministic ops), the worker processes' environment (the backend, its threads),
  rnnstudy's version, the git commit of the study file's repository and its uncommitted
  changes, and the machine (CPU, cores, GPUs, Python, OS).

N counts the invocations: 1 for the study's first, 2 for its first resume, and so on. The
first gets a numbered folder too, so that no invocation ever overwrites another and reading
them back needs no special case: a resume may run on another machine, with other packages, or
from an edited study file, and the trials it runs are rebuilt from its own record. Tags on the
parent run name the latest (``rnnstudy.record``, ``rnnstudy.version``, ``rnnstudy.git_commit``):
tags rather than params, because a param cannot change when a study resumes.

No password is stored: all of record.json goes through :func:`rnnstudy.urls.redact`, and so
does the study: every URL password in the study file's text (its docstring, constants,
comments, ``description=``, fixed values), or in a pickled Study's description, fixed values
and points, shows as ``***``. record.json's ``study.redacted`` says where (``"line 4"``,
``"fixed.source"``), never what; a rerun names the value it cannot rebuild for that reason.

A record holds code: ``rnnstudy rerun`` runs the recorded study file (or unpickles the
recorded Study), so rerunning a trial trusts the MLflow store it comes from as much as the
study file itself.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import io
import json
import pickle
import platform
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnstudy.keys import GIT_COMMIT_TAG, HEARTBEAT_ATTR, RECORD_ARTIFACTS, RECORD_TAG, VERSION_TAG
from rnnstudy.runtime import devices
from rnnstudy.spec.study import Study, load_study, pack_study
from rnnstudy.stores import heartbeat
from rnnstudy.urls import lines_with_passwords, redact

FACTS, PACKAGES, STUDY_FILE, PICKLED = "record.json", "packages.txt", "study.py", "study.pkl"
INVOCATION = "invocation-"  # record/invocation-1, record/invocation-2, ...
SHOWN = 4  # changed packages named before "and N more"


def write(session, options, *, env: dict[str, str], packed: bytes | None = None) -> str:
    """Log this invocation on the study's parent run; return its folder (``record/invocation-N``).

    Call under the study's lock (rnnstudy.run.driver does, right after the parent run is made or
    reopened): processes that start one study together then number their invocations apart.

    Args:
        session: the driver's hold on the study (its spec, storage URL, tracker, parent run).
        options: the driver's RunOptions, as given (the command line among them).
        env: what the worker processes start with (rnnstudy.runtime.backend.env).
        packed: a Study defined in code, as the workers got it (rnnstudy.spec.study.pack_study).
    """
    spec, tracker, parent_id = session.spec, session.tracker, session.parent_id
    number = 1 + max(
        (_number(f.path) for f in tracker.client.list_artifacts(parent_id, RECORD_ARTIFACTS)), default=0
    )
    folder = f"{RECORD_ARTIFACTS}/{INVOCATION}{number}"
    stored, redacted = _study_copy(spec, packed)
    facts = {
        "invocation": number,
        "started": time.time(),  # which invocation ran a trial: the latest before it (of_trial)
        "started_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": options.command,
        "study": {
            "name": spec.name,
            "path": str(spec.path) if spec.path else None,
            "file": PICKLED if packed is not None else STUDY_FILE if stored is not None else None,
            "sha256": hashlib.sha256(stored or b"").hexdigest(),  # of the copy kept: no password
            "redacted": redacted,
        },
        "options": {
            "storage": session.storage_url,
            "tracking_uri": tracker.uri,
            "workers": options.workers,
            "workers_per_gpu": options.workers_per_gpu,
            "trials_per_worker": options.trials_per_worker,
            "data_dir": options.data_dir,
            "overrides": options.overrides,
            "backend": options.backend or spec.backend,
            "deterministic": options.deterministic,
        },
        "worker_env": env,
        "rnnstudy": _version("rnnstudy"),
        "git": git(Path(spec.path).parent if spec.path else Path.cwd()),
        "machine": machine(),
    }
    with tempfile.TemporaryDirectory(prefix="rnnstudy-record-") as tmp:
        directory = Path(tmp)
        if stored is not None:
            (directory / (PICKLED if packed is not None else STUDY_FILE)).write_bytes(stored)
        (directory / PACKAGES).write_text("".join(f"{n}=={v}\n" for n, v in packages().items()))
        (directory / FACTS).write_text(redact(json.dumps(facts, indent=2, default=repr)) + "\n")
        tracker.log_artifacts(parent_id, directory, folder)
    commit = facts["git"] and facts["git"]["commit"] + ("+uncommitted" if facts["git"]["uncommitted"] else "")
    tracker.set_tags(
        parent_id,
        {
            RECORD_TAG: folder,
            VERSION_TAG: facts["rnnstudy"],
            GIT_COMMIT_TAG: commit or "-",
        },
    )
    return folder


def _study_copy(spec: Study, packed: bytes | None) -> tuple[bytes | None, list[str]]:
    """The study as the record keeps it, its URL passwords redacted, and where they were:
    the study file's text (its lines), or a pickled Study (its values); None without either."""
    if packed is not None:
        return _redacted_pickle(packed)
    if not spec.path:
        return None, []
    return _stored(Path(spec.path))


def _stored(path: Path) -> tuple[bytes, list[str]]:
    """A study file as the record keeps it, its URL passwords redacted (nothing else changes,
    whatever its encoding), and the lines they were on."""
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    where = [f"line {n}" for n in lines_with_passwords(text)]
    return redact(text).encode("utf-8", errors="surrogateescape"), where


def _redacted_pickle(packed: bytes) -> tuple[bytes, list[str]]:
    """A pickled Study with its description, fixed values and points redacted (what it
    searches is in the Optuna storage anyway, as each trial's distribution)."""

    spec = unpickle_study(packed)
    values = {"description": spec.description, **{f"fixed.{k}": v for k, v in spec.fixed.items()}}
    values |= {f"points[{i}].{k}": v for i, point in enumerate(spec.points or ()) for k, v in point.items()}
    where = [name for name, value in values.items() if _redacted_value(value) != value]
    if not where:
        return packed, []
    spec.description = redact(spec.description)
    spec.fixed = {k: _redacted_value(v) for k, v in spec.fixed.items()}
    if spec.points:
        spec.points = [{k: _redacted_value(v) for k, v in point.items()} for point in spec.points]
    return pack_study(spec), where


def _redacted_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def packages() -> dict[str, str]:
    """Every installed distribution's version by name, sorted by name (case aside); where a
    name is installed twice, the one found first on the path, which is the one imported."""
    found: dict[str, tuple[str, str]] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(name.lower(), (name, dist.version))
    return dict(found[key] for key in sorted(found))


def machine() -> dict[str, Any]:
    """The machine as a record keeps it; ``id`` is what a trial's heartbeat names (rnnstudy.stores.heartbeat)."""
    return {
        "id": heartbeat.machine(),
        "host": platform.node(),
        "cpu": devices.describe(None),  # the CPU model and the cores this process may use
        "gpus": [devices.describe(gpu) for gpu in devices.visible_gpus()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def git(folder: Path) -> dict[str, Any] | None:
    """The commit of the repository ``folder`` is in and its uncommitted changes to tracked
    files (``git status --porcelain`` lines); None outside a repository or without git."""

    def run(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=30, check=True
        )
        return done.stdout

    try:
        return {
            "repository": run("rev-parse", "--show-toplevel").strip(),
            "commit": run("rev-parse", "HEAD").strip(),
            "uncommitted": run("status", "--porcelain", "--untracked-files=no").splitlines()[:50],
        }
    except (OSError, subprocess.SubprocessError):
        return None


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _number(path: str) -> int:
    name = path.rsplit("/", 1)[-1]
    return int(name.removeprefix(INVOCATION)) if name.removeprefix(INVOCATION).isdigit() else 0


# --- reading it back ---------------------------------------------------------------------


@dataclass
class Invocation:
    """One recorded invocation of a study, as read back from its parent run."""

    folder: str
    facts: dict[str, Any]
    packages: dict[str, str] = field(default_factory=dict)
    study_file: bytes | None = None  # study.py or study.pkl, as recorded

    @property
    def started(self) -> float:
        return float(self.facts["started"])

    def study(self) -> Study:
        """The study as this invocation ran it: the recorded file (or pickled Study), with the
        invocation's overrides (``--set``, ``--epochs``, ``--repeats``, ...) applied."""
        recorded = self.facts["study"]
        if recorded["file"] == PICKLED:
            spec = unpickle_study(self.study_file)
        else:
            with tempfile.TemporaryDirectory(prefix="rnnstudy-record-") as tmp:
                path = Path(tmp) / Path(recorded["path"]).name
                path.write_bytes(self.study_file)
                spec = load_study(path)
            spec.path = Path(recorded["path"])
        spec.name = recorded["name"]
        spec.override(**self.facts["options"]["overrides"])
        return spec


# where a record made before the subpackages finds the classes it pickled
MOVED = {f"rnnstudy.{name}": f"rnnstudy.spec.{name}" for name in ("study", "space")}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        return super().find_class(MOVED.get(module, module), name)


def unpickle_study(packed: bytes) -> Study:
    """A recorded Study, also one recorded before its classes moved into ``rnnstudy.spec``."""
    return _Unpickler(io.BytesIO(packed)).load()


def read(tracker, parent_id: str) -> list[Invocation]:
    """Every invocation recorded on a study's parent run, first first; [] for a study that ran
    before rnnstudy recorded them."""
    folders = sorted(
        (
            f.path
            for f in tracker.client.list_artifacts(parent_id, RECORD_ARTIFACTS)
            if f.is_dir and _number(f.path)
        ),
        key=_number,
    )
    found = []
    with tempfile.TemporaryDirectory(prefix="rnnstudy-record-") as tmp:
        for folder in folders:
            local = Path(tracker.client.download_artifacts(parent_id, folder, tmp))
            facts = json.loads((local / FACTS).read_text())
            lines = (local / PACKAGES).read_text().splitlines()
            study = local / (facts["study"]["file"] or STUDY_FILE)
            found.append(
                Invocation(
                    folder,
                    facts,
                    dict(line.split("==", 1) for line in lines if "==" in line),
                    study.read_bytes() if study.is_file() else None,
                )
            )
    return found


def of_trial(invocations: list[Invocation], trial) -> Invocation | None:
    """The invocation that ran an Optuna trial: the latest one started before the trial on the
    machine its heartbeat names (of any machine when none matches); None when the trial is
    older than every record. Two invocations of one study on one machine at once (two
    terminals) are told apart by time alone: the later one is taken."""
    if trial.datetime_start is None:
        return None
    started = trial.datetime_start.timestamp()
    before = [i for i in invocations if i.started <= started]
    beat = trial.system_attrs.get(HEARTBEAT_ATTR) or {}
    here = [i for i in before if i.facts["machine"]["id"] == beat.get("machine")]
    return (here or before or [None])[-1]


def differences(invocation: Invocation, params: dict[str, str], device: str) -> list[str]:
    """What differs between the invocation that ran a trial (its logged ``params``) and a rerun
    here and now on ``device``, one short line each; [] when nothing does."""
    facts, lines = invocation.facts, []
    if facts["rnnstudy"] != _version("rnnstudy"):
        lines.append(f"rnnstudy {facts['rnnstudy']} then, {_version('rnnstudy')} now")
    changed = _package_changes(invocation.packages, packages())
    if changed:
        lines.append("packages: " + changed)
    then, now = facts["machine"], machine()
    for key in ("cpu", "gpus", "python", "platform"):
        if then[key] != now[key]:
            lines.append(f"{key}: {_shown(then[key])} then, {_shown(now[key])} now")
    if params.get("device") and params["device"] != device:
        lines.append(f"device: {params['device']} then, {device} now")
    lines += _study_file_changes(facts)
    if params.get("deterministic") != "True":
        lines.append(
            "the original ran without deterministic ops (rnnstudy optimize --deterministic): "
            "its metrics may not be reproduced exactly"
        )
    return lines


def _study_file_changes(facts: dict[str, Any]) -> list[str]:
    recorded = facts["study"]
    if recorded["file"] != STUDY_FILE:
        return []
    path = Path(recorded["path"])
    if not path.is_file():
        return [f"study file {path} is gone (the recorded copy is used)"]
    lines = []
    # compared as recorded, passwords redacted: a changed password alone is no change
    if hashlib.sha256(_stored(path)[0]).hexdigest() != recorded["sha256"]:
        lines.append(f"study file {path} changed since (the recorded copy is used)")
    then, now = facts.get("git"), git(path.parent)
    if then and now and then["commit"] != now["commit"]:
        dirty = " with uncommitted changes" if then["uncommitted"] else ""
        lines.append(f"git: commit {then['commit'][:10]}{dirty} then, {now['commit'][:10]} now")
    return lines


def _package_changes(then: dict[str, str], now: dict[str, str]) -> str:
    changes = [f"{n} {then[n]} → {now[n]}" for n in then if n in now and then[n] != now[n]]
    changes += [f"{n} {then[n]} gone" for n in then if n not in now]
    changes += [f"{n} {now[n]} new" for n in now if n not in then]
    more = f" and {len(changes) - SHOWN} more" if len(changes) > SHOWN else ""
    return ", ".join(changes[:SHOWN]) + more


def _shown(value: Any) -> str:
    if isinstance(value, list):  # the GPUs
        return ", ".join(value) or "none"
    return str(value)
