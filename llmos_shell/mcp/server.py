"""`llmos mcp serve`: the registry's tools over MCP, each call through the session's one door.

Tools are listed under their registry names, with annotations read from their risk. Those
that can destroy, or whose effect cannot be known before they run (a shell command), are
listed only under `--allow-destructive`, and even then each call needs a person's yes.
Where the policy asks, the person is asked through MCP elicitation when the client offers
it; a client that cannot ask gets a refusal. What the policy refuses, or the person
declines, comes back as a tool error with the reason.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread
import anyio.to_thread
import mcp_types as types
from mcp.server import Server
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from llmos_shell.calls import Approval, Approver, Decision, Risk, ToolCall
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


_ASK_KEY = "llmos_confirm"


class _AskFirst(Exception):
    """Raised by the confirmer when the client is to ask its person and call again."""

    def __init__(self, message: str, state: str) -> None:
        super().__init__(message)
        self.message = message
        self.state = state


def _fingerprint(call: ToolCall, decision: Decision) -> str:
    """What a yes is for: this call, judged so; a yes given for another call is no yes."""
    seen = json.dumps([call.tool, call.arguments, decision.reason], sort_keys=True, default=str)
    return hashlib.sha256(seen.encode("utf-8")).hexdigest()


class _Asker:
    """Asks the person at the MCP client yes or no, by MCP elicitation.

    On the protocol's earlier revisions the server sends the client an elicitation request
    while the call waits; on 2026-07-28 it answers "input required" and the client calls
    again with its person's answer. A client that declares no elicitation is never asked:
    what needs a yes is refused.
    """

    def __init__(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> None:
        self.ctx = ctx
        self.params = params
        session = ctx.session
        wanted = types.ClientCapabilities(elicitation=types.ElicitationCapability())
        self.can_elicit = session.check_client_capability(wanted)
        self.modern = session.protocol_version in MODERN_PROTOCOL_VERSIONS
        self.back_channel = session.can_send_request and not self.modern

    def __call__(self, call: ToolCall, tool: Tool, decision: Decision) -> Approval:
        """The confirmer: the person's answer through the client, else a refusal."""
        if not self.can_elicit:
            return Approval(
                False,
                by="no one could be asked: this MCP client cannot ask its person "
                "(no elicitation), so calls that need a yes are refused",
                approver=Approver.NOBODY,
            )
        arguments = json.dumps(call.arguments, ensure_ascii=False)
        message = f"llmos asks before running {call.tool}({arguments}): {decision.reason}. Run it?"
        if self.back_channel:
            try:
                answer: Any = anyio.from_thread.run(self._elicit, message)
            except Exception as exc:
                return Approval(
                    False,
                    by=f"the person could not be asked ({type(exc).__name__}: {exc})",
                    approver=Approver.NOBODY,
                )
        else:
            state = _fingerprint(call, decision)
            answer = (self.params.input_responses or {}).get(_ASK_KEY)
            if answer is None or self.params.request_state != state:
                raise _AskFirst(message, state)
        content = getattr(answer, "content", None) or {}
        if getattr(answer, "action", None) == "accept" and content.get("run") is True:
            return Approval(True, by="person (through the MCP client)", approver=Approver.PERSON)
        return Approval(False, by="person (through the MCP client)", approver=Approver.PERSON)

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
    ) -> types.CallToolResult | types.InputRequiredResult:
        tool = offered.get(params.name)
        if tool is None:
            why = (
                " (destructive tools are served only with --allow-destructive)"
                if (params.name in app.registry)
                else ""
            )
            return _error(f"llmos serves no tool called {params.name!r}{why}")
        call = ToolCall(params.name, dict(params.arguments or {}))
        session = app.session(confirmer=_Asker(ctx, params), planning=False)
        try:
            step = await anyio.to_thread.run_sync(
                lambda: session.run_call(call, request=f"(MCP client) {call.tool}")
            )
        except _AskFirst as ask:  # nothing ran and nothing was recorded: asked, it comes again
            form = types.ElicitRequestFormParams(message=ask.message, requested_schema=_ASK_SCHEMA)
            return types.InputRequiredResult(
                input_requests={_ASK_KEY: types.ElicitRequest(params=form)},
                request_state=ask.state,
            )
        if step.result is None:
            approval = step.approval
            if approval is None or approval.approver is Approver.POLICY:
                return _error(f"not run: the policy refused it ({step.decision.reason})")
            if approval.by_person:
                return _error(f"not run: the person declined it ({step.decision.reason})")
            return _error(f"not run: {approval.by} ({step.decision.reason})")
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
