"""A study on shared servers, as on many machines: trials in PostgreSQL, runs on a real
`mlflow server`, both URLs carrying a password that must never be logged, stored or shown."""

from __future__ import annotations

from pathlib import Path

SECRET = "s3cret-Pa55word"


def test_study_on_postgres_and_a_remote_mlflow_server_hides_the_passwords(
    project, postgres_url, mlflow_server
):
    from mlflow import MlflowClient

    storage = postgres_url.replace("postgres@", f"postgres:{SECRET}@")  # trust auth accepts any password
    tracking = mlflow_server.url.replace("http://", f"http://bob:{SECRET}@")
    grid = [0.2, 0.4, 0.6]
    study_file = project.write_study("remote", search={"score": grid}, fixed={"epochs": 2})

    result = project.run(study_file, "--workers", "2", "--storage", storage, "--tracking-uri", tracking)

    assert result.returncode == 0, result.stdout
    project.assert_exact(
        "remote", [{"score": s} for s in grid], storage_url=storage, tracking_uri=mlflow_server.url
    )
    client = MlflowClient(mlflow_server.url)
    runs = project.runs("remote", mlflow_server.url)
    assert len(runs) == 4  # the parent run and three trials
    for run in runs:
        if "rnnstudy.trial" in run.data.tags:
            assert run.info.artifact_uri.startswith("mlflow-artifacts:")  # served by the server
            assert {a.path for a in client.list_artifacts(run.info.run_id)} >= {"history.csv", "curves.png"}
    [parent] = [r for r in runs if "rnnstudy.trial" not in r.data.tags]
    assert parent.data.tags["rnnstudy.storage"] == storage.replace(SECRET, "***")

    # the password is nowhere: terminal, MLflow params and tags, the server's files, Optuna's tables
    assert SECRET not in result.stdout
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
