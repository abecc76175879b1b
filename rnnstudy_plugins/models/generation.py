"""Generated text, the language models' artifact: continuations of fixed prompts at fixed temperatures.

The prompts are test windows at fixed places (the first, one third in, two thirds in): text
the model never trained on, the same for every trial of a study, always the window length
the model was trained on. Sampling is seeded, so a rerun of a trial writes the same text.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

FILE = "generated_text.txt"
TEMPERATURES = (0.5, 1.0)  # 0.5: the model's safest guesses; 1.0: its own distribution
PROMPTS = 3


def samples(
    predict: Callable[[np.ndarray], np.ndarray],
    data,
    *,
    length: int,
    temperatures=TEMPERATURES,
    prompts: int = PROMPTS,
    seed: int = 0,
) -> list[dict]:
    """``length`` tokens after each prompt at each temperature: [{prompt, temperature, text}].

    Args:
        predict: next-token probabilities (batch, vocabulary) for a batch of id windows.
        data: a text dataset's Data; ``info`` has ``vocabulary`` and ``separator``.
    """
    vocabulary, separator = data.info["vocabulary"], data.info["separator"]
    starts = [len(data.y_test) * k // prompts for k in range(prompts)]
    windows = np.stack([np.asarray(data.x_test[s]) for s in starts for _ in temperatures])
    temps = np.array([t for _ in starts for t in temperatures])
    rng = np.random.default_rng(seed)
    generated = []
    for _ in range(length):  # all prompts and temperatures as one batch: one call per token
        probs = np.asarray(predict(windows), dtype=np.float64)
        chosen = np.array([_sample(p, t, rng) for p, t in zip(probs, temps)], dtype=windows.dtype)
        windows = np.concatenate([windows[:, 1:], chosen[:, None]], axis=1)
        generated.append(chosen)
    tokens = np.stack(generated, axis=1) if generated else np.zeros((len(temps), 0), int)
    return [
        {
            "prompt": separator.join(_decode(vocabulary, data.x_test[starts[i // len(temperatures)]])),
            "temperature": float(temps[i]),
            "text": separator.join(_decode(vocabulary, tokens[i])),
        }
        for i in range(len(temps))
    ]


def write(predict, data, directory: Path, *, length: int, seed: int = 0) -> Path:
    """Write :func:`samples` to ``generated_text.txt`` in ``directory``; return its path."""
    separator = data.info["separator"]
    lines = [
        f"# {length} generated tokens after each prompt (a test window), at temperatures "
        f"{', '.join(map(str, TEMPERATURES))}; the prompt is in [brackets]",
        "",
    ]
    for number, sample in enumerate(samples(predict, data, length=length, seed=seed)):
        lines += [
            f"## sample {number + 1}: temperature {sample['temperature']}",
            f"[{sample['prompt']}]{separator}{sample['text']}",
            "",
        ]
    path = Path(directory) / FILE
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _sample(probs: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """One id drawn from ``probs`` sharpened (T < 1) or flattened (T > 1) by the temperature."""
    logits = np.log(np.maximum(probs, 1e-12)) / temperature
    weights = np.exp(logits - logits.max())
    return int(rng.choice(len(weights), p=weights / weights.sum()))


def _decode(vocabulary, ids) -> list[str]:
    return [vocabulary[int(i)] for i in ids]
