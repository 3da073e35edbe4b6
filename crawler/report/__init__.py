"""Decline analytics: the report's arithmetic on store answers, the same for every backend.

loader.py    a window's runs, hits and documents (with `--rematch` and `--confirmed` applied)
coverage.py  breakdowns with pages, hit rates and coverage flags
search.py    the search headline: matched results among the top N per query
items.py     verification timeline: clean-up figures and the domain league table
series.py    per-run figures for the charts
spikes.py    spike and failure-streak alerts
html.py, svg.py, csv_export.py   the self-contained HTML report and spreadsheet export
"""
