"""Fetching the data file, against a real HTTP server on 127.0.0.1 (never the internet): a good
copy, a wrong checksum, a 404 then a good fallback, a connection cut mid-file, every copy
failing, the automatic fetch when no file is found, and `tempcast fetch-data` in a process."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tasks.data.ingest as ingest
from flows.cli import app
from tasks.data.fetch import (
    KAGGLE_PAGE,
    PUBLIC_COPIES,
    SHA256_VARIABLE,
    URL_VARIABLE,
    WEATHER_AUS_SHA256,
    Source,
    data_sources,
    fetch_data,
)
from tasks.errors import TempcastError
from tests.support.file_server import Route, closed_port_url, file_server
from tests.support.tiny import observations_file


@pytest.fixture(scope="module")
def observations(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a small, valid observations file (two locations, five years)."""
    return observations_file(tmp_path_factory.mktemp("observations")).read_bytes()


def sha256(data: bytes) -> str:
    """The SHA-256 of some bytes, in hex."""
    return hashlib.sha256(data).hexdigest()


def files_in(folder: Path) -> list[str]:
    """Every file left in a folder (temporary files included), by name."""
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_a_good_copy_is_saved_and_kept_on_the_next_call(tmp_path, observations):
    target, lines = tmp_path / "data" / "weatherAUS.csv", []
    with file_server({"/w.csv": Route(observations)}) as server:
        source = Source(server.url("/w.csv"), sha256(observations))
        assert fetch_data(target, [source], lines.append) == target
        assert fetch_data(target, [source], lines.append) == target  # checked, not downloaded
    assert target.read_bytes() == observations
    assert target.stat().st_mode & 0o777 == 0o644  # readable like any file, not private
    assert files_in(target.parent) == ["weatherAUS.csv"]
    assert server.hits == ["/w.csv"]
    assert "SHA-256 checked" in lines[1] and "already there" in lines[2]


def test_a_wrong_checksum_is_refused_and_nothing_is_kept(tmp_path, observations):
    target = tmp_path / "data" / "weatherAUS.csv"
    with file_server({"/w.csv": Route(observations)}) as server:
        source = Source(server.url("/w.csv"), sha256(b"another file"))
        with pytest.raises(TempcastError, match=f"SHA-256 {sha256(observations)} is not the"):
            fetch_data(target, [source], lambda _: None)
    assert files_in(target.parent) == []


def test_a_404_falls_back_to_the_next_copy(tmp_path, observations):
    target, lines = tmp_path / "weatherAUS.csv", []
    with file_server({"/good.csv": Route(observations)}) as server:
        paths = ("/gone", "/good.csv")
        sources = [Source(server.url(path), sha256(observations)) for path in paths]
        fetch_data(target, sources, lines.append)
    assert target.read_bytes() == observations
    assert server.hits == ["/gone", "/good.csv"]
    assert f"from {server.url('/good.csv')}; {server.url('/gone')}: HTTP 404" in lines[-1]


def test_a_connection_cut_mid_file_leaves_no_file_that_looks_valid(tmp_path, observations):
    target = tmp_path / "data" / "weatherAUS.csv"
    half = len(observations) // 2
    cut = pytest.raises(
        TempcastError, match=rf"connection cut before the end of the file \({len(observations):,}"
    )
    with file_server({"/w.csv": Route(observations, cut_after=half)}) as server, cut:
        fetch_data(target, [Source(server.url("/w.csv"), sha256(observations))], print)
    assert files_in(target.parent) == []


def test_every_copy_failing_is_one_line_naming_them_and_the_kaggle_page(tmp_path, observations):
    with file_server({}) as server:
        sources = [Source(closed_port_url(), "0" * 64), Source(server.url("/gone"), "0" * 64)]
        with pytest.raises(TempcastError) as raised:
            fetch_data(tmp_path / "weatherAUS.csv", sources, lambda _: None)
    message = str(raised.value)
    assert "\n" not in message
    assert f"{sources[0].url}: cannot connect; {sources[1].url}: HTTP 404" in message
    assert f'the Kaggle page "Rain in Australia", {KAGGLE_PAGE}' in message
    assert files_in(tmp_path) == []


