"""The child that tries one plugin for registry.probe, apart from the shell.

    python -m llmos_shell.registry.probe_child file PATH
    python -m llmos_shell.registry.probe_child entry NAME VALUE GROUP

It imports the plugin, checks that each of its tools can be described to a model, and writes
one JSON line on its own copy of stdout: {"tools": [...]} or {"error": why}. What the plugin
prints goes to stderr.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def _verdict(argv: list[str]) -> dict[str, Any]:
    from llmos_shell.errors import PluginError
    from llmos_shell.registry import discovery

    try:
        if argv[0] == "file":
            module = discovery.import_plugin_file(Path(argv[1]))
        else:
            from importlib.metadata import EntryPoint

            module = discovery.entry_point_module(EntryPoint(argv[1], argv[2], argv[3]))
    except PluginError as exc:
        return {"error": str(exc)}
    except SystemExit as exc:
        return {"error": f"it called sys.exit({exc.code!r}) while being imported"}
    except BaseException as exc:
        return {"error": f"it failed to import ({type(exc).__name__}: {exc})"}
    names = []
    for item in discovery.tools_in_module(module):
        problem = discovery.describe_problem(item)
        if problem is not None:
            return {"error": problem}
        names.append(item.name)
    return {"tools": names}


def main(argv: list[str]) -> int:
    """Import one plugin and say on the saved stdout whether it and its tools are sound."""
    verdict_fd = os.dup(1)
    os.dup2(2, 1)  # what the plugin prints goes to stderr, never into the verdict
    verdict = _verdict(argv)
    with os.fdopen(verdict_fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(verdict) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
