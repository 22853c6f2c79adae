"""`llmos mcp serve`: llmos's tools for other agents, over MCP (stdio or streamable HTTP)."""

from __future__ import annotations

import argparse

from llmos_shell.commands import base
from llmos_shell.errors import ExitStatus

DESCRIPTION = (
    "Serve llmos's tools over MCP, for Claude Code, Codex, Goose and other agents. Every "
    "call goes through llmos's policy; one that needs a yes asks the person through the "
    "client (MCP elicitation) or is refused."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`serve`, its transport and what it lists."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="serve")
    serve = actions.add_parser("serve", help="serve the tools (stdio unless --http)")
    serve.add_argument(
        "--http",
        type=int,
        metavar="PORT",
        help="serve streamable HTTP on 127.0.0.1:PORT/mcp instead of stdio",
    )
    serve.add_argument(
        "--allow-destructive",
        action="store_true",
        help="also list the tools that can destroy or run commands (each call still needs "
        "a person's yes through the client)",
    )


def run(args: argparse.Namespace) -> int:
    """Serve until the client goes away (stdio) or until interrupted (HTTP)."""
    from llmos_shell.ui.console import console, warn

    try:
        from llmos_shell.mcp import server
    except ImportError:
        from llmos_shell.errors import LlmosError
        from llmos_shell.registry.mcp_source import INSTALL_HINT

        raise LlmosError(f"`llmos mcp serve` needs the mcp package; {INSTALL_HINT}") from None
    if args.http is not None and not 0 < args.http < 65536:
        from llmos_shell.errors import LlmosError

        raise LlmosError(f"--http {args.http}: a port is a number from 1 to 65535")
    with base.opened_app(args) as app:
        warn(console(stderr=True), app.registry.warnings)
        built = server.build(app, allow_destructive=args.allow_destructive)
        if args.http is None:
            server.serve_stdio(built)
        else:
            console(stderr=True).print(
                f"llmos serves MCP on http://127.0.0.1:{args.http}/mcp (Ctrl-C stops it)"
            )
            server.serve_http(built, args.http)
    return int(ExitStatus.OK)
