"""A plain, non-editable install carries every module, the tools and the prompts."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not (ROOT / "pyproject.toml").exists(), reason="needs the source tree")
def test_wheel_ships_tools_and_prompts(tmp_path: Path) -> None:
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("llmos_shell-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("files", "processes", "system", "shell", "_parsing"):
        assert f"llmos_tools/{module}.py" in names
    for prompt in (
        "planner_system.txt",
        "observation.txt",
        "final_answer.txt",
        "conversations.json",
        "answer_examples.json",
        "plan_examples.jsonl",
        "nl2bash_pool.jsonl",
    ):
        assert f"llmos_shell/prompts/{prompt}" in names
    assert "llmos_shell/data/minilm-tokenizer.json" in names
    assert "llmos_shell/data/bip39-english.txt" in names
    package = ROOT / "llmos_shell"
    modules = {f"llmos_shell/{p.relative_to(package).as_posix()}" for p in package.rglob("*.py")}
    missing = sorted(m for m in modules if "__pycache__" not in m and m not in names)
    assert not missing, f"modules left out of the wheel (add their package to pyproject): {missing}"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "llmos = llmos_shell.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
