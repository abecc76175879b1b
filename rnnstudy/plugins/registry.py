"""The plugin registry: datasets, models and optimizers found through Python entry points.

Built-in plugins are registered exactly like a third party's, in ``pyproject.toml``::

    [project.entry-points."rnnstudy.models"]
    cnn = "rnnstudy_plugins.models.cnn:CNN"

Entry points are read lazily and once; a plugin that fails to import is kept with its error
and does not take the others down. Tests make a fresh :class:`Registry` and fill it with
fakes through :meth:`Registry.add`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

from rnnstudy.errors import PluginError
from rnnstudy.plugins.contract import DatasetPlugin, ModelPlugin, OptimizerPlugin

PluginObject = DatasetPlugin | ModelPlugin | OptimizerPlugin  # what an entry point loads, by kind

KINDS = ("dataset", "model", "optimizer")
GROUPS = {kind: f"rnnstudy.{kind}s" for kind in KINDS}


@dataclass
class Plugin:
    """One registered plugin; ``obj`` is None and ``error`` set when it failed to load."""

    name: str
    kind: str
    package: str
    version: str
    obj: PluginObject | None = None
    error: str | None = None


class Registry:
    """Every plugin by kind and name."""

    def __init__(self, *, entry_points: bool = True) -> None:
        self._plugins: dict[str, dict[str, Plugin]] = {kind: {} for kind in KINDS}
        self._loaded = not entry_points

    def add(
        self, kind: str, name: str, obj: PluginObject, *, package: str = "local", version: str = ""
    ) -> None:
        """Register ``obj`` directly (used by tests and by code that embeds rnnstudy)."""
        self._check_kind(kind)
        self._plugins[kind][name] = Plugin(name, kind, package, version, obj)

    def all(self) -> list[Plugin]:
        """Every plugin, broken ones included, sorted by kind and name."""
        self._load()
        return [self._plugins[k][n] for k in KINDS for n in sorted(self._plugins[k])]

    def names(self, kind: str) -> list[str]:
        """The names of the working plugins of one kind."""
        self._load()
        return sorted(n for n, p in self._plugins[kind].items() if p.error is None)

    def get(self, kind: str, name: str) -> Plugin:
        """The plugin ``name`` of ``kind``; a clear error when unknown or broken."""
        self._check_kind(kind)
        self._load()
        plugin = self._plugins[kind].get(name)
        if plugin is None:
            raise PluginError(
                f"unknown {kind} {name!r}; installed {kind}s: {', '.join(self.names(kind)) or 'none'} "
                "(see `rnnstudy plugins`)"
            )
        if plugin.error is not None:
            raise PluginError(f"{kind} {name!r} from package {plugin.package} failed to load: {plugin.error}")
        return plugin

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for kind, group in GROUPS.items():
            for ep in metadata.entry_points(group=group):
                dist = ep.dist
                plugin = Plugin(
                    ep.name,
                    kind,
                    dist.name if dist else "?",
                    dist.version if dist else "?",
                )
                try:
                    plugin.obj = ep.load()
                except Exception as exc:  # a broken plugin must not stop the rest
                    plugin.error = f"{type(exc).__name__}: {exc}"
                self._plugins[kind].setdefault(ep.name, plugin)

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in KINDS:
            raise PluginError(f"unknown plugin kind {kind!r}; allowed: {', '.join(KINDS)}")


_default: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry over the installed entry points."""
    global _default
    if _default is None:
        _default = Registry()
    return _default
