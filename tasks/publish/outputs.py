"""Writing result files safely: each file appears complete under its name, or not at all."""

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.errors import TempcastError


def ensure_folder(folder: Path) -> Path:
    """Create an output folder and prove it writable (by writing a file in it), or raise
    TempcastError naming it: flows call this first, so that nothing trains in vain."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise TempcastError(
            f"output folder {folder} is not usable: {error.strerror or error}"
        ) from None
    return folder


def write_atomically(path: Path, write: Callable[[Path], Any]) -> Path:
    """Call `write` on a temporary name beside `path`, then rename it into place.

    A crash, a full disk or a permission error never leaves a partial file that looks complete:
    the temporary file is removed and TempcastError names the file and the problem.
    """
    ensure_folder(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise TempcastError(f"cannot write {path}: {error.strerror or error}") from None
    return path


def write_csv(frame: pd.DataFrame, path: Path, index: bool = False) -> Path:
    """Write a table as CSV; floats keep full precision (pandas writes the shortest exact repr)."""
    return write_atomically(path, lambda target: frame.to_csv(target, index=index))


def write_json(data: Any, path: Path) -> Path:
    """Write JSON, indented for people."""
    text = json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"
    return write_atomically(path, lambda target: target.write_text(text, encoding="utf-8"))
