"""Results as a person reads them: lines kept, nested records flat, nothing cut in a pipe."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from llmos_shell.ui.render import render_data
from llmos_tools.files import read_file
from llmos_tools.system import system_info


def _shown(data: object, *, terminal: bool = True, width: int = 100) -> str:
    out = io.StringIO()
    render_data(Console(file=out, width=width, force_terminal=terminal, color_system=None), data)
    return out.getvalue()


def test_a_file_is_shown_with_its_lines(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("first line\nsecond line\n    indented third\n")
    shown = _shown(read_file(str(target)))
    assert "first line\nsecond line\n    indented third" in shown


def test_a_system_record_reads_as_lines_not_json() -> None:
    shown = _shown(system_info())
    assert "{" not in shown and '"' not in shown
    assert "memory total" in shown and " GB" in shown  # the human twin, not the byte count
    assert "memory total_human" not in shown


def test_long_cells_are_whole_when_piped() -> None:
    command = "python -m some.long.module --with --many --options /a/very/long/path/to/a/file.txt"
    rows = [{"pid": 1, "command": command}]
    assert command not in _shown(rows, terminal=True)  # cut to fit a terminal table
    piped = _shown(rows, terminal=False, width=1000)
    assert command in piped
