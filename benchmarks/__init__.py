"""Reproducible performance measurements; each script prints a side-by-side table."""
