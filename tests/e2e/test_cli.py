"""The `llmos` command run as a person runs it: a separate process, with the real model.

Every process gets the isolated HOME and LLMOS_* dirs of the test, and a stdin that is not a
terminal. The few commands that load the model share one prefix cache folder (in tmp), so only
the first of them evaluates the static prompt; the others start warm, as a person's would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from llmos_shell.registry import discover

MODEL_TIMEOUT_S = 600  # the real model may share two cores with other work
QUICK_TIMEOUT_S = 60
# The commands run with the module's prefix cache load the real model (conftest.py marks them).
MODEL_FIXTURES = frozenset({"prefix_cache"})
HEAVY_MODULES = (
    "llama_cpp",
    "numpy",
    "torch",
    "transformers",
    "chromadb",
    "sentence_transformers",
    "rich",
    "prompt_toolkit",
    "tree_sitter",
    "psutil",
    "openai",
    "httpx",
    "httpx2",
    "huggingface_hub",
    "gguf",
    "apscheduler",
    "sqlalchemy",
    "pydantic",  # the settings and the tools' argument models: a third of a second to import
    "pydantic_settings",
)
DISK_REQUEST = "how much disk space is free?"
PLANNED_CALL = re.compile(r"^[→✗] (\w+)\(", re.MULTILINE)


@pytest.fixture(scope="module")
def prefix_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One prefix cache for the module's model runs, so that only the first one is cold."""
    return tmp_path_factory.mktemp("prefix-cache")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    return work


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path / "config"


@pytest.fixture
def audit_log(tmp_path: Path) -> Path:
    return tmp_path / "state" / "audit.jsonl"


