"""`llmos mcp serve`: the registry's tools over MCP, each call through the session's one door.

Tools are listed under their registry names, with annotations read from their risk. Those
that can destroy, or whose effect cannot be known before they run (a shell command), are
listed only under `--allow-destructive`, and even then each call needs a person's yes.
Where the policy asks, the person is asked through MCP elicitation when the client offers
it; a client that cannot ask gets a refusal. What the policy refuses, or the person
declines, comes back as a tool error with the reason.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread
import anyio.to_thread
import mcp_types as types
from mcp.server import Server

from llmos_shell.calls import Approval, Decision, Risk, ToolCall
from llmos_shell.registry import Tool

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext

    from llmos_shell.app import App

# Risks whose tools are listed only when the server is started with --allow-destructive.
HIDDEN_RISKS = frozenset({Risk.DESTRUCTIVE, Risk.PRIVILEGED, Risk.UNKNOWN})
_ASK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"run": {"type": "boolean", "title": "Run it?"}},
    "required": ["run"],
}


def hidden(tool: Tool) -> bool:
    """Whether a tool is left out unless --allow-destructive: it can destroy, or its effect
    depends on a command it is given."""
    return tool.risk in HIDDEN_RISKS or tool.shell_command_arg is not None


def hints(tool: Tool) -> types.ToolAnnotations:
    """MCP's hints for a tool, from its risk."""
    risky = tool.risk in HIDDEN_RISKS or tool.shell_command_arg is not None
    return types.ToolAnnotations(
        read_only_hint=tool.risk is Risk.READ_ONLY and tool.shell_command_arg is None,
        destructive_hint=risky,
        open_world_hint=tool.risk is Risk.NETWORK or tool.risk is Risk.UNKNOWN,
    )


def listed(app: App, *, allow_destructive: bool) -> dict[str, Tool]:
    """The tools this server offers, by registry name."""
    return {t.name: t for t in app.registry if allow_destructive or not hidden(t)}


def describe(tool: Tool) -> types.Tool:
    """A registry tool as MCP lists it."""
    return types.Tool(
        name=tool.name,
        description=tool.description,
        input_schema=tool.parameters_schema(),
        annotations=hints(tool),
    )


def _error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)


def _result(data: Any) -> types.CallToolResult:
    text = data if isinstance(data, str) else json.dumps(data, default=str, ensure_ascii=False)
    structured = data if isinstance(data, dict) else None
    return types.CallToolResult(
        content=[types.TextContent(text=text)], structured_content=structured
    )


class _Asker:
    """Asks the person at the MCP client yes or no, from the thread that runs the call."""

    def __init__(self, ctx: ServerRequestContext[Any, Any]) -> None:
        self.ctx = ctx
        session = ctx.session
        wanted = types.ClientCapabilities(elicitation=types.ElicitationCapability())
        self.can_ask = session.can_send_request and session.check_client_capability(wanted)

    def __call__(self, call: ToolCall, tool: Tool, decision: Decision) -> Approval:
        """The confirmer: elicitation where the client offers it, else a refusal."""
        if not self.can_ask:
            return Approval(
                False,
                by="no one could be asked: this MCP client cannot ask its person "
                "(no elicitation), so calls that need a yes are refused",
            )
        arguments = json.dumps(call.arguments, ensure_ascii=False)
        message = (
            f"llmos asks before running {call.tool}({arguments}): {decision.reason}. Run it?"
        )
        try:
            answer = anyio.from_thread.run(self._elicit, message)
        except Exception as exc:
            return Approval(False, by=f"the person could not be asked ({type(exc).__name__}: {exc})")
        if answer.action == "accept" and (answer.content or {}).get("run") is True:
            return Approval(True, by="person")
        return Approval(False, by="person")

    async def _elicit(self, message: str) -> types.ElicitResult:
        return await self.ctx.session.elicit_form(
            message, _ASK_SCHEMA, related_request_id=self.ctx.request_id
        )


def build(app: App, *, allow_destructive: bool = False) -> Server[Any]:
    """The MCP server over the app's registry and session."""
    from llmos_shell import __version__

    offered = listed(app, allow_destructive=allow_destructive)

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[describe(t) for t in offered.values()])

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        tool = offered.get(params.name)
        if tool is None:
            why = " (destructive tools are served only with --allow-destructive)" if (
                params.name in app.registry
            ) else ""
            return _error(f"llmos serves no tool called {params.name!r}{why}")
        call = ToolCall(params.name, dict(params.arguments or {}))
        session = app.session(confirmer=_Asker(ctx), planning=False)
        step = await anyio.to_thread.run_sync(
            lambda: session.run_call(call, request=f"(MCP client) {call.tool}")
        )
        if step.result is None:
            by = step.approval.by if step.approval is not None else "policy"
            if by == "policy":
                return _error(f"not run: the policy refused it ({step.decision.reason})")
            if by == "person":
                return _error(f"not run: the person declined it ({step.decision.reason})")
            return _error(f"not run: {by} ({step.decision.reason})")
        if not step.result.ok:
            return _error(step.result.error or f"{call.tool} failed")
        return _result(step.result.data)

    return Server(
        "llmos",
        version=__version__,
        instructions="The tools of llmos, a natural-language shell on this computer.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def serve_stdio(server: Server[Any]) -> None:
    """Serve over this process's stdin and stdout until the client closes them."""
    from mcp.server.stdio import stdio_server

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)


def serve_http(server: Server[Any], port: int) -> None:
    """Serve streamable HTTP on 127.0.0.1:PORT/mcp until interrupted."""
    import uvicorn

    web = server.streamable_http_app(host="127.0.0.1")
    config = uvicorn.Config(web, host="127.0.0.1", port=port, log_level="warning")
    anyio.run(uvicorn.Server(config).serve)
