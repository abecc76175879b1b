"""Durations as people write them (``--budget 1h30m``, ``checkpoint_every="10m"``) and read them."""

from __future__ import annotations

import re

from rnnstudy.errors import RnnstudyError

UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)([dhms])")
FORMS = "a number and a unit d, h, m or s, e.g. 90s, 45m, 2h, 1h30m, 1.5h, 2d"


class DurationError(RnnstudyError):
    """A value that should be a duration is not one."""


def parse_duration(text: str, name: str = "--budget") -> float:
    """Seconds of a duration (``name`` is what the user gave it as) such as ``90s``, ``45m``, ``2h``, ``1h30m``, ``1.5h`` or ``2d``.

    Raises:
        DurationError: not a positive duration in those forms.
    """
    compact = re.sub(r"\s+", "", str(text)).lower()
    parts = DURATION.findall(compact)
    units = [unit for _, unit in parts]
    in_order = units == sorted(set(units), key="dhms".index)  # each unit once, largest first
    seconds = sum(float(number) * UNIT_SECONDS[unit] for number, unit in parts)
    if not compact or "".join(n + u for n, u in parts) != compact or not in_order or seconds <= 0:
        raise DurationError(f"{name} {text!r} is not a positive duration: use {FORMS}")
    return seconds


def human(seconds: float) -> str:
    """A duration to read at a glance: ``3 d 4 h``, ``41 h``, ``4 h 10 m``, ``2 m 30 s``, ``40 s``."""
    if seconds < 0.5:
        return "< 1 s"
    # round to the resolution shown first, so that 59.7 s reads "1 m", not "60 s"
    step = 1 if seconds < 60 else 10 if seconds < 600 else 60 if seconds < 10 * 3600 else 3600
    total = round(seconds / step) * step
    days, rest = divmod(total, 86400) if total >= 72 * 3600 else (0, total)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return " ".join(
        f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if n
    )
