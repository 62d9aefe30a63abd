"""`make data`, the step `make test` runs before anything else, in a copy of the project with no
data beside it (a fresh clone): the file is fetched from $TEMPCAST_DATA_URL (a real HTTP server on
127.0.0.1) and checked, once; a file found where tempcast looks (the shared file beside the clone,
as on CI) is used as it is, nothing downloaded; an unreachable URL stops it at once, in one line.

Only the data step runs (`make -f ... data`, with this virtual environment taken as installed),
never the suite inside itself."""

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tasks.data.fetch import SHA256_VARIABLE, URL_VARIABLE
from tasks.data.ingest import DATA_ENV_VARIABLE
from tests.support.file_server import Route, closed_port_url, file_server
from tests.support.tiny import observations_file

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
COPIED = ("Makefile", "flows", "tasks", "schemas")
FETCHED = Path("data/weatherAUS.csv")


@pytest.fixture(scope="module")
def observations(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a small, valid observations file (two locations, five years)."""
    return observations_file(tmp_path_factory.mktemp("observations")).read_bytes()


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """The project's Makefile and code copied into `tmp_path/clone`, with no data file in it or
    beside it (its code finds data relative to the copy, as a fresh clone's does)."""
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in COPIED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, clone / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, clone / name)
    return clone


def make(clone: Path, target: str, *options: str, **variables: str) -> subprocess.CompletedProcess:
    """`make TARGET` in the clone, on this virtual environment (taken as installed, so nothing is
    installed), importing the clone's code, with the data variables `variables` only."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in (URL_VARIABLE, SHA256_VARIABLE, DATA_ENV_VARIABLE)
    }
    env |= {"PYTHONPATH": str(clone), **variables}
    installed = ["-o", str(VENV / ".installed"), f"VENV={VENV}"]
    return subprocess.run(
        ["make", "--no-print-directory", *options, target, *installed],
        cwd=clone,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def mirror(server_url: str, data: bytes) -> dict[str, str]:
    """The variables that point the fetch at a copy of `data`."""
    return {URL_VARIABLE: server_url, SHA256_VARIABLE: hashlib.sha256(data).hexdigest()}


def test_make_data_fetches_a_checked_copy_once_where_no_file_is_found(clone, observations):
    with file_server({"/w.csv": Route(observations)}) as server:
        variables = mirror(server.url("/w.csv"), observations)
        first = make(clone, "data", **variables)
        again = make(clone, "data", **variables)
    assert first.returncode == 0, first.stdout + first.stderr
    assert first.stdout.splitlines()[-1] == str(clone / FETCHED)
    assert (clone / FETCHED).read_bytes() == observations
    assert "SHA-256 checked" in first.stderr
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines()[-1] == str(clone / FETCHED)
    assert server.hits == ["/w.csv"], "found the second time, not fetched again"


def test_make_data_uses_the_shared_file_beside_the_clone_and_downloads_nothing(clone, observations):
    shared = clone.parent / "shared" / "data" / "weatherAUS.csv.gz"
    shared.parent.mkdir(parents=True)
    shared.write_bytes(gzip.compress(observations))
    with file_server({"/w.csv": Route(observations)}) as server:
        done = make(clone, "data", **mirror(server.url("/w.csv"), observations))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == str(shared)
    assert server.hits == [] and not (clone / "data").exists()


def test_make_data_with_an_unreachable_copy_stops_at_once_in_one_line(clone):
    url = closed_port_url()
    started = time.perf_counter()
    done = make(clone, "data", **{URL_VARIABLE: url, SHA256_VARIABLE: "0" * 64})
    seconds = time.perf_counter() - started
    errors = [line for line in done.stderr.splitlines() if line.startswith("tempcast: error:")]
    assert done.returncode != 0 and len(errors) == 1, done.stderr
    assert errors[0].startswith(
        "tempcast: error: no data file found (looked for data/weatherAUS.csv,"
        f" ../shared/data/weatherAUS.csv.gz) and could not download the observations ({url}:"
        " cannot connect)"
    )
    assert "Traceback" not in done.stderr and list(clone.glob("data/*")) == []
    # `make test` runs the data step first: when it fails, neither lint nor pytest starts
    planned = make(clone, "test", "--dry-run").stdout.splitlines()
    order = [
        next(i for i, line in enumerate(planned) if word in line)
        for word in ("fetch-data --if-missing", "ruff check", "pytest")
    ]
    assert order == sorted(order), planned
    print(f"\nmake data with an unreachable copy: exit {done.returncode} in {seconds:.2f} s")
