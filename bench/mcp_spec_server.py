"""An MCP server that serves OpenAI-style tool specs as they are, for `unseen_accuracy.py --via mcp`.

    python bench/mcp_spec_server.py SPECS.json

Each spec becomes a read-only MCP tool with the spec's name, description and parameters; a
call is answered with an error, since the tools are only described (as on `plan --json -`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server
from mcp.server.stdio import stdio_server


def build(specs: list[dict[str, Any]]) -> Server[Any]:
    """The server over `specs`."""
    tools = [
        types.Tool(
            name=spec["function"]["name"],
            description=spec["function"].get("description"),
            input_schema=spec["function"].get("parameters") or {"type": "object"},
            annotations=types.ToolAnnotations(read_only_hint=True),
        )
        for spec in specs
    ]

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        text = f"{params.name} is only described here; it cannot run"
        return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)

    return Server("bench-specs", on_list_tools=list_tools, on_call_tool=call_tool)


async def main(path: Path) -> None:
    """Serve the specs in `path` over stdio."""
    server = build(json.loads(path.read_text(encoding="utf-8")))
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main, Path(sys.argv[1]))
