"""Temporal workflows. One module per workflow, its contract beside it."""
