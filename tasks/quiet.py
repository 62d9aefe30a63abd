"""Quiet, quicker start-up: hide the lines TensorFlow's native libraries print while they load,
and leave out the optional integrations Keras would load with it.

Importing TensorFlow 2.21 prints absl/TSL lines on file descriptor 2 (oneDNN custom operations,
CUDA drivers, CPU features, and absl's "All log messages before absl::InitializeLog()"), twice,
as two of its libraries load. absl writes them straight to stderr before it is initialised, so
TF_CPP_MIN_LOG_LEVEL does not reach them. An import hook sends file descriptor 2 to a temporary
file while `tensorflow` (or Keras, which imports it) is first imported and writes back every
other line (Python warnings, real errors) once the import is done. $TEMPCAST_DEBUG or
$TEMPCAST_VERBOSE (`--verbose`) shows everything; numerics are untouched (oneDNN stays on).

Keras imports scikit-learn (for its estimator wrappers) and matplotlib.pyplot (for its image
gallery) whenever they are installed, and both are (MLflow needs scikit-learn; tempcast's charts
use matplotlib without pyplot). Neither is used here, and together they cost about 0.4 s of CPU
in every process that imports Keras (5.15 s -> 4.73 s to import the retrain flow), so while Keras
and TensorFlow are first imported the two are reported missing, which Keras expects of optional
packages. Later imports find them. (Keras is imported as tempcast's modules load, before any
of their work starts, so nothing of tempcast's imports the two meanwhile.)
"""

import contextlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Sequence
from types import ModuleType

VERBOSE_VARIABLES = ("TEMPCAST_DEBUG", "TEMPCAST_VERBOSE")
DEBUG_VARIABLE, VERBOSE_VARIABLE = VERBOSE_VARIABLES
# Keras imports TensorFlow and TensorFlow imports Keras: whichever comes first is hooked
HOOKED_PACKAGES = ("keras", "tensorflow")
KERAS_EXTRAS = ("sklearn", "matplotlib.pyplot")
# absl's notice and its INFO/WARNING/ERROR lines, "I0000 00:00:1796135926.162066 42 port.cc:153] "
STARTUP_LINE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IWE]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] "
)


def verbose() -> bool:
    """Whether the user asked to see everything ($TEMPCAST_DEBUG or $TEMPCAST_VERBOSE)."""
    return any(os.environ.get(name) for name in VERBOSE_VARIABLES)


def debugging() -> bool:
    """Whether the user asked for tracebacks ($TEMPCAST_DEBUG)."""
    return bool(os.environ.get(DEBUG_VARIABLE))


def show_everything() -> None:
    """Ask this process and the worker processes it starts to show everything (`--verbose`)."""
    os.environ[VERBOSE_VARIABLE] = "1"


def startup_noise_removed(text: str) -> str:
    """The text without the native libraries' start-up lines."""
    lines = text.splitlines(keepends=True)
    return "".join(line for line in lines if not STARTUP_LINE.match(line))


class Missing(importlib.abc.MetaPathFinder):
    """Reports the Keras extras as not installed."""

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name in KERAS_EXTRAS:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


@contextlib.contextmanager
def keras_extras_left_out() -> Iterator[None]:
    """Within the block, importing a Keras extra fails as if it were not installed."""
    if any(isinstance(finder, Missing) for finder in sys.meta_path):  # an outer block has it
        yield
        return
    missing = Missing()
    sys.meta_path.insert(0, missing)
    try:
        yield
    finally:
        sys.meta_path.remove(missing)


@contextlib.contextmanager
def native_stderr_filtered() -> Iterator[None]:
    """Send file descriptor 2 to a temporary file for the block (native code writes there, not
    to sys.stderr), then write back what it received, start-up lines removed."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to hide
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = startup_noise_removed(captured.read().decode(errors="replace"))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


class QuietLoader(importlib.abc.Loader):
    """Runs another loader's module without the Keras extras and (unless the user asked to see
    everything) with the native start-up lines filtered out; the module keeps the original
    loader as its own."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        filtered = contextlib.nullcontext() if verbose() else native_stderr_filtered()
        with keras_extras_left_out(), filtered:
            self.loader.exec_module(module)


class QuietImport(importlib.abc.MetaPathFinder):
    """Finds Keras and TensorFlow with the other finders and has them loaded by a
    QuietLoader."""

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name not in HOOKED_PACKAGES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = QuietLoader(spec.loader)
                return spec
        return None


def quiet_tensorflow_start() -> None:
    """Install the import hook (once), before anything imports TensorFlow."""
    if not any(isinstance(finder, QuietImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, QuietImport())
