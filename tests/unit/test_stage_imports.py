"""Stages only look back: base <- schemas <- data <- model <- tracking <- publish <- pipeline <-
backtest <- flows (benchmarks above all). A module may import its own stage or an earlier one,
never a later one; the test names every import that goes the wrong way."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Earliest first. `base` is every module at the top of tasks/ (errors, logs, quiet, calls,
# sqlite_journal, places) except those named in PLACED.
STAGES = (
    "base",
    "schemas",
    "data",
    "model",
    "tracking",
    "publish",
    "pipeline",
    "backtest",
    "flows",
    "benchmarks",
)
TASK_STAGES = {"data", "model", "tracking", "publish", "pipeline", "backtest"}
# Top-level task modules that belong to a stage rather than the base: the run settings combine
# the data's selection rules and the model's training settings.
PLACED = {"tasks.settings": "model"}


def stage_of(module: str) -> str | None:
    """The stage of a project module by its dotted name; None for a library."""
    parts = module.split(".")
    if parts[0] in ("schemas", "flows", "benchmarks"):
        return parts[0]
    if parts[0] != "tasks":
        return None
    if len(parts) > 1 and parts[1] in TASK_STAGES:
        return parts[1]
    return PLACED.get(".".join(parts[:2]), "base")


def module_name(path: Path) -> str:
    """The dotted name of a source file under ROOT."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.AST) -> list[tuple[int, str]]:
    """Every module an import statement names (at any depth: imports inside functions count),
    with its line; `from tasks import x` names tasks.x."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            if node.module in ("tasks", "schemas", "flows"):
                found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def wrong_way_imports(root: Path = ROOT) -> list[str]:
    """Each import of a later stage, as `module (stage) line N imports other (stage)`."""
    problems = []
    for folder in ("tasks", "schemas", "flows", "benchmarks"):
        for path in sorted((root / folder).rglob("*.py")):
            name = module_name(path)
            own = STAGES.index(stage_of(name))
            for line, target in imported(ast.parse(path.read_text(), str(path))):
                stage = stage_of(target)
                if stage is not None and STAGES.index(stage) > own:
                    problems.append(
                        f"{name} ({stage_of(name)}) line {line} imports {target} ({stage})"
                    )
    return problems


def test_no_module_imports_a_later_stage():
    problems = wrong_way_imports()
    assert not problems, "imports against the stage order:\n" + "\n".join(problems)


def test_schemas_import_nothing_from_tasks():
    for path in sorted((ROOT / "schemas").rglob("*.py")):
        targets = [t for _, t in imported(ast.parse(path.read_text()))]
        assert not [t for t in targets if t.split(".")[0] == "tasks"], path.name


def test_the_stage_of_a_module():
    assert stage_of("tasks.errors") == "base"
    assert stage_of("tasks.settings") == "model"
    assert stage_of("tasks.publish.history") == "publish"
    assert stage_of("schemas.monthly") == "schemas"
    assert stage_of("pandas") is None
