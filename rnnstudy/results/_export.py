"""A comparison of repeated runs as a table for a paper or a README: LaTeX (booktabs) or Markdown.

The input is the per-point frame of :func:`rnnstudy.stats` (``Comparison.frame()``:
indexed by point, with n, mean, ci_low, ci_high, diff, diff_low, diff_high, p, verdict), with
the points' hyperparameters as extra columns when the rows should show them
(:func:`with_params` adds them). Every rendering shows the mean ± the half-width of its CI; the
best point is bold, a point not distinguishable from it carries a dagger (an asterisk when it
could not be tested), and notes under the table say what the marks, ± and p mean:

- :func:`latex` / :func:`markdown`: a row per point, in the frame's order (best first);
- :func:`pivot_latex` / :func:`pivot_markdown`: two hyperparameters as rows x columns, a cell
  per point (mean ± CI).

The LaTeX needs ``\\usepackage{booktabs}``. Labels, headers and captions are escaped
(``_ % & # $ { } ~ ^ \\``); ``label`` is a ``\\label`` key, used as given.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rnnstudy.errors import RnnstudyError
from rnnstudy.stats import ALPHA, decimals, format_p, mean_pm, shown_verdicts

LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
NEEDED = ("n", "mean", "ci_low", "ci_high", "verdict")
DAGGER, UNTESTED = "†", "*"  # Markdown marks; LaTeX: $^\dagger$, $^\ast$
LATEX_MARKS = {DAGGER: r"$^\dagger$", UNTESTED: r"$^\ast$", "": ""}
MARKS = {"tie": DAGGER, "untested": UNTESTED}  # by the verdict shown (statistics.shown_verdicts)


class ExportError(RnnstudyError):
    """The summary cannot be rendered as asked (a missing column, a pivot with two points a cell)."""


def latex_escape(text: Any) -> str:
    """``text`` with LaTeX's special characters escaped."""
    return "".join(LATEX_SPECIAL.get(c, c) for c in str(text))


def markdown_escape(text: Any) -> str:
    """``text`` safe inside a Markdown table cell (``|`` escaped, no line breaks)."""
    return str(text).replace("|", r"\|").replace("\n", " ")


def with_params(summary: pd.DataFrame, params: Mapping[Hashable, Mapping[str, Any]]) -> pd.DataFrame:
    """The summary with each point's hyperparameters as columns (``params``: point -> values)."""
    extra = pd.DataFrame.from_dict({p: dict(v) for p, v in params.items()}, orient="index")
    joined = summary.join(extra.reindex(summary.index))
    joined.attrs = dict(summary.attrs)
    return joined


@dataclass
class _Cell:
    """One point as a table shows it."""

    names: list[Any]  # what names the point: its label, or its hyperparameters
    n: int
    value: str  # "0.559 ± 0.004"
    diff: str  # "−0.003 ± 0.002", "–" for the best
    p: str
    best: bool
    mark: str  # DAGGER, UNTESTED or ""


@dataclass
class _Note:
    markdown: str
    latex: str


# --- a row per point -----------------------------------------------------------------------


def latex(
    summary: pd.DataFrame,
    columns: Sequence[str] | None = None,
    caption: str = "",
    metric: str = "value",
    label: str | None = None,
    alpha: float | None = None,
) -> str:
    """A booktabs table: the ``columns`` that name a point (default: its label), n, the mean ±
    CI, the difference to the best ± its CI, and the Holm-corrected p."""
    names, cells, notes = _rows(summary, columns, alpha)
    header = [latex_escape(c) for c in names]
    header += ["$n$", f"{latex_escape(metric)} (mean $\\pm$ CI)", "$\\Delta$ to best", "$p$"]
    lines = _latex_head(caption, label, "l" * len(names) + "rrrr", header)
    for cell in cells:
        row = [latex_escape(v) for v in cell.names]
        value = _latex_pm(cell.value)
        if cell.best:
            row = [f"\\textbf{{{c}}}" for c in row]
            value = f"\\textbf{{{value}}}"
        row += [str(cell.n), value + LATEX_MARKS[cell.mark], _latex_pm(cell.diff), _latex_pm(cell.p)]
        lines.append(" & ".join(row) + " \\\\")
    return _latex_foot(lines, notes)


