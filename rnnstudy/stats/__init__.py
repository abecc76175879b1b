"""The statistics of a verdict: paired tests between points over seeds, racing, and how
numbers are written."""
