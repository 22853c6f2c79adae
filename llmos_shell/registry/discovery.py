"""Finding tools: every tool comes from a source behind one small interface.

A `ToolSource` has a name (shown as each tool's `source`), lists its tools, and is closed when
the process is done with it; a tool's own function is how the source runs it (in a worker, in
this process, or through an MCP session). Built-ins, installed entry-point plugins, the user's
plugin folder, tools given as specs and MCP servers are sources; a new kind of source is a new
module here, and `Registry.include` is the one place where their tools meet and clashes are
resolved. A source that fails to list its tools is reported and skipped; it never takes the
shell down. A plugin (an entry point or a file of the plugin folder) is first tried in a child
process with a time limit (registry.probe): one that fails, hangs, ends its process or
declares a tool that cannot be described is reported in one line and never imported here.
Built-ins are trusted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import importlib.util
import json
import pkgutil
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from llmos_shell.errors import PluginError, UnknownToolError
from llmos_shell.registry.probe import PluginSource, probe_all
from llmos_shell.registry.tool import NAME_RE, Tool

ENTRY_POINT_GROUP = "llmos_shell.tools"
DEFAULT_IMPORT_TIMEOUT_S = 5.0  # the setting plugin_import_timeout_s


def tools_in_module(module: ModuleType) -> list[Tool]:
    """Every `Tool` defined at the top level of a module, in definition order."""
    return [value for value in vars(module).values() if isinstance(value, Tool)]


class ToolSource(Protocol):
    """Where tools come from: a name, the tools it offers, and how to let it go."""

    @property
    def name(self) -> str:
        """Shown as each tool's source: "built-in:files", "file:PATH", "mcp:NAME"."""

    def list_tools(self) -> list[Tool]:
        """The source's tools; raises (PluginError or anything else) when it cannot list them."""

    def close(self) -> None:
        """Let go of what the source holds (a server process, a session)."""


@dataclass
class ModuleSource:
    """Tools defined at the top level of a Python module, imported when first listed."""

    name: str
    importer: Callable[[], ModuleType]
    probe: PluginSource | None = None  # how to try it apart first (None: trusted, a built-in)

    def list_tools(self) -> list[Tool]:
        """Import the module and return its tools."""
        return tools_in_module(self.importer())

    def close(self) -> None:
        """Nothing to let go of: the module stays imported."""


