"""Plugins can't take the shell down: each is tried in a child process before it is imported."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import pytest

from llmos_shell import cli
from llmos_shell.calls import ToolCall
from llmos_shell.commands.doctor import check_plugins
from llmos_shell.config import load_config
from llmos_shell.registry import discover
from llmos_shell.registry.probe import CACHE_FILE
from llmos_shell.session import Session

BAD_PLUGINS = {
    "hangs.py": "import time\ntime.sleep(60)\n",
    "exits.py": "import os\nos._exit(3)\n",
    "sysexit.py": "import sys\nsys.exit(4)\n",
    "raises.py": "raise RuntimeError('no config for me')\n",
    "recursive.py": '''
        from __future__ import annotations

        import pydantic

        from llmos_shell.registry import tool


        class Node(pydantic.BaseModel):
            name: str
            children: list[Node] = []


        @tool
        def walk_tree(root: Node) -> str:
            """Walk a tree of names."""
            return root.name
        ''',
}
GOOD_PLUGIN = '''
    from llmos_shell.registry import tool

    print("a plugin that talks while it loads")


    @tool
    def shout(text: str) -> str:
        """Say the text in capitals."""
        return text.upper()
    '''


def write_plugins(folder: Path, good: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in BAD_PLUGINS.items():
        (folder / name).write_text(textwrap.dedent(body))
    if good:
        (folder / "good.py").write_text(textwrap.dedent(GOOD_PLUGIN))


def test_bad_plugins_are_skipped_in_one_line_each_and_the_rest_loads(tmp_path: Path) -> None:
    plugins, cache = tmp_path / "plugins", tmp_path / "cache"
    write_plugins(plugins)
    started = time.monotonic()
    registry = discover(plugins, import_timeout_s=6.0, cache_dir=cache)
    assert time.monotonic() - started < 30  # the 60 s import did not hold the start
    assert registry.get("shout").invoke({"text": "hi"}) == "HI"
    assert "walk_tree" not in registry
    warnings = {w.split(" skipped: ")[0].rsplit("/", 1)[-1]: w for w in registry.warnings}
    assert set(warnings) == set(BAD_PLUGINS)
    assert all("\n" not in w for w in registry.warnings)
    assert (
        "within 6 s" in warnings["hangs.py"] and "plugin_import_timeout_s" in warnings["hangs.py"]
    )
    assert "ended the process" in warnings["exits.py"] and "status 3" in warnings["exits.py"]
    assert "sys.exit(4)" in warnings["sysexit.py"]
    assert "no config for me" in warnings["raises.py"]
    assert "Node contains itself" in warnings["recursive.py"]
    kept = json.loads((cache / CACHE_FILE).read_text())
    assert len(kept) == len(BAD_PLUGINS)  # every verdict but the time-out


def test_a_kept_verdict_is_used_until_the_file_changes(tmp_path: Path) -> None:
    plugins, cache = tmp_path / "plugins", tmp_path / "cache"
    plugins.mkdir()
    plugin = plugins / "flaky.py"
    plugin.write_text("raise RuntimeError('first')\n")
    first = discover(plugins, builtins=False, import_timeout_s=5.0, cache_dir=cache)
    assert "first" in first.warnings[0]
    kept = json.loads((cache / CACHE_FILE).read_text())
    [key] = kept
    kept[key] = "the verdict from the cache"
    (cache / CACHE_FILE).write_text(json.dumps(kept))
    again = discover(plugins, builtins=False, import_timeout_s=5.0, cache_dir=cache)
    assert again.warnings == [f"plugin file:{plugin} skipped: the verdict from the cache"]
    plugin.write_text(textwrap.dedent(GOOD_PLUGIN))
    fixed = discover(plugins, builtins=False, import_timeout_s=5.0, cache_dir=cache)
    assert fixed.names() == ["shout"] and fixed.warnings == []


def test_llmos_tools_and_doctor_report_the_bad_plugins_and_a_call_still_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMOS_PLUGIN_IMPORT_TIMEOUT_S", "6")
    config = load_config()
    write_plugins(config.plugin_dir)
    assert cli.main(["tools"]) == 0
    out, err = capsys.readouterr()
    assert "shout" in out
    for name in BAD_PLUGINS:
        assert sum(name in line for line in err.splitlines()) == 1
    checks = list(check_plugins(config))
    assert sum(c.level.name == "WARN" for c in checks) == len(BAD_PLUGINS)
    registry = discover(config.plugin_dir, import_timeout_s=6.0, cache_dir=config.paths.cache_dir)
    step = Session(None, registry).run_call(ToolCall("shout", {"text": "ok"}), request="shout ok")
    assert step.result is not None and step.result.data == "OK"
