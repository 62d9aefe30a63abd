"""The shape that keeps the code easy to read: no module over 350 lines in flows/, tasks/,
schemas/ or benchmarks/, and no function in tasks/pipeline/ with more than five parameters."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MOST_LINES, MOST_PARAMETERS = 350, 5


def test_no_module_is_over_350_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for folder in ("flows", "tasks", "schemas", "benchmarks")
        for path in (ROOT / folder).rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > MOST_LINES
    }
    assert not long, f"modules over {MOST_LINES} lines: {long}"


def test_no_pipeline_function_takes_more_than_five_parameters():
    wide = []
    for path in (ROOT / "tasks" / "pipeline").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                arguments = node.args
                names = [a.arg for a in [*arguments.posonlyargs, *arguments.args]]
                names += [a.arg for a in arguments.kwonlyargs]
                names = [name for name in names if name not in ("self", "cls")]
                if len(names) > MOST_PARAMETERS:
                    wide.append(f"{path.name}:{node.lineno} {node.name} ({len(names)})")
    assert not wide, f"functions with more than {MOST_PARAMETERS} parameters: {wide}"
