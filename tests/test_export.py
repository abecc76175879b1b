"""LaTeX and Markdown tables of a comparison, on a small hand-made summary."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from rnnstudy.results import _export as export
from rnnstudy.stats import compare


def summary() -> pd.DataFrame:
    """Four points: the best, a tie, a worse one and a tie that could not be tested; with the
    hyperparameters c_1 and lr% (names LaTeX must escape) as columns."""
    frame = pd.DataFrame(
        {
            "n": [5, 5, 5, 1],
            "mean": [0.5593, 0.5571, 0.5012, 0.5580],
            "ci_low": [0.5553, 0.5521, 0.4982, math.nan],
            "ci_high": [0.5633, 0.5621, 0.5042, math.nan],
            "diff": [0.0, -0.0022, -0.0581, -0.0010],
            "diff_low": [math.nan, -0.0062, -0.0611, math.nan],
            "diff_high": [math.nan, 0.0018, -0.0551, math.nan],
            "p": [math.nan, 0.21, 0.0004, math.nan],
            "verdict": ["best", "tie", "worse", "tie"],
            "c_1": [90, 70, 10, 90],
            "lr%": [40, 100, 20, 60],
        },
        index=pd.Index(["c_1=90 lr%=40", "c_1=70 lr%=100", "c_1=10 lr%=20", "c_1=90 lr%=60"], name="point"),
    )
    frame.attrs["alpha"] = 0.05
    return frame


def test_latex_table():
    text = export.latex(summary(), ["c_1", "lr%"], caption="Accuracy & cost #1", metric="val_accuracy")
    lines = text.splitlines()
    assert lines[0] == "\\begin{table}[htbp]" and lines[-1] == "\\end{table}"
    assert [line for line in lines if line in ("\\toprule", "\\midrule", "\\bottomrule")] == [
        "\\toprule",
        "\\midrule",
        "\\bottomrule",
    ]
    assert "\\caption{Accuracy \\& cost \\#1}" in lines
    assert "c\\_1 & lr\\% & $n$ & val\\_accuracy (mean $\\pm$ CI) & $\\Delta$ to best & $p$ \\\\" in lines
    body = lines[lines.index("\\midrule") + 1 : lines.index("\\bottomrule")]
    assert len(body) == 4
    assert body[0] == "\\textbf{90} & \\textbf{40} & 5 & \\textbf{0.559 $\\pm$ 0.004} & -- & -- \\\\"
    assert body[1] == "70 & 100 & 5 & 0.557 $\\pm$ 0.005$^\\dagger$ & $-$0.002 $\\pm$ 0.004 & 0.21 \\\\"
    assert body[2] == "10 & 20 & 5 & 0.501 $\\pm$ 0.003 & $-$0.058 $\\pm$ 0.003 & $<$0.001 \\\\"
    assert body[3] == "90 & 60 & 1 & 0.558$^\\ast$ & $-$0.001 & -- \\\\"  # one seed: no interval, untested
    notes = text[text.index("\\footnotesize") :]
    assert "$^\\dagger$ not distinguishable from the best at $\\alpha = 0.05$" in notes
    assert "$^\\ast$ not tested" in notes and "$\\pm$ = 95\\,\\% CI" in notes


def test_latex_escapes_and_labels_by_point():
    text = export.latex(summary(), label="tab:grid")
    assert "\\label{tab:grid}" in text and "\\caption" not in text
    assert "\\textbf{c\\_1=90 lr\\%=40}" in text  # the point's label, escaped, bold
    assert export.latex_escape("a_b %c &d #e $f {g} ~h ^i \\j") == (
        "a\\_b \\%c \\&d \\#e \\$f \\{g\\} \\textasciitilde{}h \\textasciicircum{}i \\textbackslash{}j"
    )


def test_markdown_table():
    text = export.markdown(summary(), ["c_1", "lr%"], metric="val_accuracy")
    lines = text.splitlines()
    assert lines[0] == "| c_1 | lr% | n | val_accuracy (mean ± CI) | Δ to best | p |"
    assert lines[1] == "|---|---|---:|---:|---:|---:|"
    assert lines[2] == "| **90** | **40** | 5 | **0.559 ± 0.004** | – | – |"
    assert lines[3] == "| 70 | 100 | 5 | 0.557 ± 0.005† | -0.002 ± 0.004 | 0.21 |"
    assert lines[4] == "| 10 | 20 | 5 | 0.501 ± 0.003 | -0.058 ± 0.003 | <0.001 |"
    assert lines[5] == "| 90 | 60 | 1 | 0.558* | -0.001 | – |"
    assert "† = not distinguishable from the best at α = 0.05" in text
    assert "* = not tested" in text and "± = 95 % CI" in text
    by_point = export.markdown(summary().rename(index={"c_1=90 lr%=40": "a|b"}))
    assert "| **a\\|b** |" in by_point  # a pipe in a label does not break the table


def test_pivots():
    table = summary()
    latex = export.pivot_latex(table, "c_1", "lr%", caption="grid", metric="val_accuracy")
    lines = latex.splitlines()
    assert {"\\toprule", "\\midrule", "\\bottomrule"} <= set(lines)
    assert "c\\_1 $\\backslash$ lr\\% & 20 & 40 & 60 & 100 \\\\" in lines
    assert "10 & 0.501 $\\pm$ 0.003 & -- & -- & -- \\\\" in lines  # missing combinations: --
    assert "70 & -- & -- & -- & 0.557 $\\pm$ 0.005$^\\dagger$ \\\\" in lines
    assert "90 & -- & \\textbf{0.559 $\\pm$ 0.004} & 0.558$^\\ast$ & -- \\\\" in lines
    markdown = export.pivot_markdown(table, "c_1", "lr%", metric="val_accuracy")
    rows = markdown.splitlines()
    assert rows[0] == "| c_1 \\\\ lr% | 20 | 40 | 60 | 100 |"
    assert rows[4] == "| 90 | – | **0.559 ± 0.004** | 0.558* | – |"
    assert "val_accuracy: mean ± CI; c_1 down, lr% across" in markdown
    with pytest.raises(export.ExportError, match="more than one point per c_1 and c_1"):
        export.pivot_markdown(table, "c_1", "c_1")
    with pytest.raises(export.ExportError, match="lacks the columns depth"):
        export.pivot_latex(table, "c_1", "depth")


def test_a_real_comparison_with_its_parameters():
    scores = pd.DataFrame(
        [
            (f"c1={c1} c2={c2}", seed, 0.5 + c1 / 1000 + c2 / 10000 + 0.002 * ((seed * 7 + c1) % 5))
            for c1 in (10, 90)
            for c2 in (20, 40)
            for seed in range(5)
        ],
        columns=["point", "seed", "value"],
    )
    result = compare(scores, lower_is_better=False, alpha=0.01)
    params = {p: dict(part.split("=") for part in p.split()) for p in result.table.index}
    table = export.with_params(result.frame(), params)
    assert list(table.columns[-2:]) == ["c1", "c2"] and table.attrs["alpha"] == 0.01
    text = export.markdown(table, ["c1", "c2"])
    assert "| **90** | **40** |" in text and "± = 99 % CI" in text  # alpha from the frame
    row = [line for line in export.pivot_latex(table, "c1", "c2").splitlines() if line.startswith("90 & ")]
    assert row and row[0].endswith("& \\textbf{0.598 $\\pm$ 0.007} \\\\")  # c2=40: the last column


def test_a_point_without_a_value_gets_a_dash_row_not_a_nan_column():
    """Seed 001's pivot model × input_encoding: the NumPy RNN has no input_encoding."""
    table = (
        summary().iloc[:3].assign(model=["rnn", "rnn", "numpy"], encoding=["one_hot", "embedding", math.nan])
    )
    rows = export.pivot_markdown(table, "model", "encoding", metric="val_accuracy").splitlines()

    assert rows[0] == "| model \\\\ encoding | embedding | one_hot | – |"
    assert rows[2] == "| numpy | – | – | 0.501 ± 0.003 |"
    assert rows[3] == "| rnn | 0.557 ± 0.005† | **0.559 ± 0.004** | – |"
