"""Tool plugins: the `@tool` decorator, the `Tool` it builds, and the registry that finds them.

A tool is a plain typed Python function with a docstring. The decorator turns it into a
`Tool`: a name, a description, a pydantic model of its arguments (which gives the JSON Schema
and validation), and policy metadata that the model never sees (risk, reversibility).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib
import importlib.util
import inspect
import pkgutil
import re
import sys
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pydantic
from pydantic.fields import FieldInfo

from llmos_shell.calls import Risk
from llmos_shell.errors import PluginError, UnknownToolError

ENTRY_POINT_GROUP = "llmos_shell.tools"
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class Example:
    """An example request and the arguments a right call would use for it."""

    request: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True, eq=False)
class Tool:
    """A registered tool: the model-facing definition plus the policy's metadata."""

    name: str
    description: str
    args_model: type[pydantic.BaseModel]
    func: Callable[..., Any]
    risk: Risk
    reversible: bool = True
    examples: tuple[Example, ...] = ()
    shell_command_arg: str | None = None
    source: str = "unknown"
    schema: dict[str, Any] | None = None  # set for tools described by a JSON Schema only

    @property
    def executable(self) -> bool:
        """Whether the tool has an implementation here (described-only tools do not)."""
        return self.schema is None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying function directly, as plain Python."""
        return self.func(*args, **kwargs)

    def parameters_schema(self) -> dict[str, Any]:
        """JSON Schema of the arguments, inlined and without titles (what the model sees)."""
        if self.schema is not None:
            return copy.deepcopy(self.schema)
        return _clean_schema(self.args_model.model_json_schema())

    def definition(self) -> dict[str, Any]:
        """OpenAI-style function definition: name, description, parameters."""
        return {
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters_schema(),
        }

    def validate(self, arguments: Mapping[str, Any]) -> pydantic.BaseModel:
        """Check arguments against the schema; raises pydantic.ValidationError."""
        return self.args_model.model_validate(dict(arguments))

    def invoke(self, arguments: Mapping[str, Any]) -> Any:
        """Validate the arguments and run the function with them."""
        model = self.validate(arguments)
        values = {name: getattr(model, name) for name in type(model).model_fields}
        return self.func(**values)


def tool(
    func: Callable[..., Any] | None = None,
    *,
    risk: Risk | str = Risk.READ_ONLY,
    name: str | None = None,
    reversible: bool | None = None,
    examples: Sequence[tuple[str, Mapping[str, Any]]] = (),
    shell_command_arg: str | None = None,
) -> Any:
    """Turn a typed function into a `Tool`.

    `risk` is one of read-only, write, destructive, network, privileged. `examples` are
    `(request, arguments)` pairs. `shell_command_arg` names an argument that holds a shell
    command, whose risk the policy then reads from the command itself.
    """

    def build(fn: Callable[..., Any]) -> Tool:
        return _build_tool(
            fn,
            risk=Risk(risk),
            name=name,
            reversible=reversible,
            examples=examples,
            shell_command_arg=shell_command_arg,
        )

    if func is not None:
        return build(func)
    return build


def _build_tool(
    fn: Callable[..., Any],
    *,
    risk: Risk,
    name: str | None,
    reversible: bool | None,
    examples: Sequence[tuple[str, Mapping[str, Any]]],
    shell_command_arg: str | None,
) -> Tool:
    tool_name = name or fn.__name__
    where = f"{fn.__module__}.{fn.__qualname__}"
    if not _NAME_RE.match(tool_name):
        raise PluginError(
            f"tool {where}: name {tool_name!r} must be lower-case letters, digits and "
            "underscores, starting with a letter"
        )
    doc = inspect.getdoc(fn) or ""
    summary, arg_docs = _parse_docstring(doc)
    if not summary:
        raise PluginError(f"tool {where}: add a docstring; its first line is what the model reads")
    args_model = _args_model(fn, tool_name, where, arg_docs)
    fields = args_model.model_fields
    if shell_command_arg is not None and shell_command_arg not in fields:
        raise PluginError(
            f"tool {where}: shell_command_arg {shell_command_arg!r} is not one of its parameters"
        )
    checked: list[Example] = []
    for request, arguments in examples:
        try:
            args_model.model_validate(dict(arguments))
        except pydantic.ValidationError as exc:
            raise PluginError(
                f"tool {where}: example {request!r} has arguments that do not fit the "
                f"parameters ({_first_error(exc)})"
            ) from None
        checked.append(Example(request=request, arguments=dict(arguments)))
    return Tool(
        name=tool_name,
        description=summary,
        args_model=args_model,
        func=fn,
        risk=risk,
        reversible=(risk in (Risk.READ_ONLY, Risk.WRITE)) if reversible is None else reversible,
        examples=tuple(checked),
        shell_command_arg=shell_command_arg,
        source=fn.__module__,
    )


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a Google-style docstring into its description and per-argument texts."""
    lines = doc.splitlines()
    summary_lines: list[str] = []
    arg_docs: dict[str, str] = {}
    in_args = False
    current: str | None = None
    for line in lines:
        stripped = line.strip()
        if stripped in ("Args:", "Arguments:", "Parameters:"):
            in_args = True
            continue
        if in_args:
            if stripped.endswith(":") and " " not in stripped:
                in_args = False  # another section such as Returns:
                continue
            match = re.match(r"^(\w+)\s*(\([^)]*\))?\s*:\s*(.*)$", stripped)
            if match and line.startswith((" ", "\t")) and not line.startswith(" " * 8):
                current = match.group(1)
                arg_docs[current] = match.group(3)
            elif current and stripped:
                arg_docs[current] += " " + stripped
            continue
        if stripped in ("Returns:", "Raises:", "Example:", "Examples:"):
            break
        summary_lines.append(stripped)
    summary = " ".join(part for part in summary_lines if part).strip()
    return summary, arg_docs


