"""`llmos init` and `llmos completion` in real shells: Ctrl-G in an interactive bash in a
pseudo-terminal, the zsh and fish snippets parsed, completion loaded and asked.

The hotkey's `llmos suggest` runs for real (a separate process, the openai backend) against a
loopback server that answers as a model would (tests/e2e/model_server.py), so the test checks
the binding, not a model.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.model_server import ModelServer, environment, model_server
from tests.e2e.test_cli import llmos

BASH = shutil.which("bash")
ANSI = re.compile(r"\x1b\[[0-9;?>=]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[()][A-Za-z0-9]|\x1b[=>]|\r")
SUGGEST_TIMEOUT_S = 90  # a whole `llmos suggest` process on a busy machine


@pytest.fixture
def server() -> Iterator[ModelServer]:
    """The loopback stand-in for a model that `llmos suggest` asks."""
    with model_server() as running:
        yield running


class Terminal:
    """An interactive shell in a pseudo-terminal: type into it, read what it shows."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: the shell, with the pty as its terminal
            os.chdir(cwd)
            os.execvpe(argv[0], argv, env)
        self.pid, self.fd = pid, fd
        self.screen = ""

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def read_until(self, pattern: str, timeout: float) -> str:
        """Read until the shown text (escapes removed) matches `pattern`; fail at the timeout."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern, ANSI.sub("", self.screen), re.MULTILINE):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{pattern!r} never shown; the screen:\n{self.shown}")
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.5))
            if ready:
                try:
                    self.screen += os.read(self.fd, 65536).decode(errors="replace")
                except OSError:
                    break
        return self.shown

    @property
    def shown(self) -> str:
        return ANSI.sub("", self.screen)

    def wait(self, timeout: float) -> int:
        """The exit status of the program, once it ends (fails at the timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    self.screen += os.read(self.fd, 65536).decode(errors="replace")
                except OSError:
                    pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.pid = -1
                return os.waitstatus_to_exitcode(status)
        raise AssertionError(f"still running after {timeout:g} s; the screen:\n{self.shown}")

    def close(self) -> None:
        if self.pid > 0:  # not reaped yet (waitpid(-1) would wait for any child of the test)
            try:
                os.kill(self.pid, 9)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.pid = -1
        os.close(self.fd)


def start_shell(shell: str, tmp_path: Path, env: dict[str, str]) -> Terminal:
    """`shell` interactive in a pty, its startup file loading `llmos init SHELL` as the README
    says, with a READY$ prompt."""
    program = shutil.which(shell)
    if program is None:
        pytest.skip(f"{shell} is not installed (Debian package: {shell})")
    llmos_words = f"{shlex.quote(sys.executable)} -m llmos_shell"
    if shell == "bash":
        rc = tmp_path / "bashrc"
        rc.write_text(f"eval \"$({llmos_words} init bash)\"\nPS1='READY$ '\n")
        argv = [program, "--noprofile", "--rcfile", str(rc), "-i"]
    elif shell == "zsh":
        (tmp_path / ".zshrc").write_text(
            f"eval \"$({llmos_words} init zsh)\"\nPS1='READY$ '\nunset zle_bracketed_paste\n"
        )
        env = {**env, "ZDOTDIR": str(tmp_path)}
        argv = [program, "-i"]
    else:
        rc = tmp_path / "config.fish"
        rc.write_text(
            f"{llmos_words} init fish | source\nfunction fish_prompt; echo -n 'READY$ '; end\n"
        )
        argv = [program, "--no-config", "-i", "-C", f"source {rc}"]
    return Terminal(argv, env, tmp_path)


@pytest.fixture(params=["bash", "zsh", "fish"])
def shell_with_llmos(
    request: pytest.FixtureRequest, server: ModelServer, tmp_path: Path
) -> Iterator[tuple[Terminal, ModelServer]]:
    """An interactive shell whose startup file holds `llmos init SHELL`."""
    env = {**os.environ, "TERM": "xterm", **environment(server)}
    terminal = start_shell(request.param, tmp_path, env)
    try:
        terminal.read_until(r"READY\$ $", 30)
        yield terminal, server
    finally:
        terminal.close()


def test_ctrl_g_puts_a_command_on_the_line_and_runs_nothing(
    shell_with_llmos: tuple[Terminal, ModelServer], tmp_path: Path
) -> None:
    terminal, server = shell_with_llmos
    marker = tmp_path / "marker"
    server.replies["make the marker file"] = {"command": f"touch {marker}"}
    terminal.type("make the marker file")
    terminal.type("\x07")  # Ctrl-G
    # On the line being edited: after the prompt, or (zsh redraws the buffer alone) at the
    # start of a screen line.
    terminal.read_until(rf"(READY\$ |^)touch {re.escape(str(marker))}$", SUGGEST_TIMEOUT_S)
    assert "llmos is writing a command for: make the marker file" in terminal.shown
    time.sleep(0.5)
    assert not marker.exists()  # on the line, for the person; the binding ran nothing
    terminal.type("\r")  # the person presses Enter: now it runs
    terminal.read_until(r"READY\$ $", 10)
    assert marker.exists()


def test_on_failure_the_words_stay_with_the_reason(
    shell_with_llmos: tuple[Terminal, ModelServer],
) -> None:
    terminal, _ = shell_with_llmos
    terminal.type("frobnicate the quux")
    terminal.type("\x07")
    terminal.read_until(r"llmos: error: .*HTTP 500", SUGGEST_TIMEOUT_S)
    terminal.type("\x01echo KEPT: \r")  # to the start of the line, then run it as echo
    terminal.read_until(r"\nKEPT: frobnicate the quux\r?\n", 10)


def test_init_prints_only_the_snippet_without_reading_stdin() -> None:
    proc = llmos("init", "bash")  # stdin is /dev/null
    assert proc.returncode == 0, proc.stderr
    assert "bind -x '\"\\C-g\": __llmos_hotkey'" in proc.stdout
    assert "_shtab_llmos" in proc.stdout  # completion comes with it
    bare = llmos("init", "bash", "--no-completion", input="make me a sandwich\n")
    assert bare.returncode == 0 and "_shtab_llmos" not in bare.stdout
    check = subprocess.run(
        [BASH or "bash", "-n"], input=proc.stdout, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_the_zsh_and_fish_snippets_parse(shell: str) -> None:
    program = shutil.which(shell)
    if program is None:
        pytest.skip(f"{shell} is not installed (Debian package: {shell})")
    proc = llmos("init", shell)
    assert proc.returncode == 0, proc.stderr
    check = subprocess.run(
        [program, "-n"], input=proc.stdout, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stderr


def complete(words: str, script: str) -> list[str]:
    """What bash offers for `llmos WORDS<Tab>` with the completion script loaded."""
    line = f"llmos {words}"
    program = f"""
{script}
COMP_LINE={json.dumps(line)}
COMP_POINT=${{#COMP_LINE}}
read -ra COMP_WORDS <<< "$COMP_LINE"
[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
spec=$(complete -p llmos)
function=${{spec#*-F }}; function=${{function%% *}}
"$function" llmos "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    proc = subprocess.run(
        [BASH or "bash", "--norc", "--noprofile", "-c", program],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return [word.strip() for word in proc.stdout.splitlines() if word.strip()]


def test_bash_completion_completes_subcommands_and_their_words() -> None:
    from llmos_shell.commands import COMMANDS

    proc = llmos("completion", "bash")
    assert proc.returncode == 0, proc.stderr
    script = proc.stdout
    offered = complete("", script)
    assert {command.name for command in COMMANDS} <= set(offered)
    assert complete("comp", script) == ["completion"]
    assert sorted(complete("completion ", script)) == ["bash", "fish", "zsh"]
    assert set(complete("memory ", script)) >= {"add", "list", "search", "forget"}
    assert "--yes-destructive" in complete("suggest --yes-d", script)
