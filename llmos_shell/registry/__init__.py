"""Tool plugins: the `@tool` decorator, the `Tool` it builds, and the registry that finds them.

This is the import path plugins use: `from llmos_shell.registry import tool`.
"""

from __future__ import annotations

from llmos_shell.registry.discovery import ENTRY_POINT_GROUP, Registry, discover, tools_in_module
from llmos_shell.registry.overwrites import CallRisk, replaced, resolve
from llmos_shell.registry.tool import Example, Tool, signature, tool

__all__ = [
    "ENTRY_POINT_GROUP",
    "CallRisk",
    "Example",
    "Registry",
    "Tool",
    "discover",
    "replaced",
    "resolve",
    "signature",
    "tool",
    "tools_in_module",
]
