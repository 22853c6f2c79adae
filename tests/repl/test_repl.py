"""The interactive shell driven through prompt-toolkit's pipe input, and its confirmer.

Requests that need a model use the real embedded one (the session-scoped `embedded_backend`,
loaded once per run). A scripted backend stands in only where a test checks the pipeline's
logic (what happens after a decline, a repeat, an interrupt), never the model path itself.
"""

from __future__ import annotations

import io
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from llmos_shell.app import App
from llmos_shell.backends.scripted import ScriptedBackend
from llmos_shell.calls import Decision, ToolCall, ToolResult, Verdict
from llmos_shell.config import load_config
from llmos_shell.errors import ExitStatus
from llmos_shell.registry import Tool
from llmos_shell.safety.policy import decide
from llmos_shell.session import Approval, Status
from llmos_shell.ui.repl.app import MAX_REQUEST_CHARS, SLASH_COMMANDS, Repl, run_shell
from llmos_shell.ui.repl.confirm import InteractiveConfirmer
from llmos_tools.files import delete_path, disk_usage, write_file
from llmos_tools.shell import run_shell as run_shell_tool

BRACKETED_PASTE_START = "\x1b[200~"
BRACKETED_PASTE_END = "\x1b[201~"
CTRL_C = "\x03"
CTRL_D = "\x04"
SHELL_DEADLINE_S = 60.0  # a shell with a scripted backend needs well under a second
MODEL_DEADLINE_S = 600.0  # the real model may share two cores with other work


def call(tool: str, **arguments: Any) -> dict[str, Any]:
    return {"tool": tool, "arguments": arguments}


def answer(text: str) -> dict[str, Any]:
    return {"answer": text}


def allows_calls(schema: dict[str, Any] | None) -> bool:
    """Whether a generation's schema lets the model call a tool (a final step does not)."""
    return '"tool"' in json.dumps(schema)


# --- driving the shell ------------------------------------------------------------------------


def make_app(backend: Any = None) -> App:
    """An App on the isolated config; `backend` is used instead of loading one."""
    app = App(config=load_config())
    if backend is not None:
        app._backend = backend
    return app


@dataclass
class ShellRun:
    """What one shell printed and returned."""

    code: int
    out: str
    repl: Repl | None

    @property
    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.out.splitlines()]


def drive(
    app: App, keys: str | bytes, *, shell: bool = False, deadline_s: float = SHELL_DEADLINE_S
) -> ShellRun:
    """Type `keys` into a shell over `app` until the input ends; return what it printed.

    The shell runs in a worker thread, so one that hangs fails the test instead of the run.
    """
    console = Console(file=io.StringIO(), width=120, force_terminal=False)
    data = keys.encode("utf-8") if isinstance(keys, str) else keys
    outcome: dict[str, Any] = {}
    with create_pipe_input() as pipe:

        def type_keys() -> None:
            # In pieces from a thread: a pipe holds 64 KiB, and the shell reads as it runs.
            for start in range(0, len(data), 4096):
                pipe.send_bytes(data[start : start + 4096])
            pipe.close()

        def run_it() -> None:
            try:
                if shell:
                    outcome["code"] = run_shell(
                        app, input=pipe, output=DummyOutput(), console=console
                    )
                else:
                    repl = Repl(app, input=pipe, output=DummyOutput(), console=console)
                    outcome["repl"] = repl
                    outcome["code"] = repl.run()
            except BaseException as exc:  # raised again in the test's own thread
                outcome["error"] = exc

        typist = threading.Thread(target=type_keys, daemon=True)
        runner = threading.Thread(target=run_it, daemon=True)
        typist.start()
        runner.start()
        runner.join(timeout=deadline_s)
        assert isinstance(console.file, io.StringIO)
        printed = console.file.getvalue()
        if runner.is_alive():
            pytest.fail(f"the shell was still running after {deadline_s:g} s:\n{printed}")
        typist.join(timeout=10)
    if "error" in outcome:
        raise outcome["error"]
    return ShellRun(outcome["code"], printed, outcome.get("repl"))


def lines(*typed: str) -> str:
    return "".join(line + "\n" for line in typed)


@pytest.fixture
def scripted() -> ScriptedBackend:
    return ScriptedBackend()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


# --- lines that do nothing, too much, or make no sense ----------------------------------------


def test_empty_and_blank_lines_do_nothing(scripted: ScriptedBackend) -> None:
    run = drive(make_app(scripted), lines("", "   ", "\t  \t", "!echo done"))
    assert run.code == ExitStatus.OK
    assert scripted.requests == []  # nothing reached the planner
    assert "done" in run.lines
    assert "internal error" not in run.out