def _args_model(
    fn: Callable[..., Any], tool_name: str, where: str, arg_docs: dict[str, str]
) -> type[pydantic.BaseModel]:
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:  # a hint that names something undefined
        raise PluginError(f"tool {where}: its type hints cannot be resolved ({exc})") from None
    fields: dict[str, Any] = {}
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise PluginError(f"tool {where}: *args and **kwargs cannot be described to a model")
        if param.name not in hints:
            raise PluginError(f"tool {where}: parameter {param.name!r} needs a type hint")
        hint = hints[param.name]
        default: Any = ... if param.default is inspect.Parameter.empty else param.default
        if isinstance(default, FieldInfo):
            fields[param.name] = (hint, default)
            continue
        description = arg_docs.get(param.name)
        fields[param.name] = (hint, pydantic.Field(default, description=description))
    config = pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=False)
    try:
        model = pydantic.create_model(  # type: ignore[call-overload]
            f"{_camel(tool_name)}Arguments", __config__=config, **fields
        )
        model.model_json_schema()
    except Exception as exc:
        raise PluginError(f"tool {where}: its parameters have no JSON Schema ({exc})") from None
    return typing.cast("type[pydantic.BaseModel]", model)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _first_error(exc: pydantic.ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "arguments"
    return f"{loc}: {err['msg']}"


def _clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Inline `$defs` references and drop titles, so the schema is small and self-contained."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                target = node["$ref"].rsplit("/", 1)[-1]
                merged = {**defs.get(target, {}), **{k: v for k, v in node.items() if k != "$ref"}}
                return walk(merged)
            return {
                key: walk(value)
                for key, value in node.items()
                if key not in ("title", "$defs")
                and not (key == "default" and value is None and "anyOf" in node)
            }
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    cleaned = walk(schema)
    cleaned.setdefault("properties", {})
    cleaned["additionalProperties"] = False
    return typing.cast("dict[str, Any]", cleaned)


def tools_in_module(module: ModuleType) -> list[Tool]:
    """Every `Tool` defined at the top level of a module, in definition order."""
    return [value for value in vars(module).values() if isinstance(value, Tool)]


@dataclass
class Registry:
    """The tools the planner may call, keyed by name, with the warnings met while loading."""

    _tools: dict[str, Tool] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def add(self, new: Tool, source: str) -> Tool:
        """Register a tool; on a name clash the first one keeps the name, visibly."""
        new = dataclasses.replace(new, source=source)
        if new.name in self._tools:
            label = Path(source.split(":", 1)[-1]).stem.rsplit(".", 1)[-1]
            prefix = re.sub(r"[^a-z0-9_]", "_", label.lower())
            renamed = f"{prefix}_{new.name}"[:64]
            if renamed in self._tools or not _NAME_RE.match(renamed):
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
        found = tools_in_module(module)
        for item in found:
            self.add(item, source)
        return len(found)

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

    def subset(self, names: Sequence[str]) -> Registry:
        """A registry holding only the named tools (unknown names raise)."""
        return Registry({name: self.get(name) for name in names})


def discover(
    plugin_dir: Path | None = None,
    *,
    builtins: bool = True,
    entry_point_group: str = ENTRY_POINT_GROUP,
) -> Registry:
    """Load built-in tools, installed entry-point plugins, then `*.py` files in `plugin_dir`.

    A plugin that fails to import or declares a bad tool is reported in `warnings` and skipped.
    """
    registry = Registry()
    if builtins:
        import llmos_tools

        for info in pkgutil.iter_modules(llmos_tools.__path__):
            if info.name.startswith("_"):
                continue
            _load(
                registry,
                f"built-in:{info.name}",
                functools.partial(importlib.import_module, f"llmos_tools.{info.name}"),
            )
    for ep in entry_points(group=entry_point_group):
        _load(registry, f"plugin:{ep.name}", functools.partial(_entry_point_module, ep))
    if plugin_dir is not None and plugin_dir.is_dir():
        for path in sorted(plugin_dir.glob("*.py")):
            if path.name.startswith("_"):
                continue
            _load(registry, f"file:{path}", functools.partial(_import_file, path))
    return registry


def _entry_point_module(ep: Any) -> ModuleType:
    loaded = ep.load()
    if isinstance(loaded, ModuleType):
        return loaded
    if isinstance(loaded, Tool):
        module = ModuleType(ep.value)
        module.__dict__[loaded.name] = loaded
        return module
    raise PluginError(f"entry point {ep.value!r} is neither a module nor a tool")


def _import_file(path: Path) -> ModuleType:
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


def _load(registry: Registry, source: str, importer: Callable[[], ModuleType]) -> None:
    try:
        module = importer()
    except PluginError as exc:
        registry.warnings.append(f"plugin {source} skipped: {exc}")
        return
    except Exception as exc:  # a broken plugin must never take the shell down
        registry.warnings.append(
            f"plugin {source} skipped: it failed to import ({type(exc).__name__}: {exc})"
        )
        return
    if registry.add_module(module, source) == 0:
        registry.warnings.append(f"plugin {source} defines no @tool functions; nothing loaded")
