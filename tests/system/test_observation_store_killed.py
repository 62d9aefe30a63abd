"""A killed ingest leaves the store as it was: a process is killed (SIGKILL) in the middle of an
ingest's transaction, after it has added and changed rows; the store then holds exactly what it
held before, and the same file ingests cleanly afterwards."""

import signal
import subprocess
import sys
import time

import pandas as pd

from tasks.data import store_tables
from tasks.data.intake import ingest_file
from tests.support.synthetic import synthetic_observations, write_observations
from tests.unit.test_observation_store import table

STALLED = """
import sys, time
from pathlib import Path
from tasks.data import intake, store

def stall(*_args):
    Path(sys.argv[3]).write_text("in the middle")
    time.sleep(120)

store.write_rejects = stall  # called once rows are added and changed, before the commit
intake.ingest_file.fn(Path(sys.argv[1]), sys.argv[2])
"""


def wait_for(path, process: subprocess.Popen, timeout: float = 90) -> None:
    """Until `path` exists (the process reached the middle of its ingest)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the ingest never reached its middle"
        time.sleep(0.1)


def test_a_killed_ingest_leaves_the_store_as_before(tmp_path):
    uri = f"sqlite:///{tmp_path / 'observations.db'}"
    frame = synthetic_observations(("Alpha", "Bravo"), "2016-01-01", "2016-12-31")
    ingest_file.fn(write_observations(frame, tmp_path / "first.csv"), uri)
    before = {name: table(uri, name) for name in store_tables.metadata.tables}
    later = synthetic_observations(("Alpha", "Bravo"), "2016-07-01", "2017-06-30", seed=1)
    second = write_observations(later, tmp_path / "second.csv")
    marker = tmp_path / "middle"
    process = subprocess.Popen(
        [sys.executable, "-c", STALLED, str(second), uri, str(marker)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(marker, process)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    for name, frame_before in before.items():
        pd.testing.assert_frame_equal(table(uri, name), frame_before)
    done = ingest_file.fn(second, uri)
    assert done.written.ingest_id == 2
    assert (done.counts()["added"], done.counts()["changed"]) == (2 * 181, 2 * 184)