def test_a_100_kb_paste_is_refused_in_one_sentence(
    scripted: ScriptedBackend, state_dir: Path
) -> None:
    paste = ("y" * 99 + "\n") * 1024  # 100 KiB over many lines, as a terminal pastes it
    keys = BRACKETED_PASTE_START + paste + BRACKETED_PASTE_END + "\r" + "!echo still here\r"
    run = drive(make_app(scripted), keys)
    assert run.code == ExitStatus.OK
    assert scripted.requests == []
    message = [line for line in run.lines if "characters long" in line]
    assert len(message) == 1
    assert f"the limit is {MAX_REQUEST_CHARS}" in message[0]
    assert "still here" in run.lines
    assert "internal error" not in run.out
    history = (state_dir / "history").read_text(encoding="utf-8")
    assert "yyyy" not in history  # a refused paste is not kept
    assert "!echo still here" in history


def test_cd_moves_the_shell_itself(
    scripted: ScriptedBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub dir").mkdir()
    keys = lines("!cd 'sub dir'", "!pwd", "!cd /no/such/place", "!cd -", "!pwd")
    run = drive(make_app(scripted), keys)
    inside, back = str(tmp_path / "sub dir"), str(tmp_path)
    assert run.lines.count(inside) >= 2  # said after cd, and printed by pwd
    assert any(line.startswith("Cannot change to /no/such/place") for line in run.lines)
    assert run.lines[-2] == back  # `cd -` went back; pwd agrees
    assert scripted.requests == []


# Control characters, bytes that are not UTF-8 (they arrive as lone surrogates), a DEL and a
# backspace (which erase "nk"), and a broken two-byte sequence.
JUNK = b"\x00\x01\x02abc\xff\xfe\xed\xa0\x80 junk\x7f\x08\xc3( red\n"


def test_binary_junk_reaches_the_planner_as_clean_text(
    scripted: ScriptedBackend, state_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    scripted.replies = [answer("I do not understand that.")]
    run = drive(make_app(scripted), JUNK + lines("!echo alive").encode())
    assert run.code == ExitStatus.OK
    assert "alive" in run.lines  # the line after the junk still ran
    [(messages, _schema)] = scripted.requests
    request = messages[-1].content
    request.encode("utf-8")  # no lone surrogates: any backend can encode it
    assert request.startswith("abc") and request.endswith("red")
    assert "\x00" not in request
    history = (state_dir / "history").read_text(encoding="utf-8")
    assert "+abc\ufffd" in history
    captured = capfd.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert "Unhandled exception" not in captured.out + captured.err


def test_escape_sequences_typed_as_text_do_not_upset_the_prompt(
    scripted: ScriptedBackend, capfd: pytest.CaptureFixture[str]
) -> None:
    # ESC[31m looks like a mouse report to prompt-toolkit; mouse reporting is off, so it is junk.
    scripted.replies = [answer("Red what?")]
    keys = "\x1b[31m red \x1b[<1;2m \x1b[M!!!\r" + "\r" * 3 + "!echo alive\r"
    run = drive(make_app(scripted), keys)
    assert run.code == ExitStatus.OK
    assert "alive" in run.lines
    [(messages, _schema)] = scripted.requests
    assert "red" in messages[-1].content and "\x1b" not in messages[-1].content
    captured = capfd.readouterr()
    assert "Unhandled exception" not in captured.out + captured.err


def test_binary_junk_through_the_real_model(
    embedded_backend: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    before = embedded_backend.stats.requests
    keys = JUNK + lines("!echo alive").encode()
    run = drive(make_app(embedded_backend), keys, deadline_s=MODEL_DEADLINE_S)
    assert run.code == ExitStatus.OK
    assert embedded_backend.stats.requests > before  # the junk was planned by the model
    assert "internal error" not in run.out
    assert "alive" in run.lines
    captured = capfd.readouterr()
    assert "Traceback" not in captured.out + captured.err


def test_a_request_too_long_for_the_context_is_one_sentence(embedded_backend: Any) -> None:
    # Under the character limit, over the context: each "é" is a token of its own.
    long_request = "é" * (MAX_REQUEST_CHARS - 10)
    keys = lines(long_request, "!echo alive")
    run = drive(make_app(embedded_backend), keys, deadline_s=MODEL_DEADLINE_S)
    said = run.out.replace("\n", " ")
    assert said.count("context holds 4096") == 1
    assert said.count("context_size") == 1  # the advice is given once
    assert "internal error" not in run.out
    assert "alive" in run.lines


# --- slash commands ---------------------------------------------------------------------------


def test_help_lists_the_commands(scripted: ScriptedBackend) -> None:
    run = drive(make_app(scripted), lines("/help"))
    for command in SLASH_COMMANDS:
        assert any(line.strip().startswith(command) for line in run.lines), command
    assert "!COMMAND" in run.out
    assert scripted.requests == []


def test_tools_lists_every_registered_tool(scripted: ScriptedBackend) -> None:
    app = make_app(scripted)
    run = drive(app, lines("/tools"))
    names = [item.name for item in app.registry]
    assert {"disk_usage", "run_shell", "write_file"} <= set(names)
    for name in names:
        assert re.search(rf"\b{name}\b", run.out), name


def test_tools_with_a_name_shows_its_arguments(scripted: ScriptedBackend) -> None:
    run = drive(make_app(scripted), lines("/tools disk_usage"))
    assert run.lines[1].startswith("disk_usage — ")
    assert "risk: read-only" in run.out
    schema = json.loads(run.out[run.out.index("{") : run.out.rindex("}") + 1])
    assert set(schema["properties"]) == {"path", "top"}
    assert "e.g. " in run.out


def test_tools_with_an_unknown_name_says_so_in_one_sentence(scripted: ScriptedBackend) -> None:
    run = drive(make_app(scripted), lines("/tools nosuchtool", "!echo next"))
    assert "there is no tool called 'nosuchtool'" in run.out
    error = run.out[run.out.index("there is no tool") : run.out.index("\nnext\n")]
    assert ". " not in error  # one sentence, however the console wraps it
    assert "disk_usage" in error  # that names the tools there are
    assert "Traceback" not in run.out and "internal error" not in run.out


def test_unknown_slash_command_names_the_real_ones(scripted: ScriptedBackend) -> None:
    run = drive(make_app(scripted), lines("/frobnicate now", "!echo next"))
    [message] = [line for line in run.lines if "frobnicate" in line]
    assert message.startswith("Unknown command /frobnicate;")
    assert all(command in message for command in SLASH_COMMANDS)
    assert "next" in run.lines
    assert scripted.requests == []


def test_exit_command_leaves_before_the_rest(scripted: ScriptedBackend) -> None:
    run = drive(make_app(scripted), lines("/exit", "!echo never"))
    assert run.code == ExitStatus.OK
    assert "never" not in run.lines
    assert run.lines[-1] == "Bye."


def test_stats_shows_the_backend_totals_and_memory(scripted: ScriptedBackend) -> None:
    scripted.replies = [answer("Plenty.")]
    run = drive(make_app(scripted), lines("/stats", "how much disk space is free?", "/stats"))
    assert run.lines.count("scripted: scripted test backend") == 2
    assert [line.strip() for line in run.lines if line.endswith((" request", " requests"))] == [
        "0 requests",
        "1 request",
    ]
    reply = len(json.dumps(answer("Plenty.")))  # the scripted backend counts characters
    assert f"generation  {reply} tokens in " in run.out
    memory = [line for line in run.lines if line.startswith("memory in use ")]
    assert len(memory) == 2 and all("MB" in line or "GB" in line for line in memory)


def test_stats_without_a_model_still_shows_the_memory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LLMOS_MODEL", str(tmp_path / "gone.gguf"))
    run = drive(make_app(), lines("/stats"))
    assert "no model loaded yet" in run.lines
    assert any(line.startswith("memory in use ") for line in run.lines)


def test_leaving_the_shell_records_the_session_for_llmos_stats(
    scripted: ScriptedBackend, state_dir: Path
) -> None:
    scripted.replies = [answer("Plenty.")]
    run = drive(make_app(scripted), lines("how much disk space is free?"), shell=True)
    assert run.code == ExitStatus.OK
    [line] = (state_dir / "usage.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert (record["backend"], record["model"]) == ("scripted", "scripted test backend")
    assert record["requests"] == 1
    assert record["completion_tokens"] == len(json.dumps(answer("Plenty.")))


def test_history_is_saved_in_the_state_dir_and_survives_a_restart(
    scripted: ScriptedBackend, state_dir: Path, isolated_dirs: Path
) -> None:
    drive(make_app(scripted), lines("!echo one", "/help", "/tools disk_usage"))
    assert (state_dir / "history").is_file()
    assert not any(isolated_dirs.rglob("*history*"))  # nothing in the (isolated) home

    run = drive(make_app(scripted), lines("/history", "/history 2", "/history lots", "/history -1"))
    shown = [line.split(None, 1) for line in run.lines if re.match(r"^\s+\d+  ", line)]
    assert shown[:4] == [
        ["1", "!echo one"],
        ["2", "/help"],
        ["3", "/tools disk_usage"],
        ["4", "/history"],
    ]
    assert shown[4:] == [["1", "/history"], ["2", "/history 2"]]
    assert "/history takes a count such as 20, not 'lots'." in run.lines
    assert "/history takes a count such as 20, not '-1'." in run.lines


def test_model_shows_the_backend_and_a_bad_path_keeps_the_old_one(embedded_backend: Any) -> None:
    app = make_app(embedded_backend)
    before = embedded_backend.stats.requests
    run = drive(
        app,
        lines("/model", "/model /no/such/file.gguf", "/model", "how much disk space is free?"),
        deadline_s=MODEL_DEADLINE_S,
    )
    description = embedded_backend.describe()
    assert "llama.cpp" in description
    assert run.lines.count(description) == 2  # before and after the failed load
    failure = [line for line in run.lines if "/no/such/file.gguf" in line]
    assert len(failure) == 1 and "does not exist" in failure[0]
    said = run.out.replace("\n", " ")
    sentence = said[said.index("model file /no/such") : said.index("Still using")]
    assert ". " not in sentence.strip()  # one sentence, however the console wraps it
    assert "Still using the previous model." in run.lines
    assert run.repl is not None and run.repl.app is app
    assert app.backend is embedded_backend
    assert embedded_backend.stats.requests > before  # the request went to the old model
    assert "internal error" not in run.out


def test_a_missing_model_leaves_a_shell_that_still_runs_commands(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "gone.gguf"
    monkeypatch.setenv("LLMOS_MODEL", str(missing))
    run = drive(make_app(), lines("how much disk space is free?", "/model", "/tools", "!echo ok"))
    assert run.code == ExitStatus.OK
    # At start, for the request and for /model: the same sentence each time.
    said = run.out.replace("\n", " ")
    assert said.count(f"model file {missing} does not exist") == 3
    assert "disk_usage" in run.out
    assert "ok" in run.lines


# --- ! commands -------------------------------------------------------------------------------


def test_bang_runs_a_shell_command(scripted: ScriptedBackend) -> None:
    run = drive(make_app(scripted), lines("!echo hi"))
    assert "hi" in run.lines
    assert "exit status" not in run.out
    assert scripted.requests == []


def test_bang_shows_a_failing_exit_status(scripted: ScriptedBackend) -> None:
    run = drive(make_app(scripted), lines("!exit 3", "!", "!echo after"))
    assert "(exit status 3)" in run.lines
    assert run.out.count("exit status") == 1
    assert any("Type a command after !" in line for line in run.lines)
    assert "after" in run.lines


# --- Ctrl-D and Ctrl-C ------------------------------------------------------------------------


def test_ctrl_d_leaves_with_status_0(scripted: ScriptedBackend) -> None:
    run = drive(make_app(scripted), CTRL_D + lines("!echo never"), shell=True)
    assert run.code == 0
    assert "never" not in run.lines
    assert run.lines[-1] == "Bye."


def test_end_of_input_leaves_with_status_0(scripted: ScriptedBackend) -> None:
    run = drive(make_app(scripted), lines("!echo last"), shell=True)
    assert run.code == 0
    assert run.lines[-2:] == ["last", "Bye."]


def test_ctrl_c_at_the_prompt_drops_the_line(scripted: ScriptedBackend) -> None:
    run = drive(make_app(scripted), "how much disk" + CTRL_C + lines("!echo after"))
    assert scripted.requests == []
    assert "after" in run.lines


def test_ctrl_c_during_a_request_cancels_it_and_the_loop_goes_on(
    scripted: ScriptedBackend,
) -> None:
    scripted.replies = [KeyboardInterrupt()]
    run = drive(make_app(scripted), lines("how much disk space is free?", "!echo after"))
    assert run.code == ExitStatus.OK
    assert len(scripted.requests) == 1
    assert "Cancelled." in run.lines
    assert run.lines.index("Cancelled.") < run.lines.index("after")


def test_ctrl_c_while_the_real_model_streams_leaves_it_usable(
    embedded_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C lands wherever Python happens to be: here, in the middle of a streamed answer.
    from llmos_shell.ui.render import ConsoleEvents

    shown = ConsoleEvents.answer_text
    pieces: list[str] = []

    def interrupted_once(self: ConsoleEvents, text: str) -> None:
        pieces.append(text)
        if len(pieces) == 1:
            raise KeyboardInterrupt
        shown(self, text)

    monkeypatch.setattr(ConsoleEvents, "answer_text", interrupted_once)
    before = embedded_backend.stats.requests
    keys = lines("hello, who are you?", "hello, who are you?")
    run = drive(make_app(embedded_backend), keys, deadline_s=MODEL_DEADLINE_S)
    assert "Cancelled." in run.lines
    assert len(pieces) > 1  # the second request streamed an answer after the interrupt
    after = run.lines[run.lines.index("Cancelled.") + 1 : -1]
    assert "".join(after).strip(), "nothing was printed after the cancelled request"
    assert embedded_backend.stats.requests >= before + 1
    assert "internal error" not in run.out


# --- a real request ---------------------------------------------------------------------------


def test_a_real_request_runs_through_the_model(embedded_backend: Any) -> None:
    app = make_app(embedded_backend)
    before = embedded_backend.stats.requests
    run = drive(app, lines("how much disk space is free?"), deadline_s=MODEL_DEADLINE_S)
    assert run.code == ExitStatus.OK
    assert embedded_backend.stats.requests > before
    assert "internal error" not in run.out and "Traceback" not in run.out
    said = [line for line in run.lines[1:-1] if line.strip()]  # between the banner and Bye.
    assert said, "the shell printed nothing for the request"
    assert "(no answer)" not in said
    planned = re.findall(r"^[→✗] (\w+)\(", run.out, re.MULTILINE)
    assert set(planned) <= {item.name for item in app.registry}


# --- confirmation through the shell -----------------------------------------------------------


def test_a_write_asks_and_no_means_not_run(
    scripted: ScriptedBackend, tmp_path: Path, state_dir: Path
) -> None:
    target = tmp_path / "note.txt"
    scripted.replies = [call("write_file", path=str(target), content="hi\n")]
    run = drive(make_app(scripted), lines("save hi to note.txt", "n", "!echo after"))
    assert "Not run: write_file (person)." in run.lines
    assert not target.exists()
    assert "after" in run.lines
    [record] = [json.loads(line) for line in (state_dir / "audit.jsonl").read_text().splitlines()]
    assert record["approved_by"] is None and record["outcome"] == {"status": "not run"}


def test_a_write_asks_and_yes_runs_it(
    scripted: ScriptedBackend, tmp_path: Path, state_dir: Path
) -> None:
    target = tmp_path / "note.txt"
    scripted.replies = [call("write_file", path=str(target), content="hi\n"), answer("Saved.")]
    run = drive(make_app(scripted), lines("save hi to note.txt", "y"))
    assert target.read_text() == "hi\n"
    # "Saved." states nothing the result can confirm, so the result's own summary stands.
    assert "Saved." not in run.lines
    assert any(str(target) in line and line.startswith("path ") for line in run.lines)
    [record] = [json.loads(line) for line in (state_dir / "audit.jsonl").read_text().splitlines()]
    assert record["approved_by"] == "person" and record["outcome"]["status"] == "ok"


def test_undo_reverses_the_last_write_and_lists_the_journal(
    scripted: ScriptedBackend, tmp_path: Path, state_dir: Path
) -> None:
    target = tmp_path / "note.txt"
    target.write_text("before\n")
    scripted.replies = [call("write_file", path=str(target), content="hi\n"), answer("Saved.")]
    run = drive(
        make_app(scripted),
        lines("save hi to note.txt", "y", "/undo list", "/undo", "/undo", "/undo two"),
    )
    assert target.read_text() == "before\n"
    assert f"undone: put back the previous contents of {target}" in run.lines
    assert "Nothing to undo: every change recorded is undone already, or none is." in run.lines
    assert "/undo takes a count from 1 to 500, or list, not 'two'." in run.lines
    assert "can be undone" in run.out  # the listing came before the undo
    records = [json.loads(line) for line in (state_dir / "audit.jsonl").read_text().splitlines()]
    assert [(r["call"]["tool"], r["request"], r["approved_by"]) for r in records] == [
        ("write_file", "save hi to note.txt", "person"),
        ("undo", "/undo", "person"),
        ("undo", "/undo", "person"),
    ]


# --- the confirmer on its own, with real tools ------------------------------------------------


@dataclass
class ScriptedAsk:
    """Answers the confirmer's questions in order; records what it was asked."""

    answers: list[str | BaseException]
    asked: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, message: str, default: str) -> str:
        self.asked.append((message, default))
        reply = self.answers.pop(0)
        if isinstance(reply, BaseException):
            raise reply
        return reply


def confirm(
    tool: Tool, arguments: dict[str, Any], answers: list[str | BaseException]
) -> tuple[Approval, str, ScriptedAsk]:
    """Ask the confirmer about a call of `tool`; the person answers `answers` in order."""
    console = Console(file=io.StringIO(), width=120, force_terminal=False)
    ask = ScriptedAsk(list(answers))
    planned = ToolCall(tool.name, arguments)
    decision = decide(planned, tool)
    assert decision.verdict is Verdict.ASK
    approval = InteractiveConfirmer(console, ask)(planned, tool, decision)
    assert ask.answers == []  # every scripted answer was asked for
    assert isinstance(console.file, io.StringIO)
    return approval, console.file.getvalue(), ask


def test_explain_then_edit_then_yes_approves_the_edited_arguments(tmp_path: Path) -> None:
    original = {"path": str(tmp_path / "a.txt"), "content": "hello"}
    edited = {"path": str(tmp_path / "b.txt"), "content": "bye", "mode": "append"}
    approval, out, ask = confirm(write_file, original, ["x", "e", json.dumps(edited), "y"])
    assert approval == Approval(True, by="person", arguments=edited)
    assert "Verdict: needs your yes before it runs" in out  # the explanation
    assert f'write_file(path="{tmp_path / "b.txt"}"' in out  # the edited call, shown again
    assert ask.asked[2] == ("arguments (JSON): ", json.dumps(original))  # edit starts from it


@pytest.mark.parametrize(
    ("edit", "complaint"),
    [
        ("{not json", "That is not JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"path": "x.txt"}', "do not fit write_file"),
        ('{"path": "x.txt", "content": "c", "colour": "red"}', "do not fit write_file"),
    ],
)
def test_a_bad_edit_changes_nothing(tmp_path: Path, edit: str, complaint: str) -> None:
    original = {"path": str(tmp_path / "a.txt"), "content": "hello"}
    approval, out, _ask = confirm(write_file, original, ["e", edit, "y"])
    assert approval == Approval(True, by="person", arguments=None)  # the call as planned
    assert complaint in out and "nothing changed" in out


@pytest.mark.parametrize("reply", ["n", "no", "N", "", "q"])
def test_no_or_an_empty_answer_declines(reply: str) -> None:
    approval, _out, _ask = confirm(write_file, {"path": "a.txt", "content": "x"}, [reply])
    assert approval == Approval(False, by="person")


@pytest.mark.parametrize("interrupt", [EOFError(), KeyboardInterrupt()])
def test_end_of_input_or_ctrl_c_at_the_question_declines(interrupt: BaseException) -> None:
    approval, _out, _ask = confirm(write_file, {"path": "a.txt", "content": "x"}, [interrupt])
    assert approval == Approval(False, by="person (cancelled)")


def test_ctrl_c_while_editing_asks_again() -> None:
    approval, _out, ask = confirm(
        write_file, {"path": "a.txt", "content": "x"}, ["e", KeyboardInterrupt(), "n"]
    )
    assert approval == Approval(False, by="person")
    assert len(ask.asked) == 3


def test_an_unclear_answer_is_asked_again() -> None:
    approval, out, _ask = confirm(write_file, {"path": "a.txt", "content": "x"}, ["maybe", "n"])
    assert "Please answer y, n, e or x." in out
    assert not approval.approved


def test_a_destructive_call_is_flagged_before_the_question() -> None:
    approval, out, _ask = confirm(delete_path, {"path": "old.txt"}, ["y"])
    assert "⚠ This is destructive" in out
    assert approval == Approval(True, by="person", arguments=None)


def test_an_edit_the_policy_refuses_is_not_approved() -> None:
    approval, out, _ask = confirm(
        run_shell_tool, {"command": "touch made.txt"}, ["e", '{"command": "rm -rf ~"}']
    )
    assert approval == Approval(False, by="policy", arguments={"command": "rm -rf ~"})
    assert "✗ run_shell" in out


# --- the pipeline's logic, on a scripted backend ----------------------------------------------


@dataclass
class RecordingEvents:
    """Keeps every event the session reports."""

    planned_calls: list[ToolCall] = field(default_factory=list)
    results: list[ToolResult] = field(default_factory=list)
    declined_calls: list[tuple[ToolCall, Approval]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    answer: str = ""

    def planned(self, call: ToolCall, decision: Decision) -> None:
        self.planned_calls.append(call)

    def answer_text(self, text: str) -> None:
        self.answer += text

    def result(self, result: ToolResult) -> None:
        self.results.append(result)

    def declined(self, call: ToolCall, approval: Approval) -> None:
        self.declined_calls.append((call, approval))

    def notice(self, text: str) -> None:
        self.notices.append(text)


def test_nobody_watching_declines_a_write_and_audits_it(
    scripted: ScriptedBackend, tmp_path: Path, state_dir: Path
) -> None:
    target = tmp_path / "todo.txt"
    scripted.replies = [call("write_file", path=str(target), content="buy milk\n")]
    app = make_app(scripted)
    events = RecordingEvents()
    outcome = app.session().run("save buy milk to todo.txt", events)  # deny_all by default
    assert outcome.status is Status.DECLINED
    assert outcome.status.exit_status == ExitStatus.DECLINED == 3
    assert not target.exists()
    assert len(scripted.requests) == 1  # no answer is asked for after a decline
    [(declined, approval)] = events.declined_calls
    assert declined.tool == "write_file" and not approval.approved
    assert app.audit.path == state_dir / "audit.jsonl"
    [record] = app.audit.read()
    assert record["call"] == call("write_file", path=str(target), content="buy milk\n")
    assert record["decision"]["verdict"] == "ask"
    assert record["approved_by"] is None
    assert record["outcome"] == {"status": "not run"}


def test_a_repeated_call_after_a_failure_forces_an_answer(
    scripted: ScriptedBackend, tmp_path: Path
) -> None:
    missing = str(tmp_path / "missing.txt")
    scripted.replies = [
        call("read_file", path=missing),
        call("read_file", path=missing),
        answer("That file does not exist."),
    ]
    events = RecordingEvents()
    outcome = make_app(scripted).session().run("show missing.txt", events)
    assert outcome.status is Status.TOOL_FAILED  # answered, but the tool failed: exit 2
    assert outcome.status.exit_status == 2
    assert outcome.answer == "That file does not exist."
    [step] = outcome.steps
    assert step.result is not None and not step.result.ok
    assert events.notices == []  # the pipeline's own bookkeeping is not the person's concern
    assert [allows_calls(schema) for _messages, schema in scripted.requests] == [True, True, False]
    assert events.answer == "That file does not exist."


def test_call_then_observation_then_answer(scripted: ScriptedBackend, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.txt")
    scripted.replies = [
        call("read_file", path=missing),  # fails, so the model may try something else
        call("disk_usage"),
        answer("You have plenty of space."),
    ]
    events = RecordingEvents()
    outcome = make_app(scripted).session().run("how much space is free?", events)
    assert outcome.status is Status.ANSWERED
    # An answer with nothing to check gives way to the tool's headline: the free space asked.
    first = disk_usage.invoke({})["mounts"][0]
    assert outcome.answer is not None
    assert (
        outcome.answer.startswith(f"{first['mountpoint']} has ") and " free of " in outcome.answer
    )
    assert [step.call.tool for step in outcome.steps] == ["read_file", "disk_usage"]
    assert [result.ok for result in events.results] == [False, True]
    # Each step sees the call before it and what that returned.
    second, third = scripted.requests[1][0], scripted.requests[2][0]
    assert json.loads(second[-2].content) == call("read_file", path=missing)
    assert "missing.txt" in second[-1].content and "does not exist" in second[-1].content
    assert json.loads(third[-2].content) == call("disk_usage")
    mountpoint = disk_usage.invoke({})["mounts"][0]["mountpoint"]
    assert json.dumps(mountpoint) in third[-1].content
    # After a call that worked, the model is asked for the answer only.
    assert [allows_calls(schema) for _messages, schema in scripted.requests] == [True, True, False]


def test_a_read_only_call_runs_without_asking(scripted: ScriptedBackend, tmp_path: Path) -> None:
    (tmp_path / "hello.txt").write_text("hello world\n")
    scripted.replies = [call("read_file", path=str(tmp_path / "hello.txt")), answer("It says hi.")]

    def never(*_args: Any) -> Approval:
        raise AssertionError("a read-only call must not ask")

    outcome = make_app(scripted).session(confirmer=never).run("show hello.txt")
    assert outcome.status is Status.ANSWERED
    [step] = outcome.steps
    assert step.approval == Approval(True, by="policy")
    assert step.result is not None and "hello world" in json.dumps(step.result.data)


def test_the_better_model_is_offered_once_and_a_no_is_kept(
    scripted: ScriptedBackend, state_dir: Path, online: None
) -> None:
    console = Console(file=io.StringIO(), width=200, force_terminal=False)
    repl = Repl(make_app(scripted), console=console)
    asked: list[str] = []

    def say_no(message: str, default: str) -> str:
        asked.append(message)
        return "n"

    repl._ask = say_no  # type: ignore[method-assign]
    repl.offer_better_model()
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "SmolLM2-135M" in shown and "llmos models pull Qwen/" in shown and "MB" in shown
    assert len(asked) == 1
    assert json.loads((state_dir / "model_advice.json").read_text())["answer"] == "no"
    repl.offer_better_model()
    assert len(asked) == 1  # not asked again


@pytest.fixture
def online(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A routing table with a default route, whatever this machine's is."""
    from llmos_shell.models import advice

    table = tmp_path / "route"
    table.write_text(
        "Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT\n"
        "eth0 00000000 010200C0 0003 0 0 0 00000000 0 0 0\n"
    )
    monkeypatch.setattr(advice, "_ROUTES", (table,))


def assert_nothing_offered(scripted: ScriptedBackend, state_dir: Path) -> Repl:
    """The shell's start offers no download, and keeps no note that it asked."""
    console = Console(file=io.StringIO(), width=200, force_terminal=False)
    repl = Repl(make_app(scripted), console=console)
    asked: list[str] = []
    repl._ask = lambda message, default: asked.append(message) or "y"  # type: ignore[method-assign]
    repl.offer_better_model()
    assert asked == [] and "Download" not in console.file.getvalue()  # type: ignore[attr-defined]
    assert not (state_dir / "model_advice.json").exists()
    return repl


def test_no_download_is_offered_offline(
    scripted: ScriptedBackend, state_dir: Path, online: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    repl = assert_nothing_offered(scripted, state_dir)
    monkeypatch.delenv("HF_HUB_OFFLINE")  # offered once back online
    asked: list[str] = []
    repl._ask = lambda message, default: asked.append(message) or "n"  # type: ignore[method-assign]
    repl.offer_better_model()
    assert len(asked) == 1


def test_no_download_is_offered_without_a_route_off_the_machine(
    scripted: ScriptedBackend, state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No HF_HUB_OFFLINE, but the routing table has only the loopback: offline all the same."""
    from llmos_shell.models import advice

    table = tmp_path / "route"
    table.write_text(
        "Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT\n"
        "lo 0000007F 00000000 0001 0 0 0 000000FF 0 0 0\n"
    )
    monkeypatch.setattr(advice, "_ROUTES", (table,))
    assert_nothing_offered(scripted, state_dir)


def test_a_yes_while_offline_is_one_sentence_and_asked_again_later(
    scripted: ScriptedBackend, state_dir: Path, monkeypatch: pytest.MonkeyPatch, online: None
) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # read at import
    console = Console(file=io.StringIO(), width=200, force_terminal=False)
    repl = Repl(make_app(scripted), console=console)
    repl._ask = lambda message, default: "y"  # type: ignore[method-assign]
    repl.offer_better_model()
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "Traceback" not in shown
    assert any("offline" in line.lower() for line in shown.splitlines())
    assert not (state_dir / "model_advice.json").exists()  # the offer stands


# --- conversations kept between shells --------------------------------------------------------


def test_resume_lists_kept_conversations_and_continues_one(scripted: ScriptedBackend) -> None:
    from llmos_shell.planning.planner import Turn

    store = make_app(scripted).conversations
    listing = ToolCall("list_directory", {"path": "/tmp"})
    store.save("older", [Turn("list the files in /tmp", listing, None)])
    store.save("newer", [Turn("how much disk is free", None, "plenty")])
    # an earlier turn's call comes back only to a follow-up, as context
    scripted.replies = [answer("Those are the files.")]
    run = drive(
        make_app(scripted), lines("/resume", "/resume 9", "/resume 2", "and the sizes of those?")
    )
    shown = "\n".join(run.lines)
    assert "1  how much disk is free" in shown and "2  list the files in /tmp" in shown
    assert "a number from the list (1 to 2)" in shown
    assert "Continuing the conversation that ended with: list the files in /tmp" in shown
    messages, _ = scripted.requests[-1]
    assert any("list the files in /tmp" in m.content for m in messages if m.role == "system")
