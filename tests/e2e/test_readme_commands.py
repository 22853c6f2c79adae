"""Every `$ llmos ...` line of the README can be pasted into an interactive bash as it is.

Each line runs in `bash -i` (history expansion on, as a person's shell has it), with `llmos`
a function that prints the words it was given; the words must be the ones the README shows,
and no line may stop bash (`!df: event not found`).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BASH = shutil.which("bash")


def readme_commands() -> list[str]:
    """The `$ llmos ...` lines of the README that fit on one line."""
    lines = []
    for raw in README.read_text().splitlines():
        line = raw.strip()
        if line.startswith("$ llmos") and not line.endswith("\\"):
            lines.append(line[2:])
    return lines


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_every_readme_command_survives_an_interactive_bash(tmp_path: Path) -> None:
    commands = readme_commands()
    assert len(commands) >= 15  # the tour, the pipes, the automations, the memory
    script = ["llmos() { printf '<%s>' \"$@\"; printf '\\n'; }"]
    for command in commands:
        script += ["printf '%s\\n' '---'", command.split(";")[0].split(" | ")[0]]
    proc = subprocess.run(
        [BASH or "bash", "--norc", "--noprofile", "-i"],
        input="\n".join(script) + "\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "PS1": ""},
        timeout=60,
        check=False,
    )
    assert "event not found" not in proc.stderr, proc.stderr
    printed = proc.stdout.split("---\n")[1:]
    assert len(printed) == len(commands), proc.stderr
    for command, shown in zip(commands, printed, strict=True):
        words = shlex.split(command.split(";")[0].split(" | ")[0], comments=True)[1:]
        got = re.findall(r"<(.*?)>", shown.strip(), re.DOTALL)
        assert got == words or (not words and shown.strip() == "<>"), (command, shown)
