"""The statistics of a verdict, over seeds: which point is best and which cannot be told apart
from it (comparison), racing that spends seeds only where they can change the answer (racing),
how many seeds a difference needs (power), and how the numbers are written (formatting).

Every test is from :mod:`scipy.stats`; this package decides what is compared with what, and how
the family of tests is corrected."""

from rnnstudy.errors import StatisticsError
from rnnstudy.stats.comparison import COLUMNS, FAMILIES, Comparison, compare, friedman, holm
from rnnstudy.stats.formatting import decimals, format_p, mean_pm, shown_verdicts
from rnnstudy.stats.power import ALPHA, POWER, Separation, paired_power, repeats_to_separate
from rnnstudy.stats.racing import RaceStep, check_race, race_step

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
