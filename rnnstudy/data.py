"""The Data a dataset plugin returns, and the helpers plugins use to find and split data.

This is the path plugins import; the definitions live in :mod:`rnnstudy.plugins.data`."""

from rnnstudy.plugins.data import DATA_DIR_ENV, Data, Info, find, hold_out, not_found, split, user_data_dir

__all__ = ["DATA_DIR_ENV", "Data", "Info", "find", "hold_out", "not_found", "split", "user_data_dir"]
