"""Names and modules imported only when first used, so ``rnnstudy --help`` does not
pay for NumPy, Keras, MLflow or Optuna (PEP 562's module ``__getattr__``)."""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable


def exports(package: str, where: dict[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` for the names in ``where`` (name -> module)::

    __getattr__, __dir__ = exports(__name__, {"Data": "rnnstudy.plugins.data"})

    The first use of a name imports its module and keeps the value in the package, so later
    uses cost nothing."""

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(importlib.import_module(package), name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(where) | set(vars(importlib.import_module(package))))

    return __getattr__, __dir__


class _Module(types.ModuleType):
    """A module imported on its first attribute access (as Optuna's ``_LazyImport``)."""

    def __getattr__(self, item: str) -> object:
        # always the real module's attribute (sys.modules makes the lookup cheap), so a value
        # patched there later is the one seen here
        return getattr(importlib.import_module(self.__name__), item)


def module(name: str) -> types.ModuleType:
    """``name``, imported when first used: for a module a command needs only when it runs
    (``driver = module("rnnstudy.run.driver")`` at the top; ``driver.optimize(...)`` imports it)."""
    return _Module(name)
