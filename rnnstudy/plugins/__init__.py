"""The plugin contract, written down in one place (:mod:`rnnstudy.plugins.contract`): what a
dataset, a model and an optimizer plugin is; how they are found by entry point
(:mod:`rnnstudy.plugins.registry`); and the :class:`Data` a dataset returns
(:mod:`rnnstudy.plugins.data`). The built-in plugins (``rnnstudy_plugins``) use exactly this
contract, through the same entry points as a third party's."""

from rnnstudy._lazy import exports

__all__ = [
    "GROUPS",
    "KINDS",
    "AdaptedHypermodel",
    "Data",
    "DatasetPlugin",
    "Info",
    "ModelBuilder",
    "ModelPlugin",
    "OptimizerPlugin",
    "Plugin",
    "Registry",
    "adapt",
    "default_registry",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "GROUPS": "rnnstudy.plugins.registry",
        "KINDS": "rnnstudy.plugins.registry",
        "AdaptedHypermodel": "rnnstudy.plugins.contract",
        "Data": "rnnstudy.plugins.data",
        "DatasetPlugin": "rnnstudy.plugins.contract",
        "Info": "rnnstudy.plugins.data",
        "ModelBuilder": "rnnstudy.plugins.contract",
        "ModelPlugin": "rnnstudy.plugins.contract",
        "OptimizerPlugin": "rnnstudy.plugins.contract",
        "Plugin": "rnnstudy.plugins.registry",
        "Registry": "rnnstudy.plugins.registry",
        "adapt": "rnnstudy.plugins.contract",
        "default_registry": "rnnstudy.plugins.registry",
    },
)
