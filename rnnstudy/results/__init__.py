"""What a study shows: the report read back from the stores, its files and figures, and
export to LaTeX and other tools."""
