"""How the statistics are written: means with their interval, p-values, verdicts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def decimals(half_width: float, fallback: int = 3) -> int:
    """Decimals that show a CI half-width to one significant digit (two when it starts with 1)."""
    if not np.isfinite(half_width) or half_width <= 0:
        return fallback
    exponent = math.floor(math.log10(half_width))
    leading = half_width / 10.0**exponent
    places = -exponent + (1 if leading < 1.95 else 0)
    return max(0, min(places, 10))


def mean_pm(mean: float, low: float, high: float, places: int | None = None, pm: str = " ± ") -> str:
    """``0.559 ± 0.004``: a mean and its interval's half-width; the mean alone without one."""
    half = (high - low) / 2 if np.isfinite(low) and np.isfinite(high) else math.nan
    if not np.isfinite(half):
        return number(mean) if places is None else f"{mean:.{places}f}"
    if places is None:
        places = decimals(half)
    return f"{mean:.{places}f}{pm}{half:.{places}f}"


def shown_verdicts(table: pd.DataFrame) -> pd.Series:
    """The verdicts as people read them: a "tie" that no test backs (fewer than two seeds in
    common with the best, so no p) is "untested"."""
    p = table["p"] if "p" in table else pd.Series(np.nan, index=table.index)
    return table["verdict"].where(~((table["verdict"] == "tie") & p.isna()), "untested")


def format_p(p: float) -> str:
    """``0.21``, ``0.004``, ``<0.001``; ``untested`` for NaN."""
    if not np.isfinite(p):
        return "untested"
    if p < 0.001:
        return "<0.001"
    if p < 0.01:
        return f"{p:.3f}"
    return f"{p:.2f}"


def p_phrase(p: float) -> str:
    text = format_p(p)
    return text if text == "untested" else ("p" + text if text.startswith("<") else f"p={text}")


def number(x: float) -> str:
    return f"{x:.4g}" if np.isfinite(x) else "nan"


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
