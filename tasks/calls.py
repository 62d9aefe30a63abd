"""How a chain of steps is called, so that a chain is written once and runs either way: as
Prefect tasks (inside a flow: each step a task run, recorded by the Prefect API) or as their
plain functions (`task.fn`: no API needed, nothing started).

The data steps are `Step`s: a plain function that becomes a Prefect task only when first used as
one, so that running them as plain functions (`tempcast prepare` without an API, the CLI's
checks before a flow) never imports Prefect (two to three seconds of start-up).
"""

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prefect import Task

Call = Callable[..., Any]


class Step:
    """A pipeline step: its plain function as `fn`, and a Prefect task (no cache: steps read
    files and write outputs) made on first use as one: calling it, or any Task attribute
    (`submit`, `map`, `with_options`, `retries`, ...)."""

    def __init__(self, fn: Callable[..., Any], name: str) -> None:
        self.fn = fn
        self.name = name
        functools.update_wrapper(self, fn)

    @functools.cached_property
    def task(self) -> "Task":
        """The Prefect task of this step, made (and Prefect imported) on first use."""
        from prefect import task
        from prefect.cache_policies import NO_CACHE

        return task(self.fn, name=self.name, cache_policy=NO_CACHE)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the step as a Prefect task: a task run of the current flow run."""
        return self.task(*args, **kwargs)

    def __getattr__(self, attribute: str) -> Any:
        """Anything else a Prefect task has, from the task."""
        if attribute.startswith("__") or attribute in ("fn", "name"):
            raise AttributeError(attribute)  # not set yet: copying or unpickling
        return getattr(self.task, attribute)


def step(name: str) -> Callable[[Callable[..., Any]], Step]:
    """Make a function a Step named `name` (its task run's name in Prefect)."""
    return lambda fn: Step(fn, name)


def as_task(step: "Task | Step", /, *args: Any, **kwargs: Any) -> Any:
    """Call a step as a Prefect task: a task run of the current flow run."""
    return step(*args, **kwargs)


def as_function(step: "Task | Step", /, *args: Any, **kwargs: Any) -> Any:
    """Call a step's plain function: no task run, no Prefect API."""
    return step.fn(*args, **kwargs)
