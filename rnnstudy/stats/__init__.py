"""The statistics of a verdict, over seeds: which point is best and which cannot be told apart
from it (comparison), which points make the front of several objectives (pareto), racing that
spends seeds only where they can change the answer (racing), how many seeds a difference needs
(power), and how the numbers are written (formatting).

Every test is from :mod:`scipy.stats`; this package decides what is compared with what, and how
the family of tests is corrected."""

from rnnstudy._lazy import exports

__all__ = [
    "ALPHA",
    "COLUMNS",
    "FAMILIES",
    "POWER",
    "Comparison",
    "Front",
    "RaceStep",
    "Separation",
    "StatisticsError",
    "check_race",
    "compare",
    "decimals",
    "format_p",
    "friedman",
    "holm",
    "mean_pm",
    "paired_power",
    "pareto",
    "race_step",
    "race_verdicts",
    "repeats_to_separate",
    "shown_verdicts",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "ALPHA": "rnnstudy.stats._power",
        "COLUMNS": "rnnstudy.stats._comparison",
        "FAMILIES": "rnnstudy.stats._comparison",
        "POWER": "rnnstudy.stats._power",
        "Comparison": "rnnstudy.stats._comparison",
        "Front": "rnnstudy.stats._pareto",
        "RaceStep": "rnnstudy.stats._racing",
        "Separation": "rnnstudy.stats._power",
        "StatisticsError": "rnnstudy.errors",
        "check_race": "rnnstudy.stats._racing",
        "compare": "rnnstudy.stats._comparison",
        "decimals": "rnnstudy.stats._formatting",
        "format_p": "rnnstudy.stats._formatting",
        "friedman": "rnnstudy.stats._comparison",
        "holm": "rnnstudy.stats._comparison",
        "mean_pm": "rnnstudy.stats._formatting",
        "paired_power": "rnnstudy.stats._power",
        "pareto": "rnnstudy.stats._pareto",
        "race_step": "rnnstudy.stats._racing",
        "race_verdicts": "rnnstudy.stats._racing",
        "repeats_to_separate": "rnnstudy.stats._power",
        "shown_verdicts": "rnnstudy.stats._formatting",
    },
)
