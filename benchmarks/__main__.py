"""`python -m benchmarks` (`make bench`): every benchmark, its numbers printed and saved as JSON
in benchmarks/results/ so that they can be compared across commits."""

import json
import tempfile
from pathlib import Path

from benchmarks import backtest, prepare, replay, scale, speed, startup

RESULTS = Path("benchmarks/results")


def main() -> None:
    """Data preparation, the quick commands' start-up, the speed comparison, the retrain at
    44, 250 and 1,000 stations (and on Dask), the 42-origin backtest beside its peers, and the
    replayed year."""
    folder = Path(tempfile.mkdtemp(prefix="tempcast-bench-"))
    results = {
        "prepare": prepare.run(),
        "startup": startup.run(),
        "speed": speed.compare(folder / "speed", ["Canberra", "Sydney"], [], []),
        "scale": scale.run(scale.SIZES, folder=folder / "scale", dask=True),
        "backtest": backtest.backtest(folder / "backtest", "2012-06", "2015-11", []),
        "replay": replay.run(folder / "replay"),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "all.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(scale.format_table(results["scale"]["side_by_side"]))
    print(backtest.format_table(results["backtest"]))


main()