def markdown(
    summary: pd.DataFrame,
    columns: Sequence[str] | None = None,
    metric: str = "value",
    alpha: float | None = None,
) -> str:
    """The same table in Markdown: the best row in **bold**, ties with †, the notes below."""
    names, cells, notes = _rows(summary, columns, alpha)
    header = [markdown_escape(c) for c in names] + ["n", f"{markdown_escape(metric)} (mean ± CI)"]
    header += ["Δ to best", "p"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(names) + "---:|---:|---:|---:|"]
    for cell in cells:
        row = [markdown_escape(v) for v in cell.names]
        value = cell.value
        if cell.best:
            row = [f"**{c}**" if str(c) else "" for c in row]
            value = f"**{value}**"
        row += [str(cell.n), value + cell.mark, cell.diff, cell.p]
        lines.append("| " + " | ".join(row) + " |")
    return _markdown_foot(lines, notes)


# --- two hyperparameters as rows x columns --------------------------------------------------


def pivot_latex(
    summary: pd.DataFrame,
    rows: str,
    columns: str,
    caption: str = "",
    metric: str = "value",
    label: str | None = None,
    alpha: float | None = None,
) -> str:
    """Mean ± CI of every point, ``rows`` down and ``columns`` across (booktabs)."""
    across, grid, notes = _grid(summary, rows, columns, metric, alpha)
    header = [f"{latex_escape(rows)} $\\backslash$ {latex_escape(columns)}", *map(latex_escape, across)]
    lines = _latex_head(caption, label, "l" + "r" * len(across), header)
    for down, line in grid:
        rendered = []
        for cell in line:
            if cell is None:
                rendered.append("--")
                continue
            text = _latex_pm(cell.value)
            rendered.append((f"\\textbf{{{text}}}" if cell.best else text) + LATEX_MARKS[cell.mark])
        lines.append(" & ".join([latex_escape(down), *rendered]) + " \\\\")
    return _latex_foot(lines, notes)


def pivot_markdown(
    summary: pd.DataFrame,
    rows: str,
    columns: str,
    metric: str = "value",
    alpha: float | None = None,
) -> str:
    """The same pivot in Markdown."""
    across, grid, notes = _grid(summary, rows, columns, metric, alpha)
    header = [f"{markdown_escape(rows)} \\\\ {markdown_escape(columns)}", *map(markdown_escape, across)]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * len(across)]
    for down, line in grid:
        rendered = [
            "–" if cell is None else (f"**{cell.value}**" if cell.best else cell.value) + cell.mark
            for cell in line
        ]
        lines.append("| " + " | ".join([markdown_escape(down), *rendered]) + " |")
    return _markdown_foot(lines, notes)


# --- shared -----------------------------------------------------------------------------------


def _checked(summary: pd.DataFrame, needed: Sequence[str]) -> None:
    missing = [c for c in needed if c not in summary.columns]
    if missing:
        raise ExportError(
            f"the summary lacks the columns {', '.join(missing)}; it has {', '.join(map(str, summary.columns))}"
            " (give Comparison.frame(), with the hyperparameters joined by with_params)"
        )


def _places(summary: pd.DataFrame) -> int:
    """One number of decimals for the whole table: enough for its narrowest interval."""
    half = ((summary["ci_high"] - summary["ci_low"]) / 2).to_numpy(dtype=float)
    half = half[np.isfinite(half) & (half > 0)]
    if len(half):
        return decimals(float(half.min()))
    size = summary["mean"].abs().to_numpy(dtype=float)
    size = size[np.isfinite(size) & (size > 0)]
    return max(0, 3 - int(np.floor(np.log10(size.max())))) if len(size) else 3


def _pm(mean: float, low: float, high: float, places: int) -> str:
    if not np.isfinite(mean):
        return "–"
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{mean:.{places}f}"
    return f"{mean:.{places}f} ± {(high - low) / 2:.{places}f}"


