"""The wall around a sandboxed command: what it may write, what it may run, what it may use.

Three decisions, each made from what is on disk rather than from the command's text:

- **The writable root.** A command may write the folder it runs in only when that folder
  holds no protected path (shell start-up files, keys, llmos's own folders, the programs
  folder first on PATH, tools' settings: `HOME_PROTECTED`), lies inside none, and is neither
  `/`, a pseudo file system nor the home folder. A protected path that does not exist yet is
  covered through its folders, which are then never writable either, so nothing can create
  it, and a protected folder cannot be renamed away because the folder that holds it is not
  writable. A call rated read-only writes nothing but its `$TMPDIR`, whatever it runs.
- **Executable settings.** Programs that run commands named by the files they read (git's
  `core.fsmonitor` and hooks, less's `LESSOPEN`, ...) get those settings neutralised through
  their environment, from the table `EXECUTABLE_SETTINGS`.
- **Resources.** Memory, processes and file size are bounded per command (`Limits`), and a
  command stopped by one says which.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import resource
import signal
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from llmos_shell.calls import SandboxLimits, ToolCall

if TYPE_CHECKING:
    from llmos_shell.registry import Tool

MIB = 1024 * 1024

# Under the home folder: files and folders that run code later, hold keys, or set what
# programs do. Whether they exist or not, no folder holding one is ever writable.
HOME_PROTECTED = (
    ".bashrc .bash_profile .bash_login .bash_logout .bash_aliases .bash_functions .profile "
    ".zshrc .zshenv .zprofile .zlogin .zlogout .kshrc .mkshrc .cshrc .tcshrc .login .logout "
    ".inputrc .xinitrc .xprofile .xsession .xsessionrc .pam_environment .envrc "
    ".gitconfig .git-credentials .npmrc .yarnrc .pypirc .netrc .curlrc .wgetrc .vimrc .exrc "
    ".emacs .tmux.conf .screenrc .gdbinit .lesskey .mailcap .ssh .gnupg .docker .kube .aws "
    "bin .local/bin .local/share/systemd .local/share/applications "
    ".config/autostart .config/systemd .config/environment.d .config/fish .config/git "
    ".config/nvim .config/pip .config/containers"
).split()
# Inside the folder a command runs in: what git runs from later, kept read-only (and the
# folders leading to it bound onto themselves, so they cannot be renamed away).
TREE_PROTECTED = (".git/hooks", ".git/config", ".git/info")
_PSEUDO = (Path("/proc"), Path("/sys"), Path("/dev"))

# Per program, the environment that neutralises settings naming a program to run. Git's
# `GIT_CONFIG_KEY_n` settings take precedence over every config file, the repository's own
# included.
EXECUTABLE_SETTINGS: dict[str, dict[str, str | None]] = {
    "git": {
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_PAGER": "cat",
        "GIT_EDITOR": "true",
        "GIT_SEQUENCE_EDITOR": "true",
        "GIT_EXTERNAL_DIFF": None,
        "GIT_SSH": None,
        "GIT_SSH_COMMAND": None,
        "GIT_PROXY_COMMAND": None,
        "GIT_ASKPASS": None,
        "GIT_EXEC_PATH": None,
        "GIT_TEMPLATE_DIR": None,
    },
    "less": {"LESSSECURE": "1", "LESSOPEN": None, "LESSCLOSE": None, "LESSKEYIN": None},
    "man": {"MANPAGER": "cat", "MANOPT": None, "MANROFFOPT": None, "BROWSER": None},
    "pager": {"PAGER": "cat"},
    "ssh": {"SSH_ASKPASS": None, "SSH_ASKPASS_REQUIRE": None},
    "bash": {"BASH_ENV": None, "ENV": None, "PROMPT_COMMAND": None},
    "python": {"PYTHONSTARTUP": None},
}
# What `diff.external` becomes: a plain `diff -u` of the two versions git hands over (git runs
# the value through the shell, with its seven arguments).
_PLAIN_DIFF = 'f() { diff -u -- "$2" "$5"; test $? -le 1; }; f'
GIT_SETTINGS = (
    ("core.fsmonitor", "false"),
    ("core.hooksPath", "/dev/null"),
    ("core.pager", "cat"),
    ("core.editor", "true"),
    ("core.sshCommand", "ssh"),
    ("core.askPass", "false"),
    ("core.attributesFile", "/dev/null"),
    ("core.alternateRefsCommand", ""),
    ("sequence.editor", "true"),
    ("diff.external", _PLAIN_DIFF),
    ("credential.helper", ""),
    ("gpg.program", "gpg"),
    ("gpg.ssh.program", "ssh-keygen"),
    ("gpg.x509.program", "gpgsm"),
    ("protocol.ext.allow", "never"),
)


Limits = SandboxLimits


def describe_limits(limits: Limits) -> str:
    """The limits in words, for `doctor`."""
    return (
        f"memory {_size(limits.memory_mb)} (sandbox_memory_mb), {limits.processes} more "
        f"processes (sandbox_processes), files up to {_size(limits.file_mb)} "
        f"(sandbox_file_mb), $TMPDIR up to {_size(limits.tmp_mb)} (sandbox_tmp_mb)"
    )


def _size(mb: int) -> str:
    return f"{mb // 1024:g} GiB" if mb % 1024 == 0 else f"{mb} MiB"


# --- what a command may write ---------------------------------------------------------------


def _home() -> Path:
    return Path(os.path.realpath(os.path.expanduser("~")))


def protected_paths(extra: Sequence[str] = ()) -> list[Path]:
    """Every protected path, resolved, whether it exists or not: llmos's folders, the
    `read_only` paths the session names, and `HOME_PROTECTED` under the home folder."""
    from llmos_shell.config import Paths

    paths = Paths.from_env()
    home = _home()
    candidates = [paths.config_dir, paths.state_dir, paths.data_dir, *map(Path, extra)]
    candidates += [home / name for name in HOME_PROTECTED]
    candidates += _own_code()
    found: list[Path] = []
    for candidate in candidates:
        real = Path(os.path.realpath(candidate))
        if real not in found:
            found.append(real)
    return found


def _own_code() -> list[Path]:
    """Where llmos's own code and the packages its interpreter imports live: a command that
    wrote there would run unsandboxed at the next start."""
    import sysconfig

    import llmos_shell

    found = [Path(llmos_shell.__file__).parent]
    for key in ("purelib", "platlib"):
        with contextlib.suppress(KeyError):
            found.append(Path(sysconfig.get_paths()[key]))
    with contextlib.suppress(ImportError, ValueError):
        spec = importlib.util.find_spec("llmos_tools")  # the built-in tools, found, not imported
        if spec is not None and spec.origin:
            found.append(Path(spec.origin).parent)
    return found


def writable_root(
    workdir: Path | None, extra: Sequence[str] = (), may_write: bool = True
) -> tuple[Path | None, str | None]:
    """The folder a command may write besides its $TMPDIR, or None and why it may not."""
    if workdir is None:
        return None, None
    real = Path(os.path.realpath(workdir))
    if not may_write:
        return None, "the call was judged read-only"
    if real == Path(real.anchor) or any(real == p or p in real.parents for p in _PSEUDO):
        return None, f"{real} is the root or a system pseudo-folder"
    if real == _home() or real in _home().parents:
        return None, f"{real} holds your home folder's start-up files and keys"
    for path in protected_paths(extra):
        if path == real or path in real.parents:
            return None, f"{real} lies inside {path}, which is protected"
        if real in path.parents:
            return None, f"{real} holds {path}, which is protected"
    return real, None


def subfolder_hint(workdir: Path, why: str) -> str:
    """What the result of a command that could not write where it ran says."""
    return (
        f"the sandbox let this command write only its $TMPDIR, because {why}; run it in a "
        f"subfolder of {workdir} (run_shell's cwd) to let it write there"
    )


def tree_protected(root: Path) -> Iterator[tuple[Path, Path]]:
    """(chain folder, protected path) inside a writable root: the hooks, config and info of
    the repository there (its `.git` followed where it is a link or a `gitdir:` file), each
    with the folder right under the root that leads to it, which is bound onto itself so that
    it cannot be renamed away."""
    dot_git = root / ".git"
    gitdirs = [Path(os.path.realpath(dot_git))]
    gitdirs += [config.parent for config in _repo_config(dot_git) if os.path.lexists(dot_git)]
    for gitdir in dict.fromkeys(gitdirs):
        if gitdir == root or root not in gitdir.parents or not gitdir.is_dir():
            continue
        chain = root / gitdir.relative_to(root).parts[0]
        for name in TREE_PROTECTED:
            path = gitdir / Path(name).name
            if os.path.lexists(path) and not os.path.islink(path):
                yield chain, path


def run_folder(call: ToolCall, tool: Tool, folder: str | None = None) -> Path | None:
    """The resolved folder a shell tool's call runs in: its path argument (the `cwd`), taken
    from `folder` (the session's) or the current folder; None for other tools."""
    if tool.shell_command_arg is None:
        return None
    try:
        base = folder or os.getcwd()
    except OSError:
        return None
    for name, kind in tool.kinds.items():
        value = call.arguments.get(name)
        if kind.value == "path" and name != tool.shell_command_arg and isinstance(value, str):
            if value.strip() and "\0" not in value:
                base = os.path.join(base, os.path.expanduser(value.strip()))
            break
    return Path(os.path.realpath(base))


def folder_word(folder: Path | None) -> str:
    """What the folder a command runs in is, for the catastrophe rule: `~` for the home
    folder, the critical folder it is (`/`, `/etc`), or `.` for a working tree."""
    from llmos_shell.safety.shell import critical_dir

    if folder is None:
        return "."
    if folder == _home():
        return "~"
    return critical_dir(str(folder), working_tree=False) or "."


# --- executable settings --------------------------------------------------------------------


# Drivers a repository's config names and its attributes pick per file: each found by name is
# given a harmless value (an empty filter is none; textconv `cat` shows the file as it is).
_DRIVER_SECTION_RE = re.compile(r'^\s*\[\s*(filter|diff|merge)\s+"((?:[^"\\]|\\.)+)"\s*\]', re.M)
_DRIVER_SETTINGS = {
    "filter": (("clean", ""), ("smudge", ""), ("process", ""), ("required", "false")),
    "diff": (("textconv", "cat"), ("command", _PLAIN_DIFF)),
    "merge": (("driver", "false"),),
}
_MAX_CONFIG_BYTES = 1024 * 1024


def _git_configs(root: Path) -> Iterator[Path]:
    """The config files of the repository `root` lies in and of those right inside it."""
    for folder in (root, *root.parents):
        if os.path.lexists(folder / ".git"):
            yield from _repo_config(folder / ".git")
            break
    try:
        children = sorted(root.iterdir())[:256]
    except OSError:
        return
    for child in children:
        if child.name != ".git" and os.path.lexists(child / ".git"):
            yield from _repo_config(child / ".git")


def _repo_config(dot_git: Path) -> Iterator[Path]:
    if dot_git.is_file():  # a worktree or submodule: `gitdir: PATH`
        try:
            text = dot_git.read_text(errors="replace")[:4096]
        except OSError:
            return
        if text.startswith("gitdir:"):
            gitdir = (dot_git.parent / text[7:].strip()).resolve()
            yield gitdir / "config"
            common = gitdir / "commondir"
            if common.is_file():
                yield (gitdir / common.read_text().strip()).resolve() / "config"
    else:
        yield dot_git / "config"


def driver_overrides(root: Path | None) -> list[tuple[str, str]]:
    """Git settings that disarm each filter, diff and merge driver the repositories in and
    around `root` define (they run commands on files their attributes pick)."""
    if root is None:
        return []
    found: list[tuple[str, str]] = []
    for config in _git_configs(root):
        try:
            with open(config, "rb") as handle:
                text = handle.read(_MAX_CONFIG_BYTES).decode("utf-8", "replace")
        except OSError:
            continue
        for section, name in _DRIVER_SECTION_RE.findall(text):
            for key, value in _DRIVER_SETTINGS[section]:
                setting = (f"{section}.{name}.{key}", value)
                if setting not in found:
                    found.append(setting)
    return found


def environment_args(root: Path | None = None) -> list[str]:
    """bubblewrap options that neutralise every program's executable settings, and the git
    drivers defined in and around `root`, the folder the command runs in."""
    line: list[str] = []
    for settings in EXECUTABLE_SETTINGS.values():
        for name, value in settings.items():
            line += ["--unsetenv", name] if value is None else ["--setenv", name, value]
    git = [*GIT_SETTINGS, *driver_overrides(root)]
    line += ["--setenv", "GIT_CONFIG_COUNT", str(len(git))]
    for index, (key, value) in enumerate(git):
        line += ["--setenv", f"GIT_CONFIG_KEY_{index}", key]
        line += ["--setenv", f"GIT_CONFIG_VALUE_{index}", value]
    return line


# --- resources ------------------------------------------------------------------------------


def _own_processes() -> int:
    uid = os.getuid()
    count = 0
    try:
        names = os.listdir("/proc")
    except OSError:
        return 0
    for name in names:
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    count += 1
            except OSError:
                continue
    return count


def limiter(limits: Limits) -> Callable[[], None]:
    """A function run in the child before it starts the sandbox: it sets the limits."""
    processes = _own_processes() + limits.processes  # the count is per user, not per command

    def apply() -> None:
        for kind, value in (
            (resource.RLIMIT_DATA, limits.memory_mb * MIB),
            (resource.RLIMIT_FSIZE, limits.file_mb * MIB),
            (resource.RLIMIT_NPROC, processes),
            (resource.RLIMIT_CORE, 0),
        ):
            _, hard = resource.getrlimit(kind)
            soft = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(kind, (soft, hard))

    return apply


# Runs the command inside the sandbox and writes its peak memory (KiB) to a descriptor, since
# bubblewrap's own init does not hand its children's usage on.
_WAITER = (
    "import os,signal,sys\n"
    "fd=int(sys.argv[1]);pid=os.fork()\n"
    "if pid==0:\n os.close(fd)\n"
    " for s in (signal.SIGPIPE,signal.SIGXFSZ):signal.signal(s,signal.SIG_DFL)\n"
    " os.execvp(sys.argv[2],sys.argv[2:])\n"
    "for s in (signal.SIGINT,signal.SIGTERM,signal.SIGHUP):\n"
    " signal.signal(s,lambda n,f:os.kill(pid,n))\n"
    "while True:\n"
    " try:\n  _,st,ru=os.wait4(pid,0);break\n"
    " except InterruptedError:pass\n"
    "os.write(fd,b'%d\\n'%ru.ru_maxrss);os.close(fd)\n"
    "if os.WIFSIGNALED(st):\n"
    " n=os.WTERMSIG(st)\n"
    " try:signal.signal(n,signal.SIG_DFL)\n"
    " except (OSError,ValueError):pass\n"
    " os.kill(os.getpid(),n)\n"
    "os._exit(os.waitstatus_to_exitcode(st) & 255)\n"
)


def measured(argv: Sequence[str], fd: int) -> list[str]:
    """`argv` run by a small waiter that reports its peak memory on descriptor `fd`."""
    import sys

    return [sys.executable, "-I", "-S", "-c", _WAITER, str(fd), *argv]


def stopped_by(limits: Limits, exit_code: int, max_rss_kb: int) -> str | None:
    """Which limit stopped a command that failed, in one sentence, or None."""
    if exit_code == 0:
        return None
    if exit_code in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ):
        return f"stopped: it wrote a file larger than {_size(limits.file_mb)} (sandbox_file_mb)"
    if max_rss_kb * 1024 >= limits.memory_mb * MIB // 2:
        return f"stopped: it used more than {_size(limits.memory_mb)} of memory (sandbox_memory_mb)"
    return None


def mechanisms(limits: Limits) -> list[str]:
    """The mechanisms that hold the wall here, in words, for `doctor`."""
    cgroup = Path("/sys/fs/cgroup/cgroup.controllers").exists()
    bound = "setrlimit in the command (cgroup v2 " + (
        "present, not used)" if cgroup else "not mounted here)"
    )
    return [
        "bubblewrap namespaces: read-only file system, own pids, no network unless allowed",
        "writable root decided from the resolved folder; home, / and folders holding "
        "protected paths are never writable",
        "read-only calls write nothing but $TMPDIR",
        f"executable settings neutralised for {', '.join(EXECUTABLE_SETTINGS)}",
        f"limits by {bound}: {describe_limits(limits)}",
        "Landlock and seccomp: not used",
    ]
