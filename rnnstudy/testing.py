"""Checks a plugin author runs in their own tests.

This is the path plugins import; the definitions live in :mod:`rnnstudy.tools.plugin_checks`."""

from rnnstudy.tools.plugin_checks import check_dataset, check_model, check_optimizer

__all__ = ["check_dataset", "check_model", "check_optimizer"]
