"""The documented Kubernetes Job (docs/machines/kubernetes-job.yaml, the very file
docs/machines/many.md shows) is a valid batch/v1 Job, and its container runs an rnnstudy command.

The check is kubernetes-validate: Kubernetes' own OpenAPI schemas, as JSON schemas bundled with
the package for every release, checked with jsonschema, offline. Strict, it refuses a field the
schema has not, which the Kubernetes Python client's models would drop without a word.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

DOCS = Path(__file__).parents[1] / "docs" / "machines"
MANIFEST = DOCS / "kubernetes-job.yaml"


def _validate(manifest: dict) -> None:
    import kubernetes_validate

    kubernetes_validate.validate(manifest, kubernetes_validate.latest_version(), strict=True)


def test_the_documented_kubernetes_job_is_valid_and_the_docs_show_that_file():
    manifest = yaml.safe_load(MANIFEST.read_text())

    _validate(manifest)  # raises on an invalid one

    assert (manifest["apiVersion"], manifest["kind"]) == ("batch/v1", "Job")
    assert '{% include "./kubernetes-job.yaml" %}' in (DOCS / "many.md").read_text()


def test_its_container_runs_an_rnnstudy_command_that_parses_with_the_variables_rnnstudy_reads():
    from rnnstudy.cli import cli
    from rnnstudy.stores.optuna_storage import STORAGE_ENV

    [container] = yaml.safe_load(MANIFEST.read_text())["spec"]["template"]["spec"]["containers"]
    program, command, *args = container["command"]

    assert program == "rnnstudy"
    cli.get_command(None, command).make_context(command, args)  # a wrong option raises
    assert {v["name"] for v in container["env"]} == {STORAGE_ENV, "MLFLOW_TRACKING_URI"}


@pytest.mark.parametrize(
    "path, value, complaint",
    [
        (("spec", "template", "spec", "restartPolcy"), "Never", "'restartPolcy' was unexpected"),
        (("spec", "completions"), "four", "'four' is not of type"),
        (("spec", "template", "spec", "containers"), None, "None is not of type 'array'"),
    ],
)
def test_the_check_refuses_a_misspelled_field_a_wrong_type_and_a_missing_container(path, value, complaint):
    import kubernetes_validate

    broken = copy.deepcopy(yaml.safe_load(MANIFEST.read_text()))
    *parents, last = path
    node = broken
    for key in parents:
        node = node[key]
    node[last] = value

    with pytest.raises(kubernetes_validate.ValidationError) as raised:
        _validate(broken)
    assert complaint in raised.value.message