def _latex_pm(text: str) -> str:
    """A cell's text in LaTeX: $\\pm$, a real minus sign, an en dash, a math-mode <."""
    text = text.replace(" ± ", " $\\pm$ ").replace("–", "--").replace("<", "$<$")
    return text[:1].replace("-", "$-$") + text[1:] if not text.startswith("--") else text


def _cell(row: pd.Series, names: list[Any], places: int, shown: str) -> _Cell:
    best = row["verdict"] == "best"
    if best:
        diff = "–"
    elif {"diff", "diff_low", "diff_high"} <= set(row.index):
        diff = _pm(row["diff"], row["diff_low"], row["diff_high"], places)
    else:
        diff = ""
    p = "–" if best or pd.isna(row.get("p", np.nan)) else format_p(row["p"])
    value = _pm(row["mean"], row["ci_low"], row["ci_high"], places)
    names = ["" if isinstance(v, float) and np.isnan(v) else v for v in names]  # not this point's
    return _Cell(names, int(row["n"]), value, diff, p, best, MARKS.get(shown, ""))


def _notes(cells: list[_Cell], alpha: float, first: _Note) -> list[_Note]:
    level = f"{(1 - alpha) * 100:g}"
    notes = [
        first,
        _Note(
            f"± = {level} % CI of the mean (t interval); **bold** = the best point",
            f"$\\pm$ = {level}\\,\\% CI of the mean ($t$ interval); \\textbf{{bold}} = the best point",
        ),
    ]
    if any(c.mark == DAGGER for c in cells):
        notes.append(
            _Note(
                f"† = not distinguishable from the best at α = {alpha:g} (paired t-test, Holm-corrected)",
                f"$^\\dagger$ not distinguishable from the best at $\\alpha = {alpha:g}$ "
                "(paired $t$-test, Holm-corrected)",
            )
        )
    if any(c.mark == UNTESTED for c in cells):
        notes.append(
            _Note(
                "* = not tested: fewer than two seeds in common with the best",
                "$^\\ast$ not tested: fewer than two seeds in common with the best",
            )
        )
    return notes


def _rows(
    summary: pd.DataFrame, columns: Sequence[str] | None, alpha: float | None
) -> tuple[list[str], list[_Cell], list[_Note]]:
    _checked(summary, [*NEEDED, *(columns or [])])
    places = _places(summary)
    names = list(columns) if columns else [summary.index.name or "point"]
    shown = shown_verdicts(summary)
    cells = [
        _cell(row, [row[c] for c in columns] if columns else [point], places, shown[point])
        for point, row in summary.iterrows()
    ]
    first = _Note(
        "Δ = point − best, paired on the seeds both have, with its interval (not adjusted for "
        "the comparisons); p = paired t-test against the best, Holm-corrected (it decides)",
        "$\\Delta$ = point $-$ best, paired on the seeds both have, with its interval (not adjusted "
        "for the comparisons); $p$ = paired $t$-test against the best, Holm-corrected (it decides)",
    )
    level = float(alpha if alpha is not None else summary.attrs.get("alpha", ALPHA))
    return names, cells, _notes(cells, level, first)


def _sorted(values: pd.Series) -> list:
    unique = list(dict.fromkeys(values.tolist()))
    try:
        return sorted(unique)
    except TypeError:
        return sorted(unique, key=str)


def _grid(
    summary: pd.DataFrame, rows: str, columns: str, metric: str, alpha: float | None
) -> tuple[list, list[tuple[Any, list[_Cell | None]]], list[_Note]]:
    _checked(summary, [*NEEDED, rows, columns])
    # a point without the value (the NumPy RNN has no input_encoding) gets a "–" row or column
    summary = summary.assign(
        **{c: summary[c].astype(object).where(summary[c].notna(), "–") for c in (rows, columns)}
    )
    if summary.duplicated([rows, columns]).any():
        raise ExportError(
            f"more than one point per {rows} and {columns}: a pivot needs one per cell;"
            " pivot on two hyperparameters that together name every point"
        )
    places = _places(summary)
    shown = shown_verdicts(summary)
    by_pair = {(r[rows], r[columns]): _cell(r, [], places, shown[i]) for i, r in summary.iterrows()}
    across = _sorted(summary[columns])
    grid = [(down, [by_pair.get((down, a)) for a in across]) for down in _sorted(summary[rows])]
    cells = [c for c in by_pair.values()]
    first = _Note(
        f"{metric}: mean ± CI; {rows} down, {columns} across",
        f"{latex_escape(metric)}: mean $\\pm$ CI; {latex_escape(rows)} down, {latex_escape(columns)} across",
    )
    level = float(alpha if alpha is not None else summary.attrs.get("alpha", ALPHA))
    return across, grid, _notes(cells, level, first)


