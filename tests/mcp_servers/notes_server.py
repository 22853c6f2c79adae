"""A small MCP server for the tests: notes in a folder, over stdio or streamable HTTP.

    python notes_server.py                 # stdio
    python notes_server.py --http PORT     # streamable HTTP on 127.0.0.1:PORT/mcp

The folder is $NOTES_DIR. Each tool's annotations say what it does, so the client's reading
of them is tested: one read-only, one additive write, one destructive, one without any, and
one that takes its time, and one that ends the server's process while it is being called.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

server = MCPServer("notes")


def _folder() -> Path:
    folder = Path(os.environ["NOTES_DIR"]).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def count_notes(folder_hint: str = "") -> str:
    """Count the notes kept in the notes folder."""
    names = sorted(p.name for p in _folder().glob("*.txt"))
    return f"{len(names)} notes: {', '.join(names)}"


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
def add_note(title: str, text: str) -> str:
    """Add a note with a title and its text."""
    (_folder() / f"{title}.txt").write_text(text, encoding="utf-8")
    return f"added {title}"


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
def wipe_notes() -> str:
    """Delete every note in the notes folder."""
    for path in _folder().glob("*.txt"):
        path.unlink()
    return "wiped"


@server.tool()
def shout(text: str) -> str:
    """Repeat a text in capitals."""
    return text.upper()


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def wait_a_while(seconds: float) -> str:
    """Wait some seconds, then say so."""
    time.sleep(seconds)
    return f"waited {seconds:g} s"


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def crash_server() -> str:
    """Stop the notes server in the middle of this call."""
    os._exit(3)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int)
    args = parser.parse_args()
    if args.http:
        server.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        server.run()
