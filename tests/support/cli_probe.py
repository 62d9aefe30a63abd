"""What a `tempcast` process shows and loads: the start-up lines of TensorFlow's native libraries
(hidden unless asked for), and a probe that runs `tempcast ARGS` and names, in its last line on
stderr, the heavy libraries it imported (commands that need none must not pay their start-up)."""

import re

STARTUP_NOISE = re.compile(
    r"absl::InitializeLog|oneDNN custom operations|Could not find cuda drivers|cpu_feature_guard"
    r"|^[IWE]\d{4} \d\d:\d\d:\d+\.\d+",
    re.MULTILINE,
)


HEAVY = ("tensorflow", "keras", "mlflow", "matplotlib", "prefect")
PROBE = f"""
import sys
from flows.cli import main
sys.argv[0] = "tempcast"
try:
    main()
finally:
    heavy = [name for name in {HEAVY!r} if name in sys.modules]
    print("imported:", ",".join(heavy), file=sys.stderr)
"""


def probed(*arguments: str) -> list[str]:
    """The arguments of this Python that run `tempcast ARGUMENTS` under the probe."""
    return ["-c", PROBE, *arguments]


def imported(output: str) -> list[str]:
    """The heavy libraries a probed command imported, from its output."""
    line = next(line for line in reversed(output.splitlines()) if line.startswith("imported:"))
    return [name for name in line.removeprefix("imported:").strip().split(",") if name]


def one_error_line(stderr: str) -> str:
    """The CLI's error line; there must be exactly one."""
    lines = [line for line in stderr.splitlines() if line.startswith("tempcast: error:")]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]
