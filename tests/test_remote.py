"""A study on many machines: independent commands share trials in PostgreSQL and runs on a
real `mlflow server`, both URLs carrying a password that must never be logged, stored or shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SECRET = "s3cret-Pa55word"


@pytest.mark.slow  # two commands, a PostgreSQL database and an MLflow server: half a minute
def test_independent_commands_share_one_study_on_postgres_and_a_remote_mlflow_server(
    project, postgres_url, mlflow_server
):
    from mlflow import MlflowClient

    storage = postgres_url.replace("postgres@", f"postgres:{SECRET}@")  # trust auth accepts any password
    tracking = mlflow_server.url.replace("http://", f"http://bob:{SECRET}@")
    grid = [0.2, 0.4, 0.6, 0.8]
    study_file = project.write_study("remote", search={"score": grid}, fixed={"epochs": 2})
    (project.root / "meet").mkdir()
    project.env["SCRIPTED_RENDEZVOUS"] = f"{project.root / 'meet'}:2"  # first trials wait for each other
    command = (study_file, "--storage", storage, "--tracking-uri", tracking)

    first, second = project.start(*command, log="a.log"), project.start(*command, log="b.log")

    assert first.wait(timeout=600) == 0, project.log("a.log")
    assert second.wait(timeout=600) == 0, project.log("b.log")
    output = project.log("a.log") + project.log("b.log")
    done = [set(re.findall(r"trial #(\d+) COMPLETE", project.log(log))) for log in ("a.log", "b.log")]
    assert done[0] and done[1] and not done[0] & done[1]  # both ran trials, none twice
    project.assert_exact(
        "remote", [{"score": s} for s in grid], storage_url=storage, tracking_uri=mlflow_server.url
    )
    client = MlflowClient(mlflow_server.url)
    runs = project.runs("remote", mlflow_server.url)
    assert len(runs) == 5  # one parent run for both commands, and four trials
    for run in runs:
        if "rnnstudy.trial" in run.data.tags:
            assert run.info.artifact_uri.startswith("mlflow-artifacts:")  # served by the server
            assert {a.path for a in client.list_artifacts(run.info.run_id)} >= {"history.csv", "curves.png"}
    [parent] = [r for r in runs if "rnnstudy.trial" not in r.data.tags]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["rnnstudy.storage"] == storage.replace(SECRET, "***")

    # the password is nowhere: terminal, MLflow params and tags, the server's files, Optuna's tables
    assert SECRET not in output
    for run in runs:
        assert SECRET not in repr(run.data.params) + repr(run.data.tags)
    for path in Path(mlflow_server.store).parent.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in _database_text(postgres_url)


def _database_text(url: str) -> str:
    """Every row of every table of the database, as text."""
    import psycopg2

    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        text = []
        for (table,) in cursor.fetchall():
            cursor.execute(f'SELECT * FROM "{table}"')
            text.append(repr(cursor.fetchall()))
    connection.close()
    return "\n".join(text)
