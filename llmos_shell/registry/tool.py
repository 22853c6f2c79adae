"""The `@tool` decorator and the `Tool` it builds from a typed function.

A tool is a plain typed Python function with a docstring. The decorator turns it into a
`Tool`: a name, a description, a pydantic model of its arguments (which gives the JSON Schema
and validation), and policy metadata that the model never sees (risk, reversibility).
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pydantic
from pydantic.fields import FieldInfo

from llmos_shell.calls import ExecutionContext, Risk
from llmos_shell.errors import PluginError, describe_validation
from llmos_shell.registry.kinds import Kind, argument_kinds
from llmos_shell.registry.overwrites import RiskFor
from llmos_shell.registry.schema_walk import choices, types

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


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
    declared_kinds: Mapping[str, str] = field(default_factory=dict)
    context_arg: str | None = None  # the parameter that receives the ExecutionContext
    in_process: bool = False  # runs in the shell's own process, not in a worker
    # this call's risk from its arguments and the disk (registry.overwrites); None: the rule
    risk_for: RiskFor | None = None
    # How to state a result as the answer: (words of the request that ask for it, template)
    # pairs, tried in order; empty words is the default (see planning/headlines.py).
    headline: tuple[tuple[frozenset[str], str], ...] = ()

    @functools.cached_property
    def kinds(self) -> dict[str, Kind]:
        """The kind of each argument: declared by the tool, else read from its schema."""
        return argument_kinds(self.parameters_schema(), self.declared_kinds)

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

    def invoke(self, arguments: Mapping[str, Any], context: ExecutionContext | None = None) -> Any:
        """Validate the arguments and run the function with them (and the context it asks for)."""
        model = self.validate(arguments)
        values = {name: getattr(model, name) for name in type(model).model_fields}
        if self.context_arg is not None:
            values[self.context_arg] = context if context is not None else ExecutionContext()
        return self.func(**values)


@typing.overload
def tool(
    func: Callable[..., Any],
    *,
    risk: Risk | str = ...,
    name: str | None = ...,
    reversible: bool | None = ...,
    examples: Sequence[tuple[str, Mapping[str, Any]]] = ...,
    shell_command_arg: str | None = ...,
    kinds: Mapping[str, str] | None = ...,
    in_process: bool = ...,
    risk_for: RiskFor | None = ...,
    headline: str | Sequence[tuple[str, str]] | None = ...,
) -> Tool: ...


@typing.overload
def tool(
    func: None = None,
    *,
    risk: Risk | str = ...,
    name: str | None = ...,
    reversible: bool | None = ...,
    examples: Sequence[tuple[str, Mapping[str, Any]]] = ...,
    shell_command_arg: str | None = ...,
    kinds: Mapping[str, str] | None = ...,
    in_process: bool = ...,
    risk_for: RiskFor | None = ...,
    headline: str | Sequence[tuple[str, str]] | None = ...,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    func: Callable[..., Any] | None = None,
    *,
    risk: Risk | str = Risk.READ_ONLY,
    name: str | None = None,
    reversible: bool | None = None,
    examples: Sequence[tuple[str, Mapping[str, Any]]] = (),
    shell_command_arg: str | None = None,
    kinds: Mapping[str, str] | None = None,
    in_process: bool = False,
    risk_for: RiskFor | None = None,
    headline: str | Sequence[tuple[str, str]] | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Turn a typed function into a `Tool`.

    `risk` is one of read-only, write, network, destructive, privileged, unknown. `examples` are
    `(request, arguments)` pairs. `shell_command_arg` names an argument that holds a shell
    command, whose risk the policy then reads from the command itself. `kinds` says what
    some arguments hold ({"path": "path", "limit": "count"}; see registry.kinds.Kind), so
    the planner fills and checks them well; the others are read from their schema. A tool
    runs in a worker process that is killed when it runs out of time or is cancelled;
    `in_process` keeps it in the shell's own process, for a tool that needs the shell's
    objects (it then stops on cancel only by looking at its ExecutionContext). A parameter typed
    `ExecutionContext` receives the context of the call and is not shown to the model.
    `risk_for(arguments, folder)` returns a `CallRisk` for a call riskier than `risk` (a write
    over an existing file is destructive); without it, a write tool's first path argument that
    names existing content makes the call destructive (see registry.overwrites).
    `headline` states a result as the answer: a template such as "saved to {saved_to}", or
    (words, template) pairs where the first whose words the request uses wins ("free": "{first.mountpoint}
    has {first.free_human} free"); `{first.x}` is the first row of the result's list,
    `{count}` a field, `{args.x}` an argument of the call.
    """

    def build(fn: Callable[..., Any]) -> Tool:
        return _build_tool(
            fn,
            risk=Risk(risk),
            name=name,
            reversible=reversible,
            examples=examples,
            shell_command_arg=shell_command_arg,
            kinds=kinds or {},
            in_process=in_process,
            risk_for=risk_for,
            headline=_headlines(headline),
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
    kinds: Mapping[str, str],
    in_process: bool = False,
    risk_for: RiskFor | None = None,
    headline: tuple[tuple[frozenset[str], str], ...] = (),
) -> Tool:
    tool_name = name or fn.__name__
    where = f"{fn.__module__}.{fn.__qualname__}"
    if not NAME_RE.match(tool_name):
        raise PluginError(
            f"tool {where}: name {tool_name!r} must be lower-case letters, digits and "
            "underscores, starting with a letter"
        )
    doc = inspect.getdoc(fn) or ""
    summary, arg_docs = _parse_docstring(doc)
    if not summary:
        raise PluginError(f"tool {where}: add a docstring; its first line is what the model reads")
    args_model, context_arg = _args_model(fn, tool_name, where, arg_docs)
    fields = args_model.model_fields
    if shell_command_arg is not None and shell_command_arg not in fields:
        raise PluginError(
            f"tool {where}: shell_command_arg {shell_command_arg!r} is not one of its parameters"
        )
    for argument, kind in kinds.items():
        if argument not in fields:
            raise PluginError(f"tool {where}: kinds names {argument!r}, which is not a parameter")
        if kind not in {k.value for k in Kind}:
            known = ", ".join(k.value for k in Kind)
            raise PluginError(f"tool {where}: kind {kind!r} of {argument!r} is not one of {known}")
    checked: list[Example] = []
    for request, arguments in examples:
        try:
            args_model.model_validate(dict(arguments))
        except pydantic.ValidationError as exc:
            raise PluginError(
                f"tool {where}: example {request!r} has arguments that do not fit the "
                f"parameters ({describe_validation(exc, limit=1)})"
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
        declared_kinds=dict(kinds),
        context_arg=context_arg,
        in_process=in_process,
        risk_for=risk_for,
        headline=headline,
    )


