"""Fetch the observations file when it is missing: the Kaggle "Rain in Australia" file
(`weatherAUS.csv`) from byte-identical public copies, or from a data engineer's own mirror.

A copy is accepted only when its SHA-256 matches. It is downloaded into a temporary file beside
the target and renamed into place only once checked, so an interrupted or corrupted download never
leaves a file that looks valid.
"""

import contextlib
import hashlib
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import requests
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from tasks.errors import TempcastError
from tasks.places import DATA_SHA256_VARIABLE, DATA_URL_VARIABLE, Places

URL_VARIABLE, SHA256_VARIABLE = DATA_URL_VARIABLE, DATA_SHA256_VARIABLE
FETCH_TARGET = Path("data/weatherAUS.csv")
KAGGLE_PAGE = "https://www.kaggle.com/datasets/jsphyg/weather-dataset-rattle-package"
WEATHER_AUS_SHA256 = "573fd715cd69fcacc4df32024d823b450ae3edaae7e8ff2eeb623adbed424014"
PUBLIC_COPIES = (
    "https://raw.githubusercontent.com/WeatherForecasterTeam/australia_weather_forecasts/"
    "1813c87a80e24ef66316af859dee52a4dd982233/data/weatherAUS.csv",
    "https://raw.githubusercontent.com/Caesarblack27/rain-prediction/"
    "c8b5a66ee4712de4862db36d8369b2c0a8758dfc/weatherAUS.csv",
)
CHUNK_BYTES = 1 << 16
DATA_FILE_MODE = 0o644
TIMEOUT_SECONDS = (10, 60)  # to connect, then at most between two reads
SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Source:
    """One copy of the data file: where it is, and the SHA-256 it must have."""

    url: str
    sha256: str


class DownloadFailed(Exception):
    """One copy could not be downloaded, or did not match its checksum; the message says why."""


def own_source(url: str | None, sha256: str | None, names: tuple[str, str]) -> Source:
    """A mirror given by the user: its URL and checksum go together (`names` are how the user
    gave them, for the error), and the checksum must be 64 hex digits."""
    if not url or not sha256:
        raise TempcastError(f"{names[0]} and {names[1]} go together: give both or neither")
    checksum = sha256.strip().lower()
    if not SHA256_PATTERN.fullmatch(checksum):
        raise TempcastError(f"{names[1]} {sha256!r}: not a SHA-256 (64 hexadecimal digits)")
    return Source(url, checksum)


def data_sources(url: str | None = None, sha256: str | None = None) -> list[Source]:
    """The copies to try, in order: the given URL and checksum, else $TEMPCAST_DATA_URL with
    $TEMPCAST_DATA_SHA256, else the public copies of the Kaggle file."""
    if url or sha256:
        return [own_source(url, sha256, ("--url", "--sha256"))]
    places = Places.from_environment()
    if places.data_url or places.data_sha256:
        mirror = (places.data_url, places.data_sha256)
        return [own_source(*mirror, (URL_VARIABLE, SHA256_VARIABLE))]
    return [Source(copy, WEATHER_AUS_SHA256) for copy in PUBLIC_COPIES]


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks."""
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


@contextlib.contextmanager
def progress_bar(total: int | None, label: str) -> Iterator[Callable[[int], None]]:
    """A download progress bar on stderr (shown on a terminal only); yields `advance(bytes)`."""
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task(label, total=total)
        yield lambda size: progress.advance(task, size)


def failure_reason(error: requests.RequestException, body: str | None) -> str:
    """A short reason for a failed request: `body` says how many bytes the file was announced
    to have, once the server answered (None before)."""
    if body is not None:
        return f"connection cut before the end of the file{body}"
    if isinstance(error, requests.Timeout):
        return "timed out"
    if isinstance(error, requests.ConnectionError):
        return "cannot connect"
    return type(error).__name__


def stream_to(url: str, handle: BinaryIO) -> str:
    """Write the bytes at `url` into `handle` with a progress bar; return their SHA-256."""
    hasher, body = hashlib.sha256(), None
    try:
        # identity: the checksum is of the file's own bytes, and Content-Length then counts them
        headers = {"Accept-Encoding": "identity"}
        with requests.get(url, stream=True, timeout=TIMEOUT_SECONDS, headers=headers) as response:
            if response.status_code != requests.codes.ok:
                raise DownloadFailed(f"HTTP {response.status_code}")
            total = int(response.headers.get("Content-Length", 0)) or None
            body = f" ({total:,} bytes)" if total else ""
            with progress_bar(total, url.rsplit("/", 1)[-1]) as advance:
                for chunk in response.iter_content(CHUNK_BYTES):
                    handle.write(chunk)
                    hasher.update(chunk)
                    advance(len(chunk))
    except requests.RequestException as error:
        raise DownloadFailed(failure_reason(error, body)) from None
    return hasher.hexdigest()


def download(source: Source, target: Path) -> None:
    """Download one copy to `target` through a temporary file beside it, renamed into place
    only when its SHA-256 matches; raises DownloadFailed saying why it was not accepted."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115  (closed below, kept on success)
        dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False
    )
    partial = Path(handle.name)
    try:
        with handle:
            digest = stream_to(source.url, handle)
        if digest != source.sha256:
            raise DownloadFailed(f"SHA-256 {digest} is not the expected {source.sha256}")
        partial.chmod(DATA_FILE_MODE)  # a temporary file is private; the data file is not
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def stderr_line(line: str) -> None:
    """Print a progress line on stderr, so that stdout keeps only results."""
    print(line, file=sys.stderr, flush=True)


def fetch_data(target: Path, sources: list[Source], echo: Echo = stderr_line) -> Path:
    """Download the data file to `target` from the first source that gives the right bytes.

    A file already at `target` with a matching checksum is kept as it is. When every source
    fails, the TempcastError names what was tried and how to get the file by hand.
    """
    if target.is_file() and file_sha256(target) in {source.sha256 for source in sources}:
        echo(f"tempcast: {target} is already there, its SHA-256 checked")
        return target
    echo(f"tempcast: downloading the observations (Kaggle's weatherAUS.csv) into {target}")
    tried = []
    for source in sources:
        try:
            download(source, target)
        except DownloadFailed as error:
            tried.append(f"{source.url}: {error}")
            continue
        earlier = f"; {'; '.join(tried)}" if tried else ""
        echo(f"tempcast: saved {target}, SHA-256 checked (from {source.url}{earlier})")
        return target
    raise TempcastError(
        f"could not download the observations ({'; '.join(tried)}): get weatherAUS.csv from the"
        f' Kaggle page "Rain in Australia", {KAGGLE_PAGE}, and save it as {target},'
        " or pass --data PATH"
    )
