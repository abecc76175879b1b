"""Keras Tuner's ``hp`` API answered by an Optuna trial.

Plugins declare hyperparameters the Keras Tuner way (``hp.Int("c1", 1, 512, default=50)``);
whether a name is searched, fixed or left at its default is the study's decision, not the
plugin's:

- a name in the study's search space is suggested by the Optuna trial from the study's space;
- a name the study fixes takes that value;
- every other name takes the plugin's default.

Each value is checked against the plugin's declaration (its range, its ``step`` grid, its
choices), so ``epochs=0`` or a channel count outside the model's range fails with a message
naming the bad value and what is allowed. A name declared twice (``learning_rate`` by two
plugins, ``batch_size`` by rnnstudy and by a hypermodel's ``fit``) keeps its one value, which
each declaration must admit. Without a trial (a dry run) searched names take the value of a
given grid point, or the first value of their space, which is how a study is validated before
anything is written.

The rest follows Keras Tuner (``keras_tuner/src/engine/hyperparameters/``): ``name_scope``
prefixes names with ``"scope/"``; inside a ``conditional_scope`` whose parent value does not
match, a declaration returns None and its name stays out of ``values``; ``values`` holds the
active values only; ``get``/``hp[name]`` raise KeyError for an unknown name and ValueError for
an inactive one; ``copy()`` is independent of the original. A declaration Keras Tuner refuses
(min above max, an unknown sampling, mixed choice types, ...) is refused here too, as a
:class:`~rnnstudy.errors.SearchSpaceError` that stops the study at its check.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any

from rnnstudy.errors import SearchSpaceError
from rnnstudy.spec.space import Choice, Float, Int, Space

SAMPLINGS = ("linear", "log", "reverse_log")
_TOLERANCE = 1e-9  # relative: 0.6 / 0.1 is 5.999999999999999 and must count as on the grid


@dataclass(frozen=True)
class Declaration:
    """What a plugin allows for one hyperparameter.

    ``step`` and ``sampling`` are Keras Tuner's: under ``"linear"`` sampling the grid is
    ``low, low + step, ...``; under ``"log"`` it is ``low, low * step, low * step**2, ...``;
    under ``"reverse_log"`` it is ``high + low - low * step**k``. ``step=None`` allows any value
    in the range (an int declared with linear sampling always has a step, 1 by default).
    """

    kind: str  # "int", "float", "choice", "boolean" or "fixed"
    low: Any = None
    high: Any = None
    options: tuple = ()
    default: Any = None
    owner: str = ""
    step: Any = None
    sampling: str = "linear"
    ordered: bool = False  # a choice's: whether its options have an order (Keras Tuner's)

    def allowed(self) -> str:
        if self.kind in ("int", "float"):
            text = f"{self.kind} from {self.low} to {self.high}"
            if self.sampling != "linear":
                text += f" ({self.sampling} sampling)"
            return text + (f" {self._grid_text()}" if self.stepped else "")
        if self.kind == "boolean":
            return "True or False"
        return "one of " + ", ".join(repr(v) for v in self.options)

    def admits(self, value: Any) -> bool:
        if self.kind in ("int", "float"):
            number = isinstance(value, int) if self.kind == "int" else isinstance(value, (int, float))
            return (
                number
                and not isinstance(value, bool)
                and self.low <= value <= self.high
                and self.on_grid(value)
            )
        if self.kind == "boolean":
            return isinstance(value, bool)
        # True == 1 in Python: a boolean is one of the options only where the options are booleans
        return value in self.options and isinstance(value, bool) == isinstance(self.options[0], bool)

    @property
    def stepped(self) -> bool:
        """Whether only a grid of the range is allowed (an int's step 1 allows every int)."""
        trivial = self.kind == "int" and self.sampling == "linear" and self.step == 1
        return self.kind in ("int", "float") and self.step is not None and not trivial

    def on_grid(self, value: Any) -> bool:
        """Whether a value of the range lies on the declaration's step grid."""
        if not self.stepped or value == self.default:  # a reverse_log grid may miss its own default
            return True
        if self.kind == "int" and self.sampling == "linear":
            return (value - self.low) % self.step == 0
        index = self._index(value)
        return abs(index - round(index)) <= _TOLERANCE * max(1.0, abs(index))

    def grid(self) -> list:
        """Every value a stepped declaration allows, in order (Keras Tuner's ``values``)."""
        if self.kind not in ("int", "float"):
            return list(self.options)
        if not self.stepped:
            if self.kind == "int" and self.step == 1:
                return list(range(self.low, self.high + 1))
            raise ValueError(f"{self.allowed()} has no step, so no grid")
        return [self._at(i) for i in range(self._count())]

    def nearest(self, value: float) -> list:
        """The grid values either side of an off-grid ``value`` of the range."""
        index = min(max(self._index(value), 0), self._count() - 1)
        return sorted({self._at(math.floor(index)), self._at(min(math.ceil(index), self._count() - 1))})

    def as_space(self) -> Space:
        """The study space equal to what this declaration allows, for a study that searches
        a name over the plugin's own range. Optuna has no reverse-log sampling: an unstepped
        ``"reverse_log"`` range is searched linearly; a stepped log grid becomes a Choice."""
        if self.kind not in ("int", "float"):
            return Choice(tuple(self.options))
        if self.stepped and self.sampling != "linear":
            return Choice(tuple(self.grid()))
        log = self.sampling == "log"
        if self.kind == "int":
            return Int(self.low, self.high, step=self.step or 1, log=log)
        return Float(self.low, self.high, step=self.step, log=log)

    def _grid_text(self) -> str:
        if self.sampling == "linear":
            return f"in steps of {self.step} from {self.low}"
        if self.sampling == "log":
            return f"multiplying by step {self.step} from {self.low}"
        return f"on the grid {self.high} + {self.low} - {self.low} * {self.step}**k (step {self.step})"

    def _index(self, value: float) -> float:
        if self.sampling == "linear":
            return (value - self.low) / self.step
        if self.sampling == "log":
            return math.log(value / self.low, self.step)
        return math.log((self.high + self.low - value) / self.low, self.step)

    def _count(self) -> int:
        if self.sampling == "linear":  # Keras Tuner's floor division drops 0.6 from 0 to 0.6 by 0.1
            return math.floor((self.high - self.low) / self.step * (1 + _TOLERANCE)) + 1
        return int(math.log(self.high / self.low, self.step) + 1e-8) + 1  # as Keras Tuner counts

    def _at(self, index: int) -> Any:
        if self.sampling == "linear":
            value = self.low + index * self.step
        elif self.sampling == "log":
            value = self.low * self.step**index
        else:
            value = self.high + self.low - self.low * self.step**index
        return int(round(value)) if self.kind == "int" else float(f"{value:.12g}")


class HyperParameters:
    """The ``hp`` object a model, dataset or optimizer plugin receives.

    Args:
        trial: the Optuna trial that suggests searched values; None for a dry run.
        search: the study's search space, by name.
        fixed: the study's fixed values (command-line overrides included), by name.
        point: for a dry run, the values of one grid point.

    Attributes:
        values: the active values, by (scoped) name, as Keras Tuner's ``hp.values``.
        declared: the first declaration of each name that was active when declared.
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
        self._scopes: list[str] = []
        self._seen: set[str] = set()  # every name declared, active or not: parents of scopes

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
        name = self._name(name)
        call = f"hp.Int({name!r}, {min_value!r}, {max_value!r})"
        low = self._integral(call, "min_value", min_value)
        high = self._integral(call, "max_value", max_value)
        sampling = self._sampling(call, sampling)
        if step is not None:
            step = self._integral(call, "step", step)
        elif sampling == "linear":
            step = 1  # as Keras Tuner: a linear Int without a step allows every integer
        self._check_numeric(call, low, high, step, sampling)
        if default is None:
            default = low
        elif isinstance(default, float) and default.is_integer():
            default = int(default)
        decl = Declaration("int", low, high, default=default, owner=self.owner, step=step, sampling=sampling)
        return self._value(name, decl, parent_name, parent_values)

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
        name = self._name(name)
        call = f"hp.Float({name!r}, {min_value!r}, {max_value!r})"
        low, high = float(min_value), float(max_value)
        sampling = self._sampling(call, sampling)
        step = None if step is None else float(step)
        self._check_numeric(call, low, high, step, sampling)
        default = low if default is None else default
        if isinstance(default, int) and not isinstance(default, bool):
            default = float(default)
        decl = Declaration(
            "float", low, high, default=default, owner=self.owner, step=step, sampling=sampling
        )
        value = self._value(name, decl, parent_name, parent_values)
        return None if value is None else float(value)

    def Choice(self, name, values, ordered=None, default=None, parent_name=None, parent_values=None):
        name = self._name(name)
        options = tuple(values)
        call = f"hp.Choice({name!r}, {list(options)!r})"
        if not options:
            raise self._bad(call, "no values; give at least one")
        types = {type(v) for v in options}
        if len(types) > 1:
            kinds = ", ".join(sorted(t.__name__ for t in types))
            raise self._bad(call, f"values of several types ({kinds}); give values of one type")
        if not isinstance(options[0], (str, int, float)):  # bool is an int
            raise self._bad(call, f"a {type(options[0]).__name__} value; allowed: int, float, str or bool")
        if default is not None and default not in options:
            raise self._bad(call, f"default {default!r} is not one of the values; give one of them")
        numeric = isinstance(options[0], (int, float))  # Keras Tuner counts booleans as numbers
        if ordered and not numeric:
            raise self._bad(call, "ordered=True needs numbers; leave it out for strings")
        decl = Declaration(
            "choice",
            options=options,
            default=options[0] if default is None else default,
            owner=self.owner,
            ordered=numeric if ordered is None else bool(ordered),
        )
        return self._value(name, decl, parent_name, parent_values)

    def Boolean(self, name, default=False, parent_name=None, parent_values=None):
        name = self._name(name)
        if default not in (True, False):
            raise self._bad(f"hp.Boolean({name!r})", f"default {default!r} is not True or False")
        decl = Declaration("boolean", options=(False, True), default=bool(default), owner=self.owner)
        return self._value(name, decl, parent_name, parent_values)

    def Fixed(self, name, value, parent_name=None, parent_values=None):
        name = self._name(name)
        if not isinstance(value, (bool, int, float, str)):
            raise self._bad(
                f"hp.Fixed({name!r}, {value!r})",
                f"a {type(value).__name__} value; allowed: int, float, str or bool",
            )
        decl = Declaration("fixed", options=(value,), default=value, owner=self.owner)
        return self._value(name, decl, parent_name, parent_values)

    @contextlib.contextmanager
    def conditional_scope(self, parent_name: str, parent_values):
        """Hyperparameters declared inside are active only while ``parent_name`` is in ``parent_values``.

        Scopes nest (all their conditions must hold); the parent must be declared first.
        """
        self._conditions.append(self._condition(parent_name, parent_values))
        try:
            yield
        finally:
            self._conditions.pop()

    @contextlib.contextmanager
    def name_scope(self, name: str):
        """Names declared inside are prefixed ``"name/"`` (nested: ``"outer/inner/units"``)."""
        self._scopes.append(str(name))
        try:
            yield
        finally:
            self._scopes.pop()

    def get(self, name: str) -> Any:
        """The active value of ``name`` (taken inside the current name scopes).

        Raises:
            KeyError: no hyperparameter of that name was declared.
            ValueError: it was declared, but its conditional scope is inactive.
        """
        name = self._name(name)
        if name in self.values:
            return self.values[name]
        if name in self._seen:
            raise ValueError(
                f"hyperparameter {name!r} is inactive: its conditional_scope's parent does not match"
            )
        raise KeyError(f"hyperparameter {name!r} has not been declared yet")

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: str) -> bool:
        """Whether ``name`` has an active value (Keras Tuner's semantics)."""
        try:
            self.get(name)
        except (KeyError, ValueError):
            return False
        return True

    def copy(self) -> HyperParameters:
        """A new ``hp`` with the same study, trial, values and declarations, independent of this
        one afterwards. As Keras Tuner's ``copy``, it starts outside any name or conditional scope
        (``HyperModel(tunable=False)`` builds on a copy)."""
        new = HyperParameters(trial=self.trial, search=self.search, fixed=self.fixed, point=self.point)
        new.values = dict(self.values)
        new.declared = dict(self.declared)
        new.owner = self.owner
        new._seen = set(self._seen)
        return new

    # --- rnnstudy's additions ----------------------------------------------------------

    @contextlib.contextmanager
    def owned_by(self, owner: str):
        """Name the plugin that declares what follows, for error messages."""
        previous, self.owner = self.owner, owner
        try:
            yield
        finally:
            self.owner = previous

    def _name(self, name) -> str:
        return "/".join([*self._scopes, str(name)])

    def _condition(self, parent_name, parent_values) -> tuple[str, list]:
        parent = self._name(parent_name)
        if parent not in self._seen:
            raise SearchSpaceError(
                f"conditional_scope({parent!r}, ...) in {self.owner or 'a plugin'}: {parent!r} is not "
                "declared; declare it (hp.Choice, hp.Boolean, ...) before its scope"
            )
        values = parent_values if isinstance(parent_values, (list, tuple)) else [parent_values]
        return parent, list(values)

    def _value(self, name: str, decl: Declaration, parent_name, parent_values) -> Any:
        conditions = list(self._conditions)
        if parent_name:
            conditions.append(self._condition(parent_name, parent_values))
        if any(parent == name for parent, _ in conditions):
            raise self._bad(f"hp {name!r}", "has the same name as its conditional_scope's parent; rename it")
        self._seen.add(name)
        if not all(p in self.values and self.values[p] in allowed for p, allowed in conditions):
            return None  # inactive: Keras Tuner returns None so that no code relies on it
        if name in self.search:
            _check_space(name, self.search[name], decl)
        if name in self.values:  # declared twice (e.g. learning_rate): one value per trial
            value = self.values[name]
        elif name in self.search:
            value = self._searched(name)
        elif name in self.fixed:
            value = self.fixed[name]
        else:
            value = decl.default
        if decl.kind == "float" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not decl.admits(value):
            raise SearchSpaceError(
                f"{name}={value!r} ({self._source(name)}) is not allowed by {decl.owner or 'its plugin'}: "
                f"allowed {decl.allowed()}{_off_grid(decl, value)}"
            )
        self.declared.setdefault(name, decl)
        self.values.setdefault(name, value)
        return value

    def _source(self, name: str) -> str:
        if name in self.search:
            return "searched"
        if name in self.fixed:
            return "the study fixes"
        if name in self.declared:
            return f"as {self.declared[name].owner or 'another plugin'} declared it"
        if name in self.values:
            return "set in hp.values"
        return "the plugin's default"

    def _searched(self, name: str) -> Any:
        space = self.search[name]
        if self.trial is not None:
            return space.suggest(self.trial, name)
        if name in self.point:
            return self.point[name]
        return space.low if isinstance(space, (Int, Float)) else space.options[0]

    # --- declaration checks, as Keras Tuner makes them ---------------------------------

    def _bad(self, call: str, problem: str) -> SearchSpaceError:
        return SearchSpaceError(f"{call} in {self.owner or 'a plugin'}: {problem}")

    def _integral(self, call: str, what: str, value) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise self._bad(call, f"{what}={value!r} is not an integer; give an int")
        return int(value)

    def _sampling(self, call: str, sampling) -> str:
        sampling = "linear" if sampling is None else str(sampling).lower()
        if sampling not in SAMPLINGS:
            raise self._bad(call, f"sampling={sampling!r}; allowed: {', '.join(SAMPLINGS)}")
        return sampling

    def _check_numeric(self, call: str, low, high, step, sampling: str) -> None:
        if low > high:
            raise self._bad(call, f"min_value {low} is greater than max_value {high}; swap them")
        if sampling != "linear" and low <= 0:
            raise self._bad(call, f"sampling={sampling!r} needs min_value > 0, got {low}")
        if step is not None and sampling != "linear" and step <= 1:
            raise self._bad(call, f"step={step} must be > 1 under sampling={sampling!r} (it multiplies)")
        if step is not None and sampling == "linear" and step <= 0:
            raise self._bad(call, f"step={step} must be > 0")


def _off_grid(decl: Declaration, value: Any) -> str:
    """The hint for an in-range value off the step grid: the grid values either side."""
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if decl.kind not in ("int", "float") or not numeric or not decl.low <= value <= decl.high:
        return ""
    if decl.on_grid(value):
        return ""
    return f" ({value!r} is off the grid of step {decl.step}; nearest: {', '.join(map(repr, decl.nearest(value)))})"


def _check_space(name: str, space: Space, decl: Declaration) -> None:
    """The whole searched space must lie inside what the plugin allows, on its step grid."""
    owner = decl.owner or "its plugin"
    if isinstance(space, Choice):
        bad = [
            v
            for v in space.options
            if not decl.admits(float(v) if decl.kind == "float" and isinstance(v, int) else v)
        ]
    else:
        if decl.kind not in ("int", "float"):
            raise SearchSpaceError(
                f"{name}: {owner} declares it as a {decl.kind}, "
                f"so search it with a list ({decl.allowed()}), not a numeric range"
            )
        bad = [b for b in (space.low, space.high) if not decl.low <= b <= decl.high]
        if not bad and decl.stepped and not _follows_grid(space, decl):
            if decl.sampling == "linear":
                fix = f"give {type(space).__name__}({space.low}, {space.high}, step={decl.step}) (or a multiple) from a grid value, or a list"
            else:
                fix = f"give a list of grid values, e.g. {decl.grid()[:4]}"
            raise SearchSpaceError(
                f"{name}: {space!r} would sample off the grid {owner} declares ({decl.allowed()}); {fix}"
            )
    if bad:
        raise SearchSpaceError(
            f"{name}: searched value(s) {', '.join(map(repr, bad))} not allowed by "
            f"{owner}: allowed {decl.allowed()}{_off_grid(decl, bad[0])}"
        )


def _follows_grid(space: Int | Float, decl: Declaration) -> bool:
    """Whether every value an Optuna range can suggest is on the declaration's linear grid."""
    if decl.sampling != "linear" or space.step is None or space.log or not decl.on_grid(space.low):
        return False
    ratio = space.step / decl.step
    return abs(ratio - round(ratio)) <= _TOLERANCE * max(1.0, ratio) and round(ratio) >= 1