def test_the_sources_come_from_the_options_the_variables_or_the_public_copies(monkeypatch):
    monkeypatch.delenv(URL_VARIABLE, raising=False)
    monkeypatch.delenv(SHA256_VARIABLE, raising=False)
    assert data_sources() == [Source(url, WEATHER_AUS_SHA256) for url in PUBLIC_COPIES]
    assert data_sources("http://x/w.csv", "A" * 64) == [Source("http://x/w.csv", "a" * 64)]
    monkeypatch.setenv(URL_VARIABLE, "http://mirror/w.csv")
    with pytest.raises(TempcastError, match=f"{URL_VARIABLE} and {SHA256_VARIABLE} go together"):
        data_sources()
    monkeypatch.setenv(SHA256_VARIABLE, "f" * 64)
    assert data_sources() == [Source("http://mirror/w.csv", "f" * 64)]
    with pytest.raises(TempcastError, match="--sha256 'abc': not a SHA-256"):
        data_sources("http://x/w.csv", "abc")


@pytest.fixture
def nothing_to_find(tmp_path, monkeypatch) -> Path:
    """A working folder (also standing in for the project's) where no data file can be found."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(ingest, "PROJECT_ROOT", tmp_path)
    monkeypatch.delenv("TEMPCAST_DATA", raising=False)
    return tmp_path


def test_the_data_is_fetched_when_no_file_is_found(nothing_to_find, monkeypatch, observations):
    with file_server({"/w.csv": Route(observations)}) as server:
        monkeypatch.setenv(URL_VARIABLE, server.url("/w.csv"))
        monkeypatch.setenv(SHA256_VARIABLE, sha256(observations))
        path = ingest.resolve_data_path()
        assert ingest.resolve_data_path() == path  # found, not fetched again
    assert path == (nothing_to_find / "data" / "weatherAUS.csv").resolve()
    assert server.hits == ["/w.csv"]
    assert ingest.ingest_observations.fn(path).rows_accepted == 2 * 1826


def test_no_file_and_no_copy_is_one_line(nothing_to_find, monkeypatch):
    monkeypatch.setenv(URL_VARIABLE, closed_port_url())
    monkeypatch.setenv(SHA256_VARIABLE, "0" * 64)
    with pytest.raises(TempcastError) as raised:
        ingest.resolve_data_path()
    assert str(raised.value).startswith(
        "no data file found (looked for data/weatherAUS.csv, ../shared/data/weatherAUS.csv.gz)"
        f" and could not download the observations ({os.environ[URL_VARIABLE]}: cannot connect)"
    )
    with pytest.raises(TempcastError, match=r"^no data file found: pass --data PATH"):
        ingest.resolve_data_path(fetch=False)


def test_cli_prepare_on_a_fresh_machine_fetches_then_prepares(
    nothing_to_find, monkeypatch, observations
):
    with file_server({"/w.csv": Route(observations)}) as server:
        monkeypatch.setenv(URL_VARIABLE, server.url("/w.csv"))
        monkeypatch.setenv(SHA256_VARIABLE, sha256(observations))
        result = CliRunner().invoke(app, ["prepare", "--out", "out"])
    assert result.exit_code == 0, result.output
    assert "Kept 2 locations x 60 months" in result.output
    assert (nothing_to_find / "data" / "weatherAUS.csv").read_bytes() == observations


def fetch_command(*arguments: str) -> subprocess.CompletedProcess:
    """`tempcast fetch-data ...` in its own process, without the data variables."""
    env = {k: v for k, v in os.environ.items() if k not in (URL_VARIABLE, SHA256_VARIABLE)}
    return subprocess.run(
        [sys.executable, "-m", "flows", "fetch-data", *arguments],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_the_fetch_data_command_saves_a_checked_copy(tmp_path, observations):
    with file_server({"/w.csv": Route(observations)}) as server:
        url = server.url("/w.csv")
        done = fetch_command("--to", str(tmp_path), "--url", url, "--sha256", sha256(observations))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{tmp_path / 'weatherAUS.csv'}\n"
    assert (tmp_path / "weatherAUS.csv").read_bytes() == observations


def test_the_fetch_data_command_fails_in_one_line(tmp_path, observations):
    target = tmp_path / "w.csv"
    with file_server({"/w.csv": Route(observations)}) as server:
        url = server.url("/w.csv")
        wrong = fetch_command("--to", str(target), "--url", url, "--sha256", "0" * 64)
    half = fetch_command("--to", str(target), "--url", url)
    for done in (wrong, half):
        errors = [line for line in done.stderr.splitlines() if line.startswith("tempcast: error:")]
        assert done.returncode == 2 and len(errors) == 1, done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""
    assert f"is not the expected {'0' * 64}" in wrong.stderr and KAGGLE_PAGE in wrong.stderr
    assert half.stderr == "tempcast: error: --url and --sha256 go together: give both or neither\n"
    assert files_in(tmp_path) == []
