"""How a chain of steps is called, so that a chain is written once and runs either way: as
Prefect tasks (inside a flow: each step a task run, recorded by the Prefect API) or as their
plain functions (`task.fn`: no API needed, nothing started)."""

from collections.abc import Callable
from typing import Any

from prefect import Task

Call = Callable[..., Any]


def as_task(step: Task, /, *args: Any, **kwargs: Any) -> Any:
    """Call a step as a Prefect task: a task run of the current flow run."""
    return step(*args, **kwargs)


def as_function(step: Task, /, *args: Any, **kwargs: Any) -> Any:
    """Call a step's plain function: no task run, no Prefect API."""
    return step.fn(*args, **kwargs)
