"""The layers of the package: imports point down, never up, and no two modules import each other.

    ui, commands, scheduler, mcp  ->  app  ->  session  ->  planning, safety, memory
        ->  registry, backends, retrieval, models, config  ->  calls, errors, vocabulary, prompts

A module may import its own layer and the layers below it. Imports inside functions count
(they are how heavy libraries stay lazy, not a way around the layers); imports under
`if TYPE_CHECKING:` do not, since they never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "llmos_shell"
PROMPTS = ROOT / "prompts"

# Lower numbers sit lower. The key is the first part of the module path under llmos_shell.
LAYERS: dict[str, int] = {
    "errors": 0,
    "calls": 0,
    "vocabulary": 0,
    "prompts": 0,
    "data": 0,
    "__init__": 0,
    "config": 1,
    "registry": 1,
    "backends": 1,
    "retrieval": 1,
    "models": 1,
    "planning": 2,
    "safety": 2,
    "memory": 2,
    "session": 3,
    "app": 4,
    "ui": 5,
    "commands": 5,
    "scheduler": 5,
    "mcp": 5,
    "cli": 6,
    "__main__": 6,
}


def _module_name(path: Path) -> str:
    if path.is_relative_to(PROMPTS):
        return "llmos_shell.prompts"
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    files = [*PACKAGE.rglob("*.py"), PROMPTS / "__init__.py"]
    return {_module_name(p): p for p in files if "__pycache__" not in p.parts}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, *, top_level_only: bool) -> Iterator[str]:
    """The llmos_shell modules a tree imports, skipping `if TYPE_CHECKING:` blocks."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("llmos_shell"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("llmos_shell"):
                yield node.module
                for alias in node.names:  # `from llmos_shell.models import hub`
                    yield f"{node.module}.{alias.name}"
        if top_level_only and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        stack.extend(ast.iter_child_nodes(node))


def _graph(*, top_level_only: bool) -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[name] = {m for m in _imports(tree, top_level_only=top_level_only) if m in modules}
        graph[name].discard(name)
    return graph


def _layer(module: str) -> tuple[str, int]:
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else "__init__"
    assert key in LAYERS, f"{module}: add its package {key!r} to LAYERS in this test"
    return key, LAYERS[key]


def test_every_package_has_a_layer() -> None:
    for module in _modules():
        _layer(module)


def test_imports_point_down_the_layers() -> None:
    upward = []
    for module, imported in _graph(top_level_only=False).items():
        here, level = _layer(module)
        for target in sorted(imported):
            there, target_level = _layer(target)
            if target_level > level:
                upward.append(f"{module} ({here}, layer {level}) imports {target} ({there}, layer {target_level})")
    assert not upward, "imports that point up the layers:\n" + "\n".join(upward)


@pytest.mark.parametrize("top_level_only", [True, False], ids=["at import time", "anywhere"])
def test_no_two_modules_import_each_other(top_level_only: bool) -> None:
    graph = _graph(top_level_only=top_level_only)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_spine_is_small() -> None:
    flat = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert flat == ["app.py", "calls.py", "cli.py", "errors.py", "session.py"]


def test_no_module_is_over_600_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert not long, f"split these by job: {long}"


def test_the_executor_and_the_audit_are_reached_only_through_the_session() -> None:
    """`Session.run_call` is the one place a call is executed and audited."""
    allowed = {"llmos_shell.session", "llmos_shell.safety.executor", "llmos_shell.safety.audit"}
    graph = _graph(top_level_only=False)
    for module, imported in graph.items():
        if module in allowed or module == "llmos_shell.app":
            continue
        assert "llmos_shell.safety.executor" not in imported, f"{module} runs calls itself"
    app = graph["llmos_shell.app"]
    assert "llmos_shell.safety.executor" not in app
