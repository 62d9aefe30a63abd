"""Tracking stage: the only package that talks to MLflow (store, runs, ownership, registry)."""
