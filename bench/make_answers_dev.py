"""Build `bench/data/answers_dev.jsonl`: requests, the call made for each, and its real result.

    python bench/make_answers_dev.py

A fixed folder tree (sizes and times set here) is made in a temporary home, and the
built-in tools are run on it, so each result has the shape and the values the tools really
return. Results about this machine (processes, system, network) come from the tools too,
with the values that identify the machine kept as they were when the file was written.
Nothing outside the temporary folder is touched.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

NOW = 1_780_000_000  # a fixed "now" for file times (2026-05-28)
TREE = {
    "Downloads/ubuntu-24.04.iso": 262_144_000,
    "Downloads/setup.exe": 41_000_000,
    "Downloads/invoice-2291.pdf": 182_000,
    "Downloads/holiday.jpg": 3_400_000,
    "Downloads/notes.txt": 2_100,
    "Documents/report.docx": 540_000,
    "Documents/taxes-2025.pdf": 1_200_000,
    "Documents/todo.txt": 410,
    "Documents/drafts/chapter1.md": 18_000,
    "Pictures/cat.png": 2_600_000,
    "Pictures/dog.png": 2_900_000,
    "Pictures/wallpapers/sunset.jpg": 5_100_000,
    "projects/api/main.py": 3_200,
    "projects/api/server.log": 9_800_000,
    "projects/api/tests/test_main.py": 1_900,
    "projects/site/index.html": 4_000,
    "projects/site/build/bundle.js": 820_000,
}
TEXTS = {
    "Documents/todo.txt": "buy milk\ncall the plumber\nrenew passport\n",
    "projects/api/main.py": "import numpy as np\n\n# TODO: handle errors\ndef main():\n    return np.zeros(3)\n",
    "projects/api/tests/test_main.py": "from main import main\n\n\ndef test_main():\n    assert main() is not None  # TODO more\n",
    "Downloads/notes.txt": "wifi password is on the fridge\nmeeting moved to thursday\n",
}


def build(home: Path) -> None:
    for index, (relative, size) in enumerate(sorted(TREE.items())):
        path = home / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if relative in TEXTS:
            path.write_text(TEXTS[relative])
        else:
            with path.open("wb") as handle:
                handle.truncate(size)  # sparse: the size without the disk use
        stamp = NOW - index * 86_400 * 3
        os.utime(path, (stamp, stamp))


def items(home: Path) -> list[dict[str, Any]]:
    from llmos_shell.registry import discover

    registry = discover(None)
    asks = [
        ("what's in my downloads folder", "list_directory", {"path": "~/Downloads"}),
        (
            "biggest files in downloads",
            "list_directory",
            {"path": "~/Downloads", "sort_by": "size"},
        ),
        (
            "newest stuff in documents",
            "list_directory",
            {"path": "~/Documents", "sort_by": "modified"},
        ),
        ("whats in my pictures", "list_directory", {"path": "~/Pictures"}),
        ("list the api project", "list_directory", {"path": "~/projects/api"}),
        (
            "is there anything in ~/projects/site/build",
            "list_directory",
            {"path": "~/projects/site/build"},
        ),
        ("show hidden files in my home", "list_directory", {"path": "~", "show_hidden": True}),
        ("find pdfs in my home", "find_files", {"path": "~", "name": "*.pdf"}),
        ("files over 10MB in my home", "find_files", {"path": "~", "min_size": "10MB"}),
        ("any png files in pictures", "find_files", {"path": "~/Pictures", "name": "*.png"}),
        ("find log files in projects", "find_files", {"path": "~/projects", "name": "*.log"}),
        ("where is my report", "find_files", {"path": "~", "name": "report"}),
        ("find files called chapter", "find_files", {"path": "~", "name": "chapter"}),
        ("find exe files in downloads", "find_files", {"path": "~/Downloads", "name": "*.exe"}),
        ("any mp3 files anywhere", "find_files", {"path": "~", "name": "*.mp3"}),
        ("biggest files in my home", "find_files", {"path": "~", "sort_by": "size", "limit": 5}),
        ("folders in my home", "find_files", {"path": "~", "type": "dir"}),
        (
            "jpgs bigger than 4 megs",
            "find_files",
            {"path": "~", "name": "*.jpg", "min_size": "4MB"},
        ),
        (
            "search for TODO in my projects",
            "search_text",
            {"pattern": "TODO", "path": "~/projects"},
        ),
        ("where do i import numpy", "search_text", {"pattern": "numpy", "path": "~/projects"}),
        (
            "grep for passport in documents",
            "search_text",
            {"pattern": "passport", "path": "~/Documents"},
        ),
        ("search notes for wifi", "search_text", {"pattern": "wifi", "path": "~/Downloads"}),
        (
            "find 'kubernetes' in my projects",
            "search_text",
            {"pattern": "kubernetes", "path": "~/projects"},
        ),
        ("show me todo.txt", "read_file", {"path": "~/Documents/todo.txt"}),
        ("whats in notes.txt in downloads", "read_file", {"path": "~/Downloads/notes.txt"}),
        (
            "first 2 lines of main.py in the api project",
            "read_file",
            {"path": "~/projects/api/main.py", "head": 2},
        ),
        (
            "read the test file of the api",
            "read_file",
            {"path": "~/projects/api/tests/test_main.py"},
        ),
        ("how big is my downloads folder", "disk_usage", {"path": "~/Downloads"}),
        ("what takes space in my home", "disk_usage", {"path": "~"}),
        ("how big is the projects folder", "disk_usage", {"path": "~/projects"}),
        ("size of my pictures", "disk_usage", {"path": "~/Pictures"}),
        (
            "save 'hello world' to ~/hello.txt",
            "write_file",
            {"path": "~/hello.txt", "content": "hello world\n"},
        ),
        (
            "copy todo.txt to the desktop",
            "copy_path",
            {"source": "~/Documents/todo.txt", "destination": "~/Desktop"},
        ),
        (
            "move the iso into documents",
            "move_path",
            {"source": "~/Downloads/ubuntu-24.04.iso", "destination": "~/Documents"},
        ),
        ("delete setup.exe from downloads", "delete_path", {"path": "~/Downloads/setup.exe"}),
        ("what's in the trash", "list_trash", {}),
        ("get setup.exe back", "restore_from_trash", {"path": "setup.exe"}),
        ("what's in the trash now", "list_trash", {}),
        ("run echo hello", "run_shell", {"command": "echo hello"}),
        ("how many lines are in todo.txt", "run_shell", {"command": "wc -l ~/Documents/todo.txt"}),
        ("list the python files with ls", "run_shell", {"command": "ls ~/projects/api"}),
        ("what day is it", "run_shell", {"command": "date +%A"}),
        ("count the pdfs", "run_shell", {"command": "ls ~/Downloads ~/Documents | grep -c pdf"}),
        ("show me a missing file", "read_file", {"path": "~/nope.txt"}),
    ]
    from llmos_shell.calls import ToolCall
    from llmos_shell.safety.executor import execute

    def run(request: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        done = execute(ToolCall(tool, arguments), registry.get(tool))
        row = {"id": f"a{len(out) + 1:03d}", "request": request}
        row["call"] = {"tool": tool, "arguments": arguments}
        row["ok"] = done.ok
        row["result"] = done.data if done.ok else {"error": done.error}
        return row

    out: list[dict[str, Any]] = []
    for request, tool, arguments in asks:
        out.append(run(request, tool, arguments))
    machine = [
        ("which processes eat my memory", "list_processes", {"sort_by": "memory", "limit": 5}),
        ("top cpu processes", "list_processes", {"sort_by": "cpu", "limit": 5}),
        ("is python running", "list_processes", {"name": "python", "limit": 5}),
        ("is zoom running", "list_processes", {"name": "zoom"}),
        ("how much disk space is free", "disk_usage", {}),
        ("tell me about this computer", "system_info", {}),
        ("how much ram do i have", "system_info", {}),
        ("what's my ip address", "network_info", {"include_ports": False}),
        ("which ports are open", "network_info", {}),
        ("what os is this", "system_info", {}),
        ("how long has this machine been up", "system_info", {}),
        ("how many cores does this have", "system_info", {}),
        ("what's using the most cpu right now", "list_processes", {"sort_by": "cpu", "limit": 3}),
        ("list processes by name", "list_processes", {"sort_by": "name", "limit": 8}),
        ("which network interfaces are up", "network_info", {"include_ports": False}),
        ("free space on my drives", "disk_usage", {}),
    ]
    for request, tool, arguments in machine:
        out.append(run(request, tool, arguments))
    return out


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "home"
        home.mkdir()
        os.environ["HOME"] = str(home)
        os.environ["XDG_DATA_HOME"] = str(home / ".local" / "share")
        os.environ["LLMOS_STATE_DIR"] = str(Path(scratch) / "state")
        os.environ["LLMOS_DATA_DIR"] = str(Path(scratch) / "data")
        (home / "Desktop").mkdir()
        build(home)
        os.chdir(home)
        rows = items(home)
    text = "".join(
        json.dumps(row, ensure_ascii=False, default=str).replace(scratch, "/tmp/x") + "\n"
        for row in rows
    )
    (HERE / "data" / "answers_dev.jsonl").write_text(text)
    print(f"{len(rows)} items written to bench/data/answers_dev.jsonl")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