def _headlines(
    spec: str | Sequence[tuple[str, str]] | None,
) -> tuple[tuple[frozenset[str], str], ...]:
    """The headline pairs of a tool: a lone template is the default."""
    if spec is None:
        return ()
    if isinstance(spec, str):
        return ((frozenset(), spec),)
    return tuple((frozenset(words.lower().split()), template) for words, template in spec)


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
) -> tuple[type[pydantic.BaseModel], str | None]:
    """The pydantic model of the model-facing parameters, and the context parameter if any."""
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:  # a hint that names something undefined
        raise PluginError(f"tool {where}: its type hints cannot be resolved ({exc})") from None
    fields: dict[str, Any] = {}
    context_arg: str | None = None
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise PluginError(f"tool {where}: *args and **kwargs cannot be described to a model")
        if param.name not in hints:
            raise PluginError(f"tool {where}: parameter {param.name!r} needs a type hint")
        hint = hints[param.name]
        if hint is ExecutionContext:
            context_arg = param.name
            continue
        default: Any = ... if param.default is inspect.Parameter.empty else param.default
        if isinstance(default, FieldInfo):
            fields[param.name] = (hint, default)
            continue
        description = arg_docs.get(param.name)
        fields[param.name] = (hint, pydantic.Field(default, description=description))
    config = pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=False)
    try:
        model = pydantic.create_model(f"{_camel(tool_name)}Arguments", __config__=config, **fields)
        _clean_schema(model.model_json_schema())
    except Exception as exc:
        raise PluginError(f"tool {where}: its parameters have no JSON Schema ({exc})") from None
    return typing.cast("type[pydantic.BaseModel]", model), context_arg


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Inline `$defs` references and drop titles, so the schema is small and self-contained."""
    defs = schema.get("$defs", {})

    def walk(node: Any, inside: tuple[str, ...] = ()) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                target = node["$ref"].rsplit("/", 1)[-1]
                if target in inside:  # inlining it would never end
                    raise ValueError(f"the type {target} contains itself, which cannot be inlined")
                merged = {**defs.get(target, {}), **{k: v for k, v in node.items() if k != "$ref"}}
                return walk(merged, (*inside, target))
            return {
                key: walk(value, inside)
                for key, value in node.items()
                if key not in ("title", "$defs")
                and not (key == "default" and value is None and "anyOf" in node)
            }
        if isinstance(node, list):
            return [walk(item, inside) for item in node]
        return node

    cleaned = walk(schema)
    cleaned.setdefault("properties", {})
    cleaned["additionalProperties"] = False
    return typing.cast("dict[str, Any]", cleaned)


def signature(item: Tool) -> str:
    """The tool's arguments as a person reads them: `name(path?: string, top?: integer)`."""
    schema = item.parameters_schema()
    required = set(schema.get("required", []))
    params = []
    for name, spec in schema.get("properties", {}).items():
        kind = "/".join(types(spec)) or "any"
        allowed = choices(spec)
        if allowed:
            kind = "|".join(str(v) for v in allowed)
        params.append(f"{name}{'' if name in required else '?'}: {kind}")
    return f"{item.name}({', '.join(params)})"
