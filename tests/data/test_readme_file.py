"""What the README says of the data file, against the real file: its SHA-256 and size (of the
plain CSV, as downloaded; the shared copy may be gzip), and the prepare benchmark on it."""

import gzip
import hashlib
import re
from pathlib import Path

from tasks.data.fetch import WEATHER_AUS_SHA256

README = Path(__file__).resolve().parents[2] / "README.md"


def plain_bytes(path: Path) -> bytes:
    """The file's CSV bytes: decompressed when it is gzip (by its magic number, not its name)."""
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def readme_promise() -> tuple[int, str]:
    """The size in bytes and the SHA-256 the README gives for `weatherAUS.csv`."""
    text = " ".join(README.read_text(encoding="utf-8").split())  # its lines joined
    size = re.search(r"`weatherAUS\.csv`, ([\d,]+) bytes", text)
    digest = re.search(r"SHA-256 is `([0-9a-f]{64})`", text)
    assert size and digest, "the README no longer says the file's size and SHA-256"
    return int(size.group(1).replace(",", "")), digest.group(1)


def test_the_readme_gives_the_real_files_sha256_and_size(real_data):
    size, digest = readme_promise()
    content = plain_bytes(real_data)
    assert (len(content), hashlib.sha256(content).hexdigest()) == (size, digest)
    assert digest == WEATHER_AUS_SHA256  # what the fetch checks downloads against


def test_prepare_benchmark_runs_on_the_real_file(real_data):
    from benchmarks.prepare import run

    result = run(repeats=1)
    assert result["prepare_best_s"] > 0 and result["ingest_validate_best_s"] > 0
