"""A URL password in a study file reaches no store: rnnstudy keeps it as ``***``.

One real study of the scripted plugins (tests/scripted), run as a command, with a password
planted in every place a study file may hold one: its docstring, a constant, a comment,
``description=``, a fixed value and its own report. Then every byte of the Optuna journal, of
the MLflow database and of every artifact, and what the command printed, is searched for it.
"""

from __future__ import annotations

import json
from pathlib import Path

PASSWORD = "s3cr3t-PLANTED"  # distinctive: found only where it leaked
SOURCE = f"postgresql://alice:{PASSWORD}@db.example/rows"
STUDY = f'''"""Rows from postgresql://alice:{PASSWORD}@db.example/docs (the docstring's password)."""

from rnnstudy import Study

MIRROR = "mysql://bob:{PASSWORD}@mirror.example/rows"  # a constant's
# a comment's: the old server was https://carol:{PASSWORD}@old.example/rows

study = Study(
    dataset="tiny_table",
    model="scripted_fit",
    optimizer="sgd",
    search={{"score": [0.25, 0.75]}},
    fixed={{"epochs": 2, "source": "{SOURCE}"}},  # a fixed value's, the dataset's URL
    description=__doc__ + " Mirrored at " + MIRROR + f", backed up to sftp://dave:{PASSWORD}@backup.example/",
    name="planted",
)


def report(frame):
    """The study's own report, logged in report.md."""
    return "rows from " + MIRROR
'''
PLANTED_LINES = ["line 1", "line 5", "line 6", "line 13", "line 14"]


def test_no_store_holds_a_password_of_the_study_file(project):
    (project.root / "planted.py").write_text(STUDY)
    project.env["SCRIPTED_SOURCES"] = SOURCE  # the value the dataset plugin accepts

    done = project.run("planted.py")

    assert done.returncode == 0, done.stdout
    stores = sorted(p for p in (project.root / "mlruns").rglob("*") if p.is_file())
    leaks = [str(p.relative_to(project.root)) for p in stores if PASSWORD.encode() in p.read_bytes()]
    leaks += ["the command's output"] if PASSWORD in done.stdout else []
    assert leaks == []
    # where it was, the password shows as *** (so the search above looked in the right places)
    names = {p.name for p in stores}
    assert {"optuna.journal", "mlflow.db", "study.py", "record.json", "report.md"} <= names
    parent = next(r for r in project.runs("planted") if "mlflow.parentRunId" not in r.data.tags)
    assert "postgresql://alice:***@db.example/docs" in parent.data.tags["mlflow.note.content"]
    assert "mysql://bob:***@mirror.example/rows" in parent.data.tags["mlflow.note.content"]
    assert parent.data.params["fixed.source"] == "postgresql://alice:***@db.example/rows"
    trials = [r for r in project.runs("planted") if "rnnstudy.trial" in r.data.tags]
    assert [r.data.params["source"] for r in trials] == ["postgresql://alice:***@db.example/rows"] * 2
    (kept,) = [p for p in stores if p.name == "study.py"]
    assert kept.read_text() == STUDY.replace(PASSWORD, "***")  # nothing else of the file changes
    facts = json.loads(next(p for p in stores if p.name == "record.json").read_text())
    assert facts["study"]["redacted"] == PLANTED_LINES  # where, never what


def test_a_study_made_in_code_is_recorded_without_its_passwords(tmp_path):
    from rnnstudy.run.driver import Session
    from rnnstudy.run.preflight import RunOptions
    from rnnstudy.spec.study import Study, pack_study
    from rnnstudy.stores import provenance as record
    from rnnstudy.stores.mlflow_tracking import Tracker

    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}")
    spec = Study(dataset="d", model="m", fixed={"source": SOURCE}, description=f"from {SOURCE}", name="code")
    session = Session(spec, None, str(tmp_path / "optuna.journal"), None, tracker)
    session.parent_id = tracker.parent_run(tracker.experiment("code"), "code", None, spec.description)

    record.write(session, RunOptions(workers=1), env={}, packed=pack_study(spec))  # as a notebook's

    local = Path(tracker.client.download_artifacts(session.parent_id, "record/invocation-1", str(tmp_path)))
    assert PASSWORD.encode() not in (local / "study.pkl").read_bytes()
    assert json.loads((local / "record.json").read_text())["study"]["redacted"] == [
        "description",
        "fixed.source",
    ]
    (invocation,) = record.read(tracker, session.parent_id)
    assert invocation.study().fixed["source"] == "postgresql://alice:***@db.example/rows"
    assert spec.fixed["source"] == SOURCE  # what the workers get is the study's own
