"""The layers of the package: imports point down, never up, and no two modules import each other.

    ui, commands, scheduler, mcp  ->  app  ->  session  ->  planning, safety, memory
        ->  registry, backends, retrieval, models, config  ->  calls, errors, vocabulary, prompts

A module may import its own layer and the layers below it. Imports inside functions count
(they are how heavy libraries stay lazy, not a way around the layers); imports under
`if TYPE_CHECKING:` do not, since they never run.
"""

from __future__ import annotations

import ast
import functools
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


@functools.cache
def _trees() -> dict[str, ast.Module]:
    """Every module's syntax tree, parsed once for all the tests here."""
    return {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in _modules().items()}


@functools.cache
def _graph(*, top_level_only: bool) -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, tree in _trees().items():
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
                upward.append(
                    f"{module} ({here}, layer {level}) imports {target} ({there}, layer {target_level})"
                )
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
    flat = sorted(
        p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")
    )
    assert flat == ["app.py", "calls.py", "cli.py", "errors.py", "session.py"]


def test_no_module_is_over_600_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 600
    }
    assert not long, f"split these by job: {long}"


def test_only_the_kernel_runs_and_audits_calls() -> None:
    """Guards the one door: every call is executed and audited by `safety.kernel`, so no
    front end, scheduler or tool source can run a call past the policy, the approval rule,
    the undo journal or the audit log. The app may open the audit log (it hands it to the
    kernel and reads it for `llmos` commands), but never the executor."""
    graph = _graph(top_level_only=False)
    kernel = "llmos_shell.safety.kernel"
    for module, imported in graph.items():
        if module in (kernel, "llmos_shell.safety.executor"):
            continue
        assert "llmos_shell.safety.executor" not in imported, f"{module} runs calls itself"
        if module != "llmos_shell.app" and module != "llmos_shell.safety.audit":
            assert "llmos_shell.safety.audit" not in imported, f"{module} writes the audit itself"


TOOLS = ROOT / "tools"
# What a tool may import from llmos: what any plugin may (the decorator, the messages, the
# errors, the vocabulary tables) and the few services built-ins share with the shell. Never
# the kernel, the executor, the session, the front ends or the app: a tool is called, it
# does not call.
TOOL_IMPORTS_ALLOWED = (
    "llmos_shell.registry",
    "llmos_shell.calls",
    "llmos_shell.errors",
    "llmos_shell.vocabulary",
    "llmos_shell.safety.trash",
    "llmos_shell.safety.undo",
    "llmos_shell.safety.sandbox",
    "llmos_shell.safety",
    "llmos_shell.scheduler.drafts",
    "llmos_shell.scheduler.inbox",
)


def test_tools_import_only_what_a_plugin_may() -> None:
    """Guards `tools/`: built-ins are written as a third-party plugin would be."""
    bad = []
    for path in sorted(TOOLS.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name in _imports(tree, top_level_only=False):
            if not name.startswith(TOOL_IMPORTS_ALLOWED) or name.startswith(
                (
                    "llmos_shell.safety.kernel",
                    "llmos_shell.safety.executor",
                    "llmos_shell.safety.audit",
                )
            ):
                bad.append(f"{path.name} imports {name}")
    assert not bad, "\n".join(bad)


def test_no_cycles_between_packages_of_one_layer() -> None:
    """Guards the packages' own order: two packages of one layer (planning and safety, say)
    must not import each other, even through other modules, or neither can be read alone."""
    graph = _graph(top_level_only=False)
    packages: dict[str, set[str]] = {}
    for module, imported in graph.items():
        here, level = _layer(module)
        for target in imported:
            there, target_level = _layer(target)
            if there != here and target_level == level:
                packages.setdefault(here, set()).add(there)
    cycles = [
        f"{a} <-> {b}"
        for a, targets in packages.items()
        for b in targets
        if a in packages.get(b, set()) and a < b
    ]
    assert not cycles, "packages of one layer that import each other: " + ", ".join(cycles)
