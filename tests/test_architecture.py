"""The house's shape, checked (issue 19): imports flow one way through the layers in
pyproject.toml's import-linter contract, and no module imports itself round a circle."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

grimp = pytest.importorskip("grimp")
pytest.importorskip("importlinter")

ROOT = Path(__file__).resolve().parents[1]


def test_the_layers_contract_holds():
    import subprocess

    done = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                           "sys.exit(lint_imports_command(['--no-cache']))"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 kept, 0 broken" in done.stdout


def _circles(graph) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan), imports inside
    functions included."""
    adjacent = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in adjacent[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for module in sorted(adjacent):
            if module not in index:
                visit(module)
    finally:
        sys.setrecursionlimit(limit)
    return found


def test_no_module_imports_itself_round_a_circle():
    circles = _circles(grimp.build_graph("lstmkit", exclude_type_checking_imports=True))   # types only: no circle at run time
    assert not circles, f"import circles: {[sorted(c) for c in circles]}"


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["train", "lm", "--help"], ["config", "classify"]])
def test_the_command_line_answers_help_and_config_without_torch(argv):
    """Every task's Task class (its flags, defaults, help) is read without torch (issue 19, 6)."""
    import subprocess

    code = ("import sys\nfrom lstmkit.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print('torch' in sys.modules, sorted(m for m in sys.modules if m.startswith('lstmkit.tasks.')))")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
    torch_loaded, _, modules = done.stdout.strip().splitlines()[-1].partition(" ")
    assert torch_loaded == "False", done.stdout[-2000:] + done.stderr[-2000:]
    assert "task'" in modules                                # the tasks were asked, not skipped


def test_no_task_is_named_outside_its_folder_and_the_registry():
    """Everything above the tasks asks them (issue 19): no string constant outside ``tasks/``
    and ``registry.py`` is a task's name (docstrings aside), so nothing branches on one."""
    import ast

    from lstmkit import registry

    names = set(registry.names())
    src = ROOT / "src" / "lstmkit"
    found = []
    for path in src.rglob("*.py"):
        rel = path.relative_to(src).as_posix()
        if rel.startswith("tasks/") or rel == "registry.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        found += [f"{rel}:{node.lineno} {node.value!r}" for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and node.value in names and id(node) not in docstrings]
    assert not found, found
