"""Commands beside the search: rerun a trial from its record, start the MLflow and
dashboard servers, and check a plugin (rnnstudy.testing)."""
