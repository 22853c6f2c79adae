"""The wall's decisions, read from the disk: which folder a command may write, which git
drivers are disarmed, what folder a call runs in, which limit stopped a command."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from llmos_shell.calls import SandboxLimits, ToolCall
from llmos_shell.registry import tools_in_module
from llmos_shell.safety import wall
from llmos_shell.safety.policy import decide
from llmos_tools import shell

RUN_SHELL = tools_in_module(shell)[0]


@pytest.mark.parametrize(
    ("relative", "writable"),
    [
        ("home", False),  # the home folder itself
        (".", False),  # tmp_path: holds the home folder and llmos's folders
        ("home/project", True),
        ("home/project/deep/er", True),
        ("home/.config", False),  # holds ~/.config/fish, ~/.config/git, ... (existing or not)
        ("home/.config/other-app", True),
        ("home/.local", False),  # holds ~/.local/bin
        ("home/.ssh", False),
        ("home/.ssh/sub", False),  # inside a protected folder
        ("config", False),  # llmos's config folder (LLMOS_CONFIG_DIR)
        ("config/plugins", False),
    ],
)
def test_the_writable_root_comes_from_the_resolved_folder(
    tmp_path: Path, isolated_dirs: Path, relative: str, writable: bool
) -> None:
    folder = tmp_path / relative
    folder.mkdir(parents=True, exist_ok=True)
    root, why = wall.writable_root(folder)
    assert (root is not None) is writable, why
    assert (why is None) is writable


def test_a_link_to_the_home_folder_is_the_home_folder(tmp_path: Path, isolated_dirs: Path) -> None:
    link = tmp_path / "innocent"
    link.symlink_to(isolated_dirs)
    root, why = wall.writable_root(link)
    assert root is None and why is not None and "home folder" in why


def test_root_and_read_only_calls_write_nothing(tmp_path: Path, isolated_dirs: Path) -> None:
    project = isolated_dirs / "project"
    project.mkdir()
    assert wall.writable_root(Path("/"))[0] is None
    assert wall.writable_root(Path("/proc/self"))[0] is None
    assert wall.writable_root(project, may_write=False) == (None, "the call was judged read-only")
    assert wall.writable_root(project, (str(project / "plugins"),))[0] is None


def test_every_driver_a_repository_defines_is_disarmed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for key in ("filter.lfs.clean", "diff.pdf.textconv", "merge.ours.driver", "diff.x.command"):
        subprocess.run(["git", "-C", str(repo), "config", key, "touch canary"], check=True)
    nested = tmp_path / "repo" / "src"
    nested.mkdir()
    for where in (repo, nested, tmp_path):  # in it, below it, above it
        settings = dict(wall.driver_overrides(where))
        assert settings["filter.lfs.clean"] == "" and settings["filter.lfs.process"] == ""
        assert settings["diff.pdf.textconv"] == "cat"
        assert settings["merge.ours.driver"] == "false"
        assert "touch" not in settings["diff.x.command"]
    assert wall.driver_overrides(Path("/")) == []


def test_the_folder_a_call_runs_in_and_what_it_is(isolated_dirs: Path, tmp_path: Path) -> None:
    home = isolated_dirs
    (home / "project").mkdir()
    call = ToolCall("run_shell", {"command": "ls", "cwd": "~"})
    assert wall.run_folder(call, RUN_SHELL, str(tmp_path)) == home
    assert wall.folder_word(wall.run_folder(call, RUN_SHELL)) == "~"
    relative = ToolCall("run_shell", {"command": "ls", "cwd": "project/.."})
    assert wall.run_folder(relative, RUN_SHELL, str(home)) == home
    plain = ToolCall("run_shell", {"command": "ls"})
    assert wall.run_folder(plain, RUN_SHELL, str(home / "project")) == home / "project"
    assert wall.folder_word(home / "project") == "."
    assert wall.folder_word(Path("/")) == "/"
    assert wall.folder_word(Path("/etc")) == "/etc"


def test_a_wildcard_is_a_catastrophe_only_where_it_takes_a_critical_folder() -> None:
    def verdict(command: str, folder: str) -> str:
        return decide(ToolCall("run_shell", {"command": command}), RUN_SHELL, folder).verdict.value

    assert verdict("rm -f *.log", "~") == "ask"
    assert verdict("rm -f *", "~") == "deny"
    assert verdict("rm -f *", ".") == "ask"  # the files of a project folder: destructive
    assert verdict("rm -rf *", ".") == "deny"  # the whole working tree
    assert verdict("cd build && rm -rf *", "~") == "ask"
    assert verdict("find -name '*.pyc' -delete", "~") == "ask"
    assert verdict("find -delete", "/") == "deny"


def test_which_limit_stopped_a_command() -> None:
    limits = SandboxLimits(memory_mb=1024, file_mb=2)
    assert wall.stopped_by(limits, 0, 2_000_000) is None
    assert wall.stopped_by(limits, 1, 10_000) is None
    assert wall.stopped_by(limits, 1, 900_000) == (
        "stopped: it used more than 1 GiB of memory (sandbox_memory_mb)"
    )
    assert wall.stopped_by(limits, 128 + signal.SIGXFSZ, 0) == (
        "stopped: it wrote a file larger than 2 MiB (sandbox_file_mb)"
    )


@pytest.mark.sandbox
def test_the_limits_are_set_in_the_sandboxed_command(isolated_dirs: Path) -> None:
    from llmos_shell.calls import ExecutionContext

    project = isolated_dirs / "project"
    project.mkdir()
    context = ExecutionContext(
        sandbox="required", limits=SandboxLimits(memory_mb=300, processes=64, file_mb=7)
    )
    result = shell.run_shell("ulimit -d; ulimit -f; ulimit -u", cwd=str(project), context=context)
    data, size, processes = result["stdout"].split()
    assert int(data) == 300 * 1024 and int(size) == 7 * 1024  # bash counts in KiB
    own = sum(1 for p in os.listdir("/proc") if p.isdigit())
    assert 64 <= int(processes) <= own + 64 + 64


def test_llmos_own_code_and_its_packages_are_never_writable(tmp_path: Path) -> None:
    import llmos_shell

    package = Path(llmos_shell.__file__).parent
    for folder in (package, package.parent, package / "safety"):
        assert wall.writable_root(folder)[0] is None, folder


def test_the_repository_in_a_writable_folder_keeps_its_hooks_and_config(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "store" / "gitdir" / "hooks").mkdir(parents=True)
    (project / "store" / "gitdir" / "config").write_text("[core]\n")
    (project / ".git").symlink_to(project / "store" / "gitdir")  # a link, followed
    found = list(wall.tree_protected(project))
    assert (project / "store", project / "store" / "gitdir" / "hooks") in found
    assert (project / "store", project / "store" / "gitdir" / "config") in found
    (project / ".git").unlink()
    (project / ".git").write_text("gitdir: store/gitdir\n")  # a worktree's pointer
    assert (project / "store", project / "store" / "gitdir" / "hooks") in list(
        wall.tree_protected(project)
    )
