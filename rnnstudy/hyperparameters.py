"""Keras Tuner's ``hp`` API answered by an Optuna trial.

Plugins declare hyperparameters the Keras Tuner way (``hp.Int("c1", 1, 512, default=50)``);
whether a name is searched, fixed or left at its default is the study's decision, not the
plugin's:

- a name in the study's search space is suggested by the Optuna trial from the study's space;
- a name the study fixes takes that value;
- every other name takes the plugin's default.

Each value is checked against the plugin's declaration, so ``epochs=0`` or a channel count
outside the model's range fails with a message naming the bad value and the allowed range.
Without a trial (a dry run) searched names take the value of a given grid point, or the
first value of their space, which is how a study is validated before anything is written.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from rnnstudy.errors import SearchSpaceError
from rnnstudy.space import Choice, Float, Int, Space


@dataclass(frozen=True)
class Declaration:
    """What a plugin allows for one hyperparameter."""

    kind: str  # "int", "float", "choice", "boolean" or "fixed"
    low: Any = None
    high: Any = None
    options: tuple = ()
    default: Any = None
    owner: str = ""

    def allowed(self) -> str:
        if self.kind in ("int", "float"):
            return f"{self.kind} from {self.low} to {self.high}"
        if self.kind == "boolean":
            return "True or False"
        return "one of " + ", ".join(repr(v) for v in self.options)

    def admits(self, value: Any) -> bool:
        if self.kind == "int":
            return isinstance(value, int) and not isinstance(value, bool) and self.low <= value <= self.high
        if self.kind == "float":
            return (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and self.low <= value <= self.high
            )
        if self.kind == "boolean":
            return isinstance(value, bool)
        return value in self.options


class HyperParameters:
    """The ``hp`` object a model, dataset or optimizer plugin receives.

    Args:
        trial: the Optuna trial that suggests searched values; None for a dry run.
        search: the study's search space, by name.
        fixed: the study's fixed values (command-line overrides included), by name.
        point: for a dry run, the values of one grid point.
    """

    def __init__(
        self,
        *,
        trial=None,
        search: dict[str, Space] | None = None,
        fixed: dict[str, Any] | None = None,
        point: dict[str, Any] | None = None,
    ) -> None:
        self.trial = trial
        self.search = dict(search or {})
        self.fixed = dict(fixed or {})
        self.point = dict(point or {})
        self.values: dict[str, Any] = {}
        self.declared: dict[str, Declaration] = {}
        self.owner = ""
        self._conditions: list[tuple[str, list]] = []

    # --- Keras Tuner's API -------------------------------------------------------------

    def Int(
        self,
        name,
        min_value,
        max_value,
        step=None,
        sampling="linear",
        default=None,
        parent_name=None,
        parent_values=None,
    ):  # Keras Tuner's names
        default = min_value if default is None else default
        decl = Declaration("int", int(min_value), int(max_value), default=int(default), owner=self.owner)
        value = self._value(name, decl, parent_name, parent_values)
        return value

    def Float(
        self,
        name,
        min_value,
        max_value,
        step=None,
        sampling="linear",
        default=None,
        parent_name=None,
        parent_values=None,
    ):
        default = min_value if default is None else default
        decl = Declaration(
            "float", float(min_value), float(max_value), default=float(default), owner=self.owner
        )
        value = self._value(name, decl, parent_name, parent_values)
        return None if value is None else float(value)

    def Choice(self, name, values, ordered=None, default=None, parent_name=None, parent_values=None):
        options = tuple(values)
        default = options[0] if default is None else default
        decl = Declaration("choice", options=options, default=default, owner=self.owner)
        return self._value(name, decl, parent_name, parent_values)

    def Boolean(self, name, default=False, parent_name=None, parent_values=None):
        decl = Declaration("boolean", options=(False, True), default=bool(default), owner=self.owner)
        return self._value(name, decl, parent_name, parent_values)

    def Fixed(self, name, value, parent_name=None, parent_values=None):
        decl = Declaration("fixed", options=(value,), default=value, owner=self.owner)
        return self._value(name, decl, parent_name, parent_values)

    @contextlib.contextmanager
    def conditional_scope(self, parent_name: str, parent_values):
        """Hyperparameters declared inside are active only while ``parent_name`` is in ``parent_values``."""
        values = parent_values if isinstance(parent_values, (list, tuple)) else [parent_values]
        self._conditions.append((parent_name, list(values)))
        try:
            yield
        finally:
            self._conditions.pop()

    def get(self, name: str) -> Any:
        if name not in self.values:
            raise KeyError(f"hyperparameter {name!r} has not been declared yet")
        return self.values[name]

    # --- rnnstudy's additions ----------------------------------------------------------

    @contextlib.contextmanager
    def owned_by(self, owner: str):
        """Name the plugin that declares what follows, for error messages."""
        previous, self.owner = self.owner, owner
        try:
            yield
        finally:
            self.owner = previous

    def _active(self, parent_name, parent_values) -> bool:
        conditions = list(self._conditions)
        if parent_name is not None:
            values = parent_values if isinstance(parent_values, (list, tuple)) else [parent_values]
            conditions.append((parent_name, list(values)))
        return all(self.values.get(parent) in allowed for parent, allowed in conditions)

    def _value(self, name: str, decl: Declaration, parent_name, parent_values) -> Any:
        if not self._active(parent_name, parent_values):
            return None
        if name in self.values:  # declared twice (e.g. learning_rate): one value per trial
            return self.values[name]
        self.declared.setdefault(name, decl)
        if name in self.search:
            _check_space(name, self.search[name], decl)
            value = self._searched(name)
        elif name in self.fixed:
            value = self.fixed[name]
        else:
            value = decl.default
        if decl.kind == "float" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not decl.admits(value):
            source = "the study fixes" if name in self.fixed and name not in self.search else "value"
            raise SearchSpaceError(
                f"{name}={value!r} ({source}) is not allowed by {decl.owner or 'its plugin'}: "
                f"allowed {decl.allowed()}"
            )
        self.values[name] = value
        return value

    def _searched(self, name: str) -> Any:
        space = self.search[name]
        if self.trial is not None:
            return space.suggest(self.trial, name)
        if name in self.point:
            return self.point[name]
        return space.low if isinstance(space, (Int, Float)) else space.options[0]


def _check_space(name: str, space: Space, decl: Declaration) -> None:
    """The whole searched space must lie inside what the plugin allows."""
    if isinstance(space, Choice):
        bad = [
            v
            for v in space.options
            if not decl.admits(float(v) if decl.kind == "float" and isinstance(v, int) else v)
        ]
    else:
        if decl.kind not in ("int", "float"):
            raise SearchSpaceError(
                f"{name}: {decl.owner or 'its plugin'} declares it as a {decl.kind}, "
                f"so search it with a list ({decl.allowed()}), not a numeric range"
            )
        bad = [b for b in (space.low, space.high) if not decl.low <= b <= decl.high]
    if bad:
        raise SearchSpaceError(
            f"{name}: searched value(s) {', '.join(map(repr, bad))} not allowed by "
            f"{decl.owner or 'its plugin'}: allowed {decl.allowed()}"
        )
