"""Commands beside the search: rerun a trial from its record, start the MLflow and
dashboard servers, and check a plugin (rnnstudy.testing)."""

from rnnstudy._lazy import exports

__all__ = ["check_dataset", "check_model", "check_optimizer"]
__getattr__, __dir__ = exports(
    __name__,
    {
        "check_dataset": "rnnstudy.tools.plugin_checks",
        "check_model": "rnnstudy.tools.plugin_checks",
        "check_optimizer": "rnnstudy.tools.plugin_checks",
    },
)
