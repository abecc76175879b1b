"""Search spaces a study file declares: ``Int``, ``Float`` and ``Choice`` (a plain list is a Choice)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from rnnstudy.errors import SearchSpaceError
from rnnstudy.keys import SEED


@dataclass(frozen=True)
class Int:
    """Integers from ``low`` to ``high`` inclusive, every ``step``; ``log`` samples on a log scale."""

    low: int
    high: int
    step: int = 1
    log: bool = False

    def check(self, name: str) -> None:
        if self.low > self.high:
            raise SearchSpaceError(
                f"{name}: inverted range Int({self.low}, {self.high}); low must be <= high"
            )
        if self.step < 1:
            raise SearchSpaceError(f"{name}: step {self.step} must be >= 1")
        if self.log and self.low < 1:
            raise SearchSpaceError(f"{name}: a log range needs low >= 1, got {self.low}")

    def values(self) -> list[int]:
        return list(range(self.low, self.high + 1, self.step))

    def suggest(self, trial, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, step=self.step, log=self.log)


@dataclass(frozen=True)
class Float:
    """Floats from ``low`` to ``high``; ``log`` samples on a log scale."""

    low: float
    high: float
    step: float | None = None
    log: bool = False

    def check(self, name: str) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise SearchSpaceError(f"{name}: Float({self.low}, {self.high}) must have finite bounds")
        if self.low > self.high:
            raise SearchSpaceError(
                f"{name}: inverted range Float({self.low}, {self.high}); low must be <= high"
            )
        if self.log and self.low <= 0:
            raise SearchSpaceError(f"{name}: a log range needs low > 0, got {self.low}")

    def values(self) -> list[float]:
        raise SearchSpaceError("a Float range cannot be enumerated for a grid; give a list of values instead")

    def suggest(self, trial, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, step=self.step, log=self.log)


@dataclass(frozen=True)
class Choice:
    """One of ``options`` (numbers, strings, booleans or None)."""

    options: tuple

    def check(self, name: str) -> None:
        if not self.options:
            raise SearchSpaceError(f"{name}: empty list of values; give at least one")
        for value in self.options:
            if value is not None and not isinstance(value, (bool, int, float, str)):
                raise SearchSpaceError(
                    f"{name}: value {value!r} is a {type(value).__name__}; "
                    "allowed: numbers, strings, booleans or None"
                )

    def values(self) -> list:
        return list(self.options)

    def suggest(self, trial, name: str):
        return trial.suggest_categorical(name, list(self.options))


Space = Int | Float | Choice


def as_space(name: str, spec: Any) -> Space:
    """A study's spec for one name as a checked :data:`Space`; a list or tuple is a Choice."""
    if isinstance(spec, (list, tuple)):
        spec = Choice(tuple(spec))
    if not isinstance(spec, (Int, Float, Choice)):
        raise SearchSpaceError(
            f"{name}: {spec!r} is not a search space; use a list of values, Int(low, high) "
            "or Float(low, high)"
        )
    spec.check(name)
    return spec


def grid(spaces: dict[str, Space]) -> list[dict[str, Any]]:
    """Every combination of the spaces' values, in a stable order."""
    names = list(spaces)
    return [dict(zip(names, combo)) for combo in itertools.product(*(spaces[n].values() for n in names))]


def label(point: dict[str, Any]) -> str:
    """A configuration as people read it: ``c1=90 c2=40`` (its seed left out)."""
    return " ".join(f"{k}={v}" for k, v in point.items() if k != SEED) or "the default point"
