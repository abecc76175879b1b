"""The statistics of a verdict, over seeds: which point is best and which cannot be told apart
from it (comparison), racing that spends seeds only where they can change the answer (racing),
how many seeds a difference needs (power), and how the numbers are written (formatting).

Every test is from :mod:`scipy.stats`; this package decides what is compared with what, and how
the family of tests is corrected."""

from rnnstudy._lazy import exports

__all__ = [
    "ALPHA",
    "COLUMNS",
    "FAMILIES",
    "POWER",
    "Comparison",
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
    "race_step",
    "repeats_to_separate",
    "shown_verdicts",
]
__getattr__, __dir__ = exports(
    __name__,
    {
        "ALPHA": "rnnstudy.stats.power",
        "COLUMNS": "rnnstudy.stats.comparison",
        "FAMILIES": "rnnstudy.stats.comparison",
        "POWER": "rnnstudy.stats.power",
        "Comparison": "rnnstudy.stats.comparison",
        "RaceStep": "rnnstudy.stats.racing",
        "Separation": "rnnstudy.stats.power",
        "StatisticsError": "rnnstudy.errors",
        "check_race": "rnnstudy.stats.racing",
        "compare": "rnnstudy.stats.comparison",
        "decimals": "rnnstudy.stats.formatting",
        "format_p": "rnnstudy.stats.formatting",
        "friedman": "rnnstudy.stats.comparison",
        "holm": "rnnstudy.stats.comparison",
        "mean_pm": "rnnstudy.stats.formatting",
        "paired_power": "rnnstudy.stats.power",
        "race_step": "rnnstudy.stats.racing",
        "repeats_to_separate": "rnnstudy.stats.power",
        "shown_verdicts": "rnnstudy.stats.formatting",
    },
)
