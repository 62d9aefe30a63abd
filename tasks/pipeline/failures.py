"""Failures of some units: collected from the futures of fanned-out tasks, reported together."""

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


def collect(
    names: list[str], futures: list[PrefectFuture], failures: dict[str, str], step: str
) -> dict:
    """The results of per-location futures; a failed one adds `step failed: reason` to
    `failures` (unless the location already failed earlier)."""
    results = {}
    for name, future in zip(names, futures, strict=True):
        done = outcome(future)
        if done.failure is not None:
            failures.setdefault(name, f"{step} failed: {done.failure}")
        else:
            results[name] = done.result
    return results