def llmos(
    *args: str,
    cwd: Path | None = None,
    cache: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = QUICK_TIMEOUT_S,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `python -m llmos_shell ARGS` with the test's (isolated) environment."""
    environ = os.environ.copy()  # the autouse fixture points every dir into tmp_path
    if cache is not None:
        environ["LLMOS_CACHE_DIR"] = str(cache)
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "llmos_shell", *args],
        env=environ,
        cwd=cwd,
        stdin=subprocess.DEVNULL if input is None else None,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_one_error_line(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 1, nothing on stdout, and one `llmos: error:` line holding every needle."""
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert line.startswith("llmos: error: ")
    for needle in needles:
        assert needle in line
    return line


# --- without the model ------------------------------------------------------------------------


def test_help_exits_0_and_names_the_commands() -> None:
    proc = llmos("--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: llmos")
    for command in ("plan", "suggest", "tools", "config", "--dry-run", "--yes", "models use"):
        assert command in proc.stdout
    for command in ("models pull", "doctor", "stats", "undo [N]", "--backend", "--device"):
        assert command in proc.stdout


def test_help_imports_no_heavy_library() -> None:
    snippet = f"""
import json, sys
from llmos_shell.cli import main
for argv in (
    ["--help"], ["plan", "--help"], ["tools", "--help"], ["--version"],
    ["models", "--help"], ["doctor", "--help"], ["stats", "--help"], ["undo", "--help"],
):
    try:
        main(argv)
    except SystemExit as exc:
        assert exc.code == 0, (argv, exc.code)
print(json.dumps(sorted(name for name in {HEAVY_MODULES!r} if name in sys.modules)))
"""
    proc = subprocess.run(
        [sys.executable, "-c", snippet],
        env=os.environ.copy(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=QUICK_TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == []


def test_tools_lists_the_tools_with_their_risk() -> None:
    proc = llmos("tools")
    assert proc.returncode == 0, proc.stderr
    for name in ("disk_usage", "run_shell", "delete_path"):
        assert name in proc.stdout
    assert "destructive" in proc.stdout and "read-only" in proc.stdout


def test_tools_json_is_the_registry() -> None:
    proc = llmos("tools", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    registry = discover(None)
    assert [row["name"] for row in rows] == [item.name for item in registry]
    by_name = {row["name"]: row for row in rows}
    assert by_name["delete_path"]["risk"] == "destructive"
    assert by_name["disk_usage"]["risk"] == "read-only"
    assert by_name["disk_usage"]["parameters"] == registry.get("disk_usage").parameters_schema()


def test_a_user_plugin_is_listed_and_a_broken_one_is_skipped(config_dir: Path) -> None:
    plugins = config_dir / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "greet.py").write_text(
        "from llmos_shell.registry import tool\n\n\n"
        "@tool\n"
        "def greet(name: str) -> str:\n"
        '    """Say hello to someone."""\n'
        '    return f"hello {name}"\n'
    )
    (plugins / "broken.py").write_text("import no_such_module_anywhere\n")
    proc = llmos("tools", "--json")
    assert proc.returncode == 0, proc.stderr
    by_name = {row["name"]: row for row in json.loads(proc.stdout)}
    assert by_name["greet"]["source"] == f"file:{plugins / 'greet.py'}"
    assert "disk_usage" in by_name
    assert "broken.py" in proc.stderr and "warning" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_config_shows_each_setting_and_where_it_came_from(config_dir: Path) -> None:
    config_dir.mkdir()
    config_file = config_dir / "config.toml"
    config_file.write_text("temperature = 0.5\n")
    proc = llmos("config", env={"LLMOS_MAX_STEPS": "3"})
    assert proc.returncode == 0, proc.stderr
    shown = proc.stdout.splitlines()
    assert f"temperature = 0.5  # {config_file}" in shown
    assert "max_steps = 3  # environment (LLMOS_MAX_STEPS)" in shown
    assert "context_size = 4096  # default" in shown


def test_config_output_pasted_into_config_toml_loads_the_same_settings(config_dir: Path) -> None:
    config_dir.mkdir()
    (config_dir / "config.toml").write_text('model_dirs = ["~/models", "/opt/m"]\n')
    shown = llmos("config")
    assert shown.returncode == 0, shown.stderr
    assert 'model_dirs = ["~/models", "/opt/m"]' in shown.stdout
    (config_dir / "config.toml").write_text(shown.stdout)  # every line, comments and all
    again = llmos("config", "--json")
    assert again.returncode == 0, again.stderr
    settings = json.loads(again.stdout)["settings"]
    assert settings["model_dirs"]["value"] == ["~/models", "/opt/m"]
    assert settings["threads"]["value"] is None and settings["model"]["value"] is None


def test_config_json(config_dir: Path, tmp_path: Path) -> None:
    config_dir.mkdir()
    (config_dir / "config.toml").write_text("temperature = 0.5\n")
    proc = llmos("config", "--json", env={"LLMOS_MAX_STEPS": "3"})
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    settings = data["settings"]
    assert settings["temperature"] == {"value": 0.5, "source": str(config_dir / "config.toml")}
    assert settings["max_steps"] == {"value": 3, "source": "environment (LLMOS_MAX_STEPS)"}
    assert settings["context_size"]["source"] == "default"
    assert data["paths"]["audit_log"] == str(tmp_path / "state" / "audit.jsonl")
    assert data["paths"]["history_file"] == str(tmp_path / "state" / "history")
    assert data["paths"]["plugin_dir"] == str(config_dir / "plugins")
    assert data["warnings"] == []


@pytest.mark.parametrize("command", [["config"], ["tools"], ["plan", "hi"], ["hi"]])
def test_an_unknown_config_key_is_one_line_naming_file_and_key(
    config_dir: Path, command: list[str]
) -> None:
    config_dir.mkdir()
    config_file = config_dir / "config.toml"
    config_file.write_text("temprature = 0.5\n")
    proc = llmos(*command)
    assert_one_error_line(proc, str(config_file), "'temprature'", "temperature")


def test_an_invalid_config_value_is_one_line(config_dir: Path) -> None:
    config_dir.mkdir()
    (config_dir / "config.toml").write_text("context_size = 5\n")
    assert_one_error_line(llmos("config"), "config.toml", "context_size")


@pytest.mark.parametrize("command", [["hi"], ["plan", "hi"], ["--json", "hi"]])
def test_a_missing_model_is_one_sentence(command: list[str]) -> None:
    proc = llmos("--model", "/nonexistent.gguf", *command)
    line = assert_one_error_line(proc, "/nonexistent.gguf", "does not exist")
    assert ". " not in line  # one sentence


# --- with the real model (five processes, one cold prefix) ------------------------------------


def test_plan_json_is_a_valid_call_or_an_answer(prefix_cache: Path, audit_log: Path) -> None:
    proc = llmos("plan", "--json", DISK_REQUEST, cache=prefix_cache, timeout=MODEL_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {"calls", "answer", "memories"}
    assert data["memories"] == []  # a fresh data dir remembers nothing yet
    registry = discover(None)
    for planned in data["calls"]:
        registry.get(planned["tool"]).validate(planned["arguments"])  # raises if invalid
    assert data["calls"] or (isinstance(data["answer"], str) and data["answer"].strip())
    assert not audit_log.exists()  # planning runs nothing


def _spec(name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": name, "description": name, "parameters": parameters},
    }


def test_plan_batch_survives_schemas_a_grammar_engine_chokes_on(prefix_cache: Path) -> None:
    """Valid JSON Schemas that once crashed the process (SIGSEGV in llama.cpp) give a line each."""
    awkward = [
        _spec("pick", {"type": "object", "properties": {"x": {"enum": ['say "hi"', "a\\b"]}}}),
        _spec("quote", {"type": "object", "properties": {'we"ird': {"type": "string"}}}),
        _spec("empty", {"type": "object", "properties": {"x": {"anyOf": []}}, "required": ["x"]}),
        _spec("many", {"type": "object", "properties": {"x": {"type": "array", "maxItems": 5000}}}),
    ]
    lines = [json.dumps({"request": "pick say hi", "tools": [spec]}) for spec in awkward]
    lines.append('"how much disk space is free?"')
    proc = llmos(
        "plan",
        "--json",
        "-",
        cache=prefix_cache,
        timeout=MODEL_TIMEOUT_S,
        input="\n".join(lines),
        env={"LLMOS_SHORTLIST_SIZE": "0"},  # every tool offered, so every grammar is built
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == len(lines)
    assert "anyOf needs at least one option" in rows[2]["error"]
    for row in (rows[0], rows[1], rows[3], rows[4]):
        assert "error" not in row, row


def test_a_one_shot_request_runs_a_call_and_prints_its_result(
    prefix_cache: Path, workdir: Path
) -> None:
    proc = llmos(DISK_REQUEST, cwd=workdir, cache=prefix_cache, timeout=MODEL_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    # stdout is a pipe: the planned call goes to stderr, the result's values to stdout.
    shown = PLANNED_CALL.findall(proc.stderr)
    assert shown, f"no call was shown for a request a tool answers:\n{proc.stderr}"
    registry = discover(None)
    for name in shown:
        registry.get(name)  # raises for a tool that does not exist
    assert proc.stdout.strip(), f"no result printed:\n{proc.stderr}"


def test_a_one_shot_request_as_json(prefix_cache: Path, workdir: Path, audit_log: Path) -> None:
    proc = llmos("--json", DISK_REQUEST, cwd=workdir, cache=prefix_cache, timeout=MODEL_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["request"] == DISK_REQUEST
    assert data["status"] == "answered"
    assert isinstance(data["answer"], str)
    ran = [step for step in data["steps"] if step["ran"]]
    assert ran, f"no call ran for a request a tool answers: {data}"
    for step in ran:  # nothing ran that needed a yes: no one was asked
        assert (step["verdict"], step["risk"]) == ("allow", "read-only"), step
        assert step["ok"] and step["data"] is not None, step
    # Every call that ran is in the audit log, and nothing else is.
    records = [json.loads(line) for line in audit_log.read_text().splitlines()]
    assert [record["call"] for record in records] == [
        {"tool": step["tool"], "arguments": step["arguments"]} for step in ran
    ]


def test_dry_run_executes_nothing(prefix_cache: Path, workdir: Path, audit_log: Path) -> None:
    proc = llmos(
        "--dry-run", DISK_REQUEST, cwd=workdir, cache=prefix_cache, timeout=MODEL_TIMEOUT_S
    )
    assert proc.returncode == 0, proc.stderr
    # stdout is a pipe: the planned call is said on stderr, and nothing ran to print.
    assert PLANNED_CALL.findall(proc.stderr), f"no planned call shown:\n{proc.stderr}"
    assert not audit_log.exists() or audit_log.read_text() == ""


def test_a_delete_request_without_a_terminal_runs_nothing_unasked(
    prefix_cache: Path, workdir: Path, audit_log: Path
) -> None:
    """Whatever the model plans for a delete, with no terminal to ask on, only what the policy
    allows without a yes runs; the file stays. (That a call needing a yes is declined with
    status 3 and the flag that would approve it is checked on a scripted plan below; which step
    the model picks is bench/data/plan_smoke.jsonl's smoke-004.)"""
    notes = workdir / "notes.txt"
    notes.write_text("keep me\n")
    proc = llmos(
        "--json",
        "delete the file notes.txt",
        cwd=workdir,
        cache=prefix_cache,
        timeout=MODEL_TIMEOUT_S,
    )
    assert "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)
    assert notes.read_text() == "keep me\n"
    registry = discover(None)
    for step in data["steps"]:
        registry.get(step["tool"]).validate(step["arguments"])
        if step["ran"]:
            assert step["verdict"] == "allow", step
        else:
            assert step["verdict"] != "allow", step
            if step["verdict"] == "ask":
                assert step["approved_by"], step  # says which flag would approve it
    declined = [step for step in data["steps"] if not step["ran"]]
    assert (data["status"] == "declined") == bool(declined)
    assert proc.returncode == (3 if declined else 0), proc.stderr
    records = (
        [json.loads(line) for line in audit_log.read_text().splitlines()] if data["steps"] else []
    )
    assert [r["call"]["tool"] for r in records] == [step["tool"] for step in data["steps"]]
    for record, step in zip(records, data["steps"], strict=True):
        assert (record["outcome"] == {"status": "not run"}) == (not step["ran"])


# --- hostile input: bytes, files that are not files, plugins that exit -----------------------

STRICT_UTF8 = {"LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8:strict"}


def llmos_bytes(
    *args: str, stdin: bytes, cache: Path | None = None, timeout: float = QUICK_TIMEOUT_S
) -> subprocess.CompletedProcess[bytes]:
    """Run `python -m llmos_shell ARGS` with `stdin` as raw bytes, under a strict UTF-8 locale."""
    environ = {**os.environ, **STRICT_UTF8}
    if cache is not None:
        environ["LLMOS_CACHE_DIR"] = str(cache)
    return subprocess.run(
        [sys.executable, "-m", "llmos_shell", *args],
        env=environ,
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def test_suggest_batch_survives_bytes_that_are_not_utf8() -> None:
    stdin = b'"\xff\xfe"\nnot json\n\x00\x01\x02\n{"request": "\\udc80"}\n'
    proc = llmos_bytes("suggest", "--json", "-", stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    assert [row["command"] for row in rows] == [None] * 4
    assert rows[0]["error"] == "the line is not UTF-8 text (byte 0xff at position 1)"
    assert "not JSON" in rows[1]["error"] and "not JSON" in rows[2]["error"]
    assert "half of a UTF-16 surrogate pair" in rows[3]["error"]


def test_plan_batch_keeps_the_lines_around_a_binary_one(prefix_cache: Path) -> None:
    stdin = f'"{DISK_REQUEST}"\n'.encode() + b"\x89PNG\r\n\x1a\n" + b'"\xc3\x28"\n[1]\n'
    proc = llmos_bytes(
        "plan", "--json", "-", stdin=stdin, cache=prefix_cache, timeout=MODEL_TIMEOUT_S
    )
    assert proc.returncode == 0, proc.stderr
    assert b"internal error" not in proc.stdout + proc.stderr
    rows = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    assert len(rows) == 5  # the PNG signature holds a newline: two input lines
    assert "error" not in rows[0] and (rows[0]["calls"] or rows[0]["answer"])
    assert rows[1]["error"] == "the line is not UTF-8 text (byte 0x89 at position 0)"
    assert "not JSON" in rows[2]["error"]
    assert rows[3]["error"] == "the line is not UTF-8 text (byte 0xc3 at position 1)"
    assert "JSON string or an object" in rows[4]["error"]


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (os.mkfifo, "a FIFO (named pipe)"),
        (os.mkdir, "a folder"),
        (lambda path: os.symlink("/dev/zero", path), "a character device"),
        (lambda path: Path(path).write_bytes(b'model = "\xe9"\n'), "not UTF-8 text"),
        (lambda path: Path(path).write_text("a = " + "[" * 5000 + "]" * 5000), "nested too deeply"),
    ],
    ids=["fifo", "folder", "device", "latin1", "deep"],
)
def test_a_config_that_cannot_be_read_is_one_line_and_never_hangs(
    config_dir: Path, make: Any, kind: str
) -> None:
    config_dir.mkdir()
    make(config_dir / "config.toml")
    for command in (["config"], ["tools"], ["hi"]):
        assert_one_error_line(llmos(*command), str(config_dir / "config.toml"), kind)


@pytest.mark.parametrize(
    "command",
    [["plan", "hi"], ["--backend", "transformers", "plan", "hi"], ["hi"]],
    ids=["llama-cpp", "transformers", "one-shot"],
)
def test_a_fifo_as_the_model_is_one_line_and_never_hangs(workdir: Path, command: list[str]) -> None:
    fifo = workdir / "model.gguf"
    os.mkfifo(fifo)
    proc = llmos("--model", str(fifo), *command)
    assert_one_error_line(proc, str(fifo), "is a FIFO (named pipe), not a model file")


def test_doctor_names_a_device_as_the_model_and_finishes() -> None:
    proc = llmos("--model", "/dev/zero", "doctor")
    assert proc.returncode == 1
    [line] = [line for line in proc.stdout.splitlines() if "model" in line.split()[:2]]
    assert "/dev/zero is a character device, not a model file" in line


def test_plugins_that_exit_at_import_are_skipped_and_the_rest_listed(config_dir: Path) -> None:
    plugins = config_dir / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "greet.py").write_text(
        "from llmos_shell.registry import tool\n\n\n"
        "@tool\n"
        "def greet(name: str) -> str:\n"
        '    """Say hello to someone."""\n'
        '    return f"hello {name}"\n'
    )
    (plugins / "quits.py").write_text("import sys\nsys.exit(3)\n")
    (plugins / "raises.py").write_text('raise SystemExit("not today")\n')
    (plugins / "odd.py").write_text("class Odd(BaseException):\n    pass\n\nraise Odd('boom')\n")
    proc = llmos("tools", "--json")
    assert proc.returncode == 0, proc.stderr
    names = {row["name"] for row in json.loads(proc.stdout)}
    assert {"greet", "disk_usage", "delete_path"} <= names
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: ")]
    assert sorted(warnings) == [
        f"warning: plugin file:{plugins / 'odd.py'} skipped: it failed to import (Odd: boom)",
        f"warning: plugin file:{plugins / 'quits.py'} skipped: it called sys.exit(3) while "
        "being imported",
        f"warning: plugin file:{plugins / 'raises.py'} skipped: it called sys.exit('not today') "
        "while being imported",
    ]
