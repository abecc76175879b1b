"""Where a trial computes: the Keras backend and its environment, the devices and how
workers are placed on them, and the numeric precision per device."""

from rnnstudy._lazy import exports

__all__ = ["BACKENDS", "placement", "visible_gpus"]
__getattr__, __dir__ = exports(
    __name__,
    {
        "BACKENDS": "rnnstudy.runtime.backend",
        "placement": "rnnstudy.runtime.devices",
        "visible_gpus": "rnnstudy.runtime.devices",
    },
)
