"""The @tool decorator, schema generation, and plugin discovery."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Literal

import pydantic
import pytest

from llmos_shell.calls import Risk
from llmos_shell.errors import PluginError, UnknownToolError
from llmos_shell.registry import Registry, Tool, discover, tool


@tool(risk=Risk.WRITE, examples=[("save hi to a.txt", {"path": "a.txt", "text": "hi"})])
def save_note(path: str, text: str, mode: Literal["overwrite", "append"] = "overwrite") -> str:
    """Save text to a file.

    Args:
        path: where to write
        text: what to write,
            possibly long
        mode: overwrite or append
    """
    return f"{mode}:{path}:{text}"


def test_decorator_builds_tool_with_schema_and_metadata() -> None:
    assert isinstance(save_note, Tool)
    assert save_note.name == "save_note"
    assert save_note.description == "Save text to a file."
    assert save_note.risk is Risk.WRITE
    assert save_note.reversible is True
    schema = save_note.parameters_schema()
    assert schema["required"] == ["path", "text"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["mode"]["enum"] == ["overwrite", "append"]
    assert schema["properties"]["text"]["description"] == "what to write, possibly long"
    assert "title" not in schema and "title" not in schema["properties"]["path"]
    assert save_note.examples[0].arguments == {"path": "a.txt", "text": "hi"}
    assert save_note("a", "b") == "overwrite:a:b"


def test_invoke_validates_arguments() -> None:
    assert save_note.invoke({"path": "x", "text": "y", "mode": "append"}) == "append:x:y"
    with pytest.raises(pydantic.ValidationError):
        save_note.invoke({"path": "x"})
    with pytest.raises(pydantic.ValidationError):
        save_note.invoke({"path": "x", "text": "y", "mode": "delete"})
    with pytest.raises(pydantic.ValidationError):
        save_note.invoke({"path": "x", "text": "y", "surprise": 1})


def test_destructive_defaults_to_irreversible() -> None:
    @tool(risk="destructive")
    def wipe(path: str) -> None:
        """Wipe a thing."""

    assert wipe.risk is Risk.DESTRUCTIVE
    assert wipe.reversible is False


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def f(x):\n    '''Doc.'''\n", "needs a type hint"),
        ("def f(x: int):\n    pass\n", "add a docstring"),
        ("def f(*a: int):\n    '''Doc.'''\n", "*args"),
        ("def BadName(x: int):\n    '''Doc.'''\n", "must be lower-case"),
        ("import socket\ndef f(s: socket.socket):\n    '''Doc.'''\n", "no JSON Schema"),
    ],
)
def test_bad_tools_are_rejected_with_a_clear_reason(source: str, message: str) -> None:
    namespace: dict[str, object] = {"__name__": "plugin_under_test"}
    exec(compile(source, "<plugin>", "exec"), namespace)
    fn = next(v for k, v in namespace.items() if callable(v) and k not in ("socket",))
    with pytest.raises(PluginError, match=message.replace("*", r"\*")):
        tool(fn)  # type: ignore[arg-type]


def test_example_that_does_not_fit_the_schema_is_rejected() -> None:
    def count(n: int) -> int:
        """Count."""
        return n

    with pytest.raises(PluginError, match="example 'three'"):
        tool(count, examples=[("three", {"n": "three"})])


def test_builtins_are_discovered() -> None:
    registry = discover(None)
    names = registry.names()
    for expected in ("list_directory", "disk_usage", "run_shell", "list_processes"):
        assert expected in names
    assert all(item.source.startswith("built-in:") for item in registry)
    assert registry.warnings == []


def _write_plugin(folder: Path, name: str, body: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(body))


def test_user_plugin_folder_broken_plugins_and_clashes(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    _write_plugin(
        plugins,
        "weather.py",
        """
        from llmos_shell.registry import tool

        @tool(risk="network")
        def forecast(city: str) -> str:
            '''Tell the weather forecast for a city.'''
            return city

        @tool
        def disk_usage(path: str = "/") -> str:
            '''A plugin's own disk usage.'''
            return path
        """,
    )
    _write_plugin(plugins, "broken.py", "import does_not_exist_anywhere\n")
    _write_plugin(
        plugins,
        "badschema.py",
        """
        from llmos_shell.registry import tool

        @tool
        def oops(x):
            '''No hint.'''
        """,
    )
    _write_plugin(plugins, "empty.py", "X = 1\n")
    registry = discover(plugins)
    assert registry.get("forecast").risk is Risk.NETWORK
    assert registry.get("forecast").source.endswith("weather.py")
    # The built-in keeps its name; the plugin's clashing tool is renamed, visibly.
    assert registry.get("disk_usage").source == "built-in:files"
    assert registry.get("weather_disk_usage").description == "A plugin's own disk usage."
    text = "\n".join(registry.warnings)
    assert "broken.py skipped" in text and "does_not_exist_anywhere" in text
    assert "badschema.py skipped" in text and "needs a type hint" in text
    assert "empty.py defines no @tool functions" in text
    assert "available as 'weather_disk_usage'" in text


def test_unknown_tool_error_names_known_tools() -> None:
    registry = Registry()
    registry.add(save_note, "test")
    with pytest.raises(UnknownToolError, match=r"no tool called 'frobnicate'.*save_note"):
        registry.get("frobnicate")
    assert "save_note" in registry and len(registry) == 1


def test_entry_point_plugins_are_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint

    import llmos_shell.registry.discovery as registry_module

    package = tmp_path / "site"
    _write_plugin(
        package,
        "llmos_weather_plugin.py",
        """
        from llmos_shell.registry import tool

        @tool(risk="network", examples=[("weather in Oslo", {"city": "Oslo"})])
        def weather(city: str) -> str:
            '''Tell the weather in a city.'''
            return f"sunny in {city}"
        """,
    )
    monkeypatch.syspath_prepend(str(package))
    points = [
        EntryPoint("weather", "llmos_weather_plugin", "llmos_shell.tools"),
        EntryPoint("one", "llmos_weather_plugin:weather", "llmos_shell.tools"),
        EntryPoint("missing", "llmos_no_such_module_here", "llmos_shell.tools"),
    ]
    monkeypatch.setattr(registry_module, "entry_points", lambda group: points)
    registry = discover(None, builtins=False)
    assert registry.get("weather").invoke({"city": "Oslo"}) == "sunny in Oslo"
    assert registry.get("weather").source == "plugin:weather"
    # The same tool again, through a second entry point, is renamed visibly.
    assert "one_weather" in registry.names()
    assert any("plugin:missing skipped" in w for w in registry.warnings)
