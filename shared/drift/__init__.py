"""Drift statistics shared by the stream (window panes) and the report: pure functions over binned
distributions whose edges come from the bundle's `baseline.json` (shared/reference.py)."""