def _latex_head(caption: str, label: str | None, spec: str, header: list[str]) -> list[str]:
    return [
        "\\begin{table}[htbp]",
        "\\centering",
        *([f"\\caption{{{latex_escape(caption)}}}"] if caption else []),
        *([f"\\label{{{label}}}"] if label else []),
        f"\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        " & ".join(header) + " \\\\",
        "\\midrule",
    ]


def _latex_foot(lines: list[str], notes: list[_Note]) -> str:
    lines = [*lines, "\\bottomrule", "\\end{tabular}", "\\par\\smallskip"]
    lines.append("{\\footnotesize " + "\\\\\n".join(n.latex for n in notes) + "}")
    lines.append("\\end{table}")
    return "\n".join(lines) + "\n"


def _markdown_foot(lines: list[str], notes: list[_Note]) -> str:
    return "\n".join(lines) + "\n\n" + "  \n".join(n.markdown for n in notes) + "\n"


# --- several objectives: the Pareto front ---------------------------------------------------


def front_rows(front) -> pd.DataFrame:
    """The front's table for people (rnnstudy.stats.Front): per point, n, each objective's mean
    ± CI, its status and the points that dominate it (significantly, else by the means)."""
    table = front.table
    shown = pd.DataFrame(index=table.index)
    shown["n"] = table["n"].astype(int).astype(str)
    for name in front.objectives:
        shown[f"{name} (mean ± CI)"] = [
            f"{m:g}" if lo == hi else mean_pm(m, lo, hi)  # exact (params): no interval to show
            for m, lo, hi in zip(table[name], table[f"{name}_low"], table[f"{name}_high"])
        ]
    shown["status"] = ["possibly on the front" if s == "possibly" else s for s in table["status"]]
    shown["dominated by"] = [
        ", ".join(map(str, by if status == "dominated" else behind))
        for by, behind, status in zip(table["dominated_by"], table["behind"], table["status"])
    ]
    return shown


def front_latex(front, caption: str = "", label: str | None = None) -> str:
    """A booktabs table of the front: a row per point, the points on it in bold."""
    shown = front_rows(front)
    header = ["point", *(latex_escape(c).replace("±", "$\\pm$") for c in shown.columns)]
    lines = _latex_head(caption, label, "l" + "r" * (len(shown.columns) - 2) + "ll", header)
    for point, row in shown.iterrows():
        cells = [latex_escape(point), *(latex_escape(v).replace("±", "$\\pm$") for v in row)]
        if front.table.at[point, "status"] == "front":
            cells = [f"\\textbf{{{c}}}" if c else c for c in cells]
        lines.append(" & ".join(cells) + " \\\\")
    lines = [*lines, "\\bottomrule", "\\end{tabular}", "\\par\\smallskip"]
    lines += ["{\\footnotesize " + latex_escape(front.legend).replace("±", "$\\pm$") + "}", "\\end{table}"]
    return "\n".join(lines) + "\n"


def front_markdown(front) -> str:
    """The front in Markdown: the points on it in **bold**, the legend below."""
    shown = front_rows(front)
    header = ["point", *map(markdown_escape, shown.columns)]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(shown.columns) - 2) + "---|---|"]
    for point, row in shown.iterrows():
        cells = [markdown_escape(point), *(markdown_escape(v) for v in row)]
        if front.table.at[point, "status"] == "front":
            cells = [f"**{c}**" if c else c for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n" + markdown_escape(front.legend) + "\n"