@dataclass
class Registry:
    """The tools the planner may call, keyed by name, with the warnings met while loading."""

    _tools: dict[str, Tool] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    sources: list[ToolSource] = field(default_factory=list)

    def include(self, source: ToolSource) -> int:
        """Add every tool a source lists; a source that fails is one warning, never fatal.

        Returns how many tools it added.
        """
        try:
            found = source.list_tools()
        except PluginError as exc:
            self.warnings.append(f"plugin {source.name} skipped: {exc}")
            return 0
        except KeyboardInterrupt:
            raise  # the person pressed Ctrl-C while it loaded: that is theirs to stop
        except SystemExit as exc:  # sys.exit() at import would otherwise end `llmos tools`
            self.warnings.append(
                f"plugin {source.name} skipped: it called sys.exit({exc.code!r}) while being imported"
            )
            return 0
        except BaseException as exc:  # a broken source must never take the shell down
            self.warnings.append(
                f"plugin {source.name} skipped: it failed to import ({type(exc).__name__}: {exc})"
            )
            return 0
        self.sources.append(source)
        if not found:
            self.warnings.append(f"plugin {source.name} defines no @tool functions; nothing loaded")
        added = 0
        for item in found:
            problem = None if source.name.startswith("built-in:") else describe_problem(item)
            if problem is not None:
                self.warnings.append(f"plugin {source.name} skipped: {problem}")
                continue
            self.add(item, source.name)
            added += 1
        return added

    def close(self) -> None:
        """Close every source (servers stop); the registry is not used after this."""
        for source in self.sources:
            with contextlib.suppress(Exception):
                source.close()

    def add(self, new: Tool, source: str) -> Tool:
        """Register a tool; on a name clash the first one keeps the name, visibly."""
        new = dataclasses.replace(new, source=source)
        if new.name in self._tools:
            label = Path(source.split(":", 1)[-1]).stem.rsplit(".", 1)[-1]
            prefix = re.sub(r"[^a-z0-9_]", "_", label.lower())
            renamed = f"{prefix}_{new.name}"[:64]
            if renamed in self._tools or not NAME_RE.match(renamed):
                self.warnings.append(
                    f"tool {new.name!r} from {source} clashes with the one from "
                    f"{self._tools[new.name].source}; skipped it, rename it in its plugin"
                )
                return self._tools[new.name]
            self.warnings.append(
                f"tool {new.name!r} from {source} clashes with the one from "
                f"{self._tools[new.name].source}; it is available as {renamed!r}"
            )
            new = dataclasses.replace(new, name=renamed)
        self._tools[new.name] = new
        return new

    def add_module(self, module: ModuleType, source: str) -> int:
        """Register every tool a module defines; returns how many."""
        return self.include(ModuleSource(source, lambda: module))

    def get(self, name: str) -> Tool:
        """The tool called `name`; raises UnknownToolError naming the ones that exist."""
        try:
            return self._tools[name]
        except KeyError:
            known = ", ".join(sorted(self._tools)) or "none"
            raise UnknownToolError(
                f"there is no tool called {name!r}; known tools: {known} "
                "(run `llmos tools` to see them)"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def names(self) -> list[str]:
        """Tool names in registration order."""
        return list(self._tools)

    def shell_tool(self) -> Tool:
        """The tool that runs shell commands (the first whose `shell_command_arg` is set)."""
        for item in self._tools.values():
            if item.shell_command_arg is not None:
                return item
        raise UnknownToolError(
            "no tool runs shell commands, so a suggested command cannot run here; copy it "
            "and run it yourself, or install a plugin that declares shell_command_arg"
        )

    def subset(self, names: Sequence[str]) -> Registry:
        """A registry holding only the named tools (unknown names raise)."""
        return Registry({name: self.get(name) for name in names})


def describe_problem(item: Tool) -> str | None:
    """Why a tool cannot be offered to a model (its schema cannot be built), or None."""
    try:
        json.dumps(item.definition())
        _ = item.kinds
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # RecursionError from a type that refers to itself, ...
        return (
            f"its tool {item.name!r} has parameters that cannot be described to a model "
            f"({type(exc).__name__}: {str(exc)[:120]})"
        )
    return None


def discover(
    plugin_dir: Path | None = None,
    *,
    builtins: bool = True,
    entry_point_group: str = ENTRY_POINT_GROUP,
    import_timeout_s: float | None = DEFAULT_IMPORT_TIMEOUT_S,
    cache_dir: Path | None = None,
) -> Registry:
    """Load built-in tools, installed entry-point plugins, then `*.py` files in `plugin_dir`.

    Each plugin is first tried in a child process for at most `import_timeout_s` seconds (None:
    imported here directly); its verdict is cached in `cache_dir`. A plugin that fails is
    reported in `warnings` and skipped.
    """
    registry = Registry()
    found = list(sources(plugin_dir, builtins=builtins, entry_point_group=entry_point_group))
    probes = [s.probe for s in found if isinstance(s, ModuleSource) and s.probe is not None]
    verdicts: dict[str, str | None] = {}
    if probes and import_timeout_s is not None:
        verdicts = probe_all(probes, import_timeout_s, cache_dir)
    for source in found:
        why = verdicts.get(source.name)
        if why is not None:
            registry.warnings.append(f"plugin {source.name} skipped: {why}")
            continue
        registry.include(source)
    return registry


def sources(
    plugin_dir: Path | None = None,
    *,
    builtins: bool = True,
    entry_point_group: str = ENTRY_POINT_GROUP,
) -> Iterator[ToolSource]:
    """The module sources, in the order their tools are registered (the first keeps a name)."""
    if builtins:
        import llmos_tools

        for info in pkgutil.iter_modules(llmos_tools.__path__):
            if info.name.startswith("_"):
                continue
            yield ModuleSource(
                f"built-in:{info.name}",
                functools.partial(importlib.import_module, f"llmos_tools.{info.name}"),
            )
    for ep in entry_points(group=entry_point_group):
        name = f"plugin:{ep.name}"
        probe = PluginSource(
            name, ("entry", ep.name, ep.value, entry_point_group), None, _entry_point_stamp(ep)
        )
        yield ModuleSource(name, functools.partial(entry_point_module, ep), probe)
    if plugin_dir is not None and plugin_dir.is_dir():
        for path in sorted(plugin_dir.glob("*.py")):
            if path.name.startswith("_"):
                continue
            name = f"file:{path}"
            probe = PluginSource(name, ("file", str(path)), path)
            yield ModuleSource(name, functools.partial(import_plugin_file, path), probe)


def _entry_point_stamp(ep: Any) -> str | None:
    """What an entry point's verdict depends on: its distribution and version (found without
    importing anything of it), or None when unknown."""
    dist = getattr(ep, "dist", None)
    if dist is None:
        return None
    return f"{dist.metadata['Name']}=={dist.version}:{ep.value}"


def entry_point_module(ep: Any) -> ModuleType:
    """The module (or a module holding the one tool) an entry point names."""
    loaded = ep.load()
    if isinstance(loaded, ModuleType):
        return loaded
    if isinstance(loaded, Tool):
        module = ModuleType(ep.value)
        module.__dict__[loaded.name] = loaded
        return module
    raise PluginError(f"entry point {ep.value!r} is neither a module nor a tool")


def import_plugin_file(path: Path) -> ModuleType:
    """Import a plugin file as the module `llmos_user_plugin_<stem>` (its tools' module name)."""
    module_name = f"llmos_user_plugin_{re.sub(r'[^0-9a-zA-Z_]', '_', path.stem)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module
