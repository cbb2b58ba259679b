"""Planning studies: variants of a scenario over many seeds, run on Dask, compared with intervals.

`variants` (what a variant changes), `runs` (one run on a worker and its
figures), `cluster` (the runs on Dask distributed), `stats` (means, paired
differences, 95 % intervals), `summary` (the statistics and findings of a
study), `report` (the comparison's report.html). docs/planning.md.
"""
