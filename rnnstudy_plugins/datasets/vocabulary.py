"""Tokens to ids and back, and the next-token windows a language model learns from.

A vocabulary is built from the training split only, so validation and test text can hold
tokens it has never seen: those become the reserved "unknown" id, as they would for a model
in use.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

UNKNOWN_CHAR = "\ufffd"  # one character, so decoded text keeps its length
UNKNOWN_WORD = "<unk>"


@dataclass(frozen=True)
class Vocabulary:
    """Index → token; the reserved tokens (padding, unknown) come first."""

    tokens: tuple[str, ...]
    unknown: str

    @classmethod
    def build(cls, tokens: Iterable[str], *, unknown: str, reserved: Sequence[str] = ()) -> Vocabulary:
        """The sorted distinct ``tokens`` after ``reserved`` and ``unknown`` (in that order)."""
        first = (*reserved, unknown)
        return cls((*first, *sorted(set(tokens) - set(first))), unknown)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Ids as the smallest unsigned type that holds them; unseen tokens become ``unknown``."""
        index = {token: i for i, token in enumerate(self.tokens)}
        missing = index[self.unknown]
        return np.fromiter((index.get(t, missing) for t in tokens), dtype=self.dtype)

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.tokens[int(i)] for i in ids]

    @property
    def dtype(self):
        return np.uint8 if len(self) <= 256 else np.int32


def next_token_windows(ids: np.ndarray, length: int, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Every ``length`` consecutive ids (x) and the id after them (y), starting every ``stride``.

    x is a read-only view into ``ids``: a million windows cost no memory until a batch is taken.
    """
    if len(ids) <= length:
        return np.empty((0, length), ids.dtype), np.empty((0,), np.int64)
    x = np.lib.stride_tricks.sliding_window_view(ids[:-1], length)[::stride]
    y = ids[length::stride].astype(np.int64)
    return x, y
