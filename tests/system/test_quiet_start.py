"""Quiet, quick commands, as real `tempcast` processes: no TensorFlow start-up lines (unless asked
for), progress lines a person can follow, `prepare` without a Prefect API as plain steps, and
commands that need no TensorFlow never import it."""

import os
import subprocess
import sys

from typer.testing import CliRunner

from flows.cli import VERBOSE_VARIABLE, app
from tests.support.cli_probe import STARTUP_NOISE, imported, probed
from tests.support.mlflow_server import tempcast_env
from tests.support.tiny import observations_file


def run(arguments: list[str], env: dict[str, str], timeout: int = 300) -> str:
    """Run a Python command line, fail with its output unless it succeeds; its output."""
    done = subprocess.run(
        [sys.executable, *arguments],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    return output


def without_prefect_api() -> dict[str, str]:
    """This environment without any Prefect setting: no API configured."""
    return {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}


def test_commands_that_need_no_tensorflow_never_import_it(tmp_path):
    data = observations_file(tmp_path)
    env = without_prefect_api()
    for command in (["--help"], ["retrain", "--help"], ["fetch-data", "--help"]):
        assert imported(run(probed(*command), env)) == [], command
    output = run(probed("prepare", "--data", str(data), "--out", str(tmp_path / "out")), env)
    assert imported(output) == []
    assert "Kept 2 locations x 60 months" in output and (tmp_path / "out" / "report.json").exists()
    assert "temporary server" not in output and "flow run" not in output.lower()


UNKNOWN = "unknown location 'Atlantis'; valid locations: Alpha, Bravo"
MISTAKES = {
    ("train", "--location", "Atlantis"): UNKNOWN,
    ("retrain", "--location", "Atlantis"): UNKNOWN,
    ("retrain", "--as-of", "2031-01"): "as_of 2031-01 is after the last complete month in the data",
    ("backfill", "--from", "2013-05", "--to", "2013-01"): "backfill range is in the wrong order",
    ("backfill", "--from", "2013-01", "--to", "2013-02", "--location", "Atlantis"): UNKNOWN,
}


def test_a_mistake_on_the_command_line_is_one_line_before_any_prefect_api_starts(tmp_path):
    data = observations_file(tmp_path)
    for command, message in MISTAKES.items():
        done = subprocess.run(
            [sys.executable, *probed(*command, "--data", str(data))],
            cwd=tmp_path,
            env=without_prefect_api(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        lines = done.stderr.splitlines()
        assert done.returncode == 2 and done.stdout == "", (command, done.stderr[-3000:])
        assert len(lines) == 2 and lines[0].startswith(f"tempcast: error: {message}"), lines
        assert imported(done.stderr) == [], "no Prefect (nor its API), no TensorFlow, no MLflow"


def test_prepare_runs_as_a_flow_where_a_prefect_api_is_configured(tmp_path):
    data = observations_file(tmp_path)
    env = tempcast_env(f"sqlite:///{tmp_path / 'mlflow.db'}")
    output = run(["-m", "flows", "prepare", "--data", str(data), "--out", str(tmp_path)], env)
    assert "for flow 'prepare'" in output and "Finished in state Completed" in output
    assert "temporary server" not in output


KERAS_EXTRAS_LEFT_OUT = """
import sys, tasks, keras
from keras.src.wrappers import fixes
print("extras loaded:", [name for name in ("sklearn", "matplotlib.pyplot") if name in sys.modules])
import sklearn, matplotlib.pyplot
print("then importable; Keras's wrappers without scikit-learn:", fixes.sklearn is None)
"""


def test_verbose_shows_the_start_up_lines_that_are_hidden_and_keras_extras_stay_out(monkeypatch):
    # the lines hidden above do exist: importing TensorFlow shows them when asked to
    env = {**without_prefect_api(), VERBOSE_VARIABLE: "1"}
    output = run(["-c", KERAS_EXTRAS_LEFT_OUT], env, timeout=120)
    assert STARTUP_NOISE.search(output)
    # Keras (imported first, so TensorFlow nested in it) loaded neither extra; later imports can
    assert (
        "extras loaded: []\nthen importable; Keras's wrappers without scikit-learn: True" in output
    )
    monkeypatch.setenv(VERBOSE_VARIABLE, "")  # unset for the command, and after the test
    result = CliRunner().invoke(app, ["--verbose", "fetch-data", "--help"])
    assert result.exit_code == 0 and os.environ[VERBOSE_VARIABLE] == "1"


def test_startup_benchmark_times_every_quick_command(tmp_path):
    from benchmarks.startup import run as benchmark

    result = benchmark(repeats=1, data=observations_file(tmp_path))
    names = ("prepare", "prepare_as_flow_temporary_api", "forecasts", "forecasts_one_location")
    names += ("help", "retrain_help", "unknown_location", "import_retrain_flow")
    for name in names:
        assert result[f"{name}_best_s"] > 0 and result[f"{name}_median_s"] > 0, name
    assert result["forecasts_stored"] == 44 * 12 * 18
