"""The unseen-tools benchmark over MCP plans on what it plans on inline, prompt for prompt.

`bench/unseen_accuracy.py --via mcp` serves `unseen_tools.json` from a real MCP server
process and plans on the tools llmos reads from it. With the same tools (name, description,
schema, risk) and the same prompts and grammars on a model at temperature 0, its figures are
those of `--via inline`; this checks the part that could differ without loading a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from bench.unseen_accuracy import McpTools, load, make_planner
from llmos_shell.app import App
from llmos_shell.backends.scripted import ScriptedBackend
from llmos_shell.config import load_config
from llmos_shell.planning.planner import Transcript
from llmos_shell.registry.specs import tools_from_specs

DATA = Path(__file__).resolve().parents[2] / "bench" / "data"
ITEMS = 12


@pytest.fixture(scope="module")
def served() -> Any:
    """The bench's specs, served by a real MCP server process."""
    tools = McpTools(DATA)
    yield tools
    tools.source.close()


def test_every_spec_reads_back_the_same_over_mcp(served: McpTools) -> None:
    specs, _ = load(DATA)
    inline = tools_from_specs(list(specs.values()))
    assert sorted(served.tools) == sorted(specs)
    for tool in inline:
        over_mcp = served.tools[tool.name]
        assert over_mcp.definition() == tool.definition()
        assert over_mcp.risk is tool.risk and over_mcp.source == "mcp:bench"


def _prompts(
    app: App, backend: ScriptedBackend, offered: list[dict[str, Any]], request: str, via: Any
) -> Any:
    backend.requests.clear()
    backend.prepared.clear()
    backend.replies = [{"answer": "no tool fits"}] * 4
    planner = make_planner("llmos", app, offered, via)
    planner.next_action(Transcript(request))
    return backend.prepared, backend.requests


def test_the_planner_sees_the_same_prompts_and_grammars(served: McpTools) -> None:
    specs, items = load(DATA)
    backend = ScriptedBackend()
    app = App(config=load_config())
    app._backend = backend
    for item in items[:ITEMS]:
        offered = [specs[name] for name in item["tools"]]
        inline = _prompts(app, backend, offered, item["request"], None)
        over_mcp = _prompts(app, backend, offered, item["request"], served)
        assert inline[1], "the planner asked the model nothing"
        assert over_mcp == inline, item["id"]
