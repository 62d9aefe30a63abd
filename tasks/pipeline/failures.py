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


def collect(
    names: list[str],
    futures: list[PrefectFuture],
    failures: dict[str, str],
    step: str,
    log: Callable[[str], None] | None = None,
) -> dict:
    """The results of per-location futures; a failed one adds `step failed: reason` to
    `failures` (unless the location already failed earlier). With `log`, progress as they
    finish: `step: k of N locations done (s)`, about ten times."""
    results, started = {}, time.monotonic()
    for number, (name, future) in enumerate(zip(names, futures, strict=True), start=1):
        done = outcome(future)
        if done.failure is not None:
            failures.setdefault(name, f"{step} failed: {done.failure}")
        else:
            results[name] = done.result
        if log is not None and milestone(number, len(names)):
            elapsed = time.monotonic() - started
            log(f"{step}: {number} of {len(names)} locations done ({elapsed:.0f} s)")
    return results
