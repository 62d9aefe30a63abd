"""Prefect flows that chain the tasks, and the `tempcast` command line."""

import tasks  # noqa: F401  (switches telemetry off before Prefect or MLflow is imported)
