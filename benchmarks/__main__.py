"""`python -m benchmarks`: run every benchmark and print its numbers as JSON."""

import json

from benchmarks import prepare

print(json.dumps({"prepare": prepare.run()}, indent=2))
