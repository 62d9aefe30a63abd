"""Failures of some units: collected from the futures of fanned-out tasks, reported together."""

import time
from collections.abc import Callable
from dataclasses import dataclass

from prefect.futures import PrefectFuture

from tasks.errors import InfrastructureError


class LocationsFailed(InfrastructureError):
    """Some locations failed; carries the reasons and the results of those that finished, as
    the text to show before the error."""

    def __init__(self, failures: dict[str, str], finished: str) -> None:
        by_reason: dict[str, list[str]] = {}
        for name, reason in failures.items():
            by_reason.setdefault(reason, []).append(name)
        reasons = "; ".join(f"{', '.join(names)}: {reason}" for reason, names in by_reason.items())
        super().__init__(f"{len(failures)} location(s) failed: {reasons}")
        self.failures = failures
        self.finished = finished


@dataclass(frozen=True)
class Outcome:
    """A finished future's result, or why it failed."""

    result: object | None
    failure: str | None


def outcome(future: PrefectFuture) -> Outcome:
    """Wait for a future: its result, or the reason it failed."""
    try:
        return Outcome(future.result(), None)
    except Exception as error:
        return Outcome(None, f"{type(error).__name__}: {error}")


def milestone(number: int, total: int, steps: int = 10) -> bool:
    """Whether `number` of `total` crosses one of `steps` even marks (and always the last), so
    that progress is logged about ten times however many units there are."""
    return number == total or number * steps // total != (number - 1) * steps // total


class Progress:
    """`step: k of N locations done (s)`, logged about ten times as units finish, however
    many batches they are collected in."""

    def __init__(self, step: str, total: int, log: Callable[[str], None]) -> None:
        self.step, self.total, self.log = step, total, log
        self.finished, self.started = 0, time.monotonic()

    def advance(self) -> None:
        """One more unit finished (or failed)."""
        self.finished += 1
        if milestone(self.finished, self.total):
            elapsed = f"{time.monotonic() - self.started:.0f} s"
            self.log(f"{self.step}: {self.finished} of {self.total} locations done ({elapsed})")


def collect(
    names: list[str],
    futures: list[PrefectFuture],
    failures: dict[str, str],
    step: str,
    progress: Progress | None = None,
) -> dict:
    """The results of per-location futures; a failed one adds `step failed: reason` to
    `failures` (unless the location already failed earlier). With `progress`, it advances as
    they finish."""
    results = {}
    for name, future in zip(names, futures, strict=True):
        done = outcome(future)
        if done.failure is not None:
            failures.setdefault(name, f"{step} failed: {done.failure}")
        else:
            results[name] = done.result
        if progress is not None:
            progress.advance()
    return results
