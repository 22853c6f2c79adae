"""The sandbox for shell commands: bubblewrap, set up so that a command can do little harm.

Inside, the whole file system is read-only except a private, bounded temporary folder
($TMPDIR; the real /tmp can be read, not written) and, where `wall.writable_root` allows it,
the folder the command runs in (never `/`, the home folder or a folder holding a protected
path; never for a call judged read-only). The command gets its own pid namespace (it sees and signals only
its own processes, and all of them die with it), no network unless the call was allowed to
use it, no capabilities, no new privileges (setuid programs such as sudo do not elevate), its
own session (no terminal to type into), and the container daemons' sockets and the desktop
session's runtime folder are hidden. Programs' executable settings are neutralised and resources bounded (`wall`).
`availability` says whether bubblewrap can run here,
and why not.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from llmos_shell.calls import SANDBOX_MODES, Decision, SandboxMode, Verdict
from llmos_shell.safety.wall import (
    MIB,
    Limits,
    environment_args,
    tree_protected,
    writable_root,
)

DEFAULT_LIMITS = Limits()
INSTALL_HINT = "install bubblewrap (apt-get install bubblewrap or dnf install bubblewrap)"
NO_SANDBOX_REASON = "it would run without a sandbox"  # among a decision's reasons
_PROBE_TIMEOUT_S = 10.0
# Daemons that would run anything for whoever reaches their socket.
_DAEMON_SOCKETS = (
    "/run/docker.sock",
    "/var/run/docker.sock",
    "/run/containerd/containerd.sock",
    "/run/podman/podman.sock",
)


@dataclass(frozen=True)
class SandboxStatus:
    """Whether bubblewrap can run sandboxes here; `detail` is its path, or why it cannot."""

    usable: bool
    detail: str


def availability() -> SandboxStatus:
    """Whether the bwrap on PATH runs sandboxes; each bwrap found is probed once per process."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return SandboxStatus(False, "bubblewrap is not installed")
    return _probe(bwrap)


@functools.lru_cache(maxsize=4)
def _probe(bwrap: str) -> SandboxStatus:
    """Run `true` in a sandbox with the same options commands get."""
    argv = command_line(["true"], workdir=None, network=False, bwrap=bwrap)
    try:
        probe = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SandboxStatus(False, f"{bwrap} cannot start ({exc})")
    if probe.returncode != 0:
        lines = probe.stderr.decode("utf-8", "replace").strip().splitlines()
        why = lines[-1] if lines else f"exit status {probe.returncode}"
        return SandboxStatus(False, f"{bwrap} cannot create its namespaces here ({why})")
    return SandboxStatus(True, bwrap)


def private_tmp() -> Path:
    """A new, empty folder of the host: where one command's $TMPDIR (a bounded tmpfs) sits."""
    return Path(tempfile.mkdtemp(prefix="llmos-sandbox-tmp-"))


def remove_tmp(folder: Path) -> None:
    """After the command: its temporary folder goes, with whatever it left there."""
    shutil.rmtree(folder, ignore_errors=True)


def _hidden_sockets() -> list[str]:
    found: list[str] = []
    for socket_path in _DAEMON_SOCKETS:
        real = os.path.realpath(socket_path)
        if os.path.exists(real) and real not in found:
            found.append(real)
    return found


def _runtime_dir() -> str | None:
    """The desktop session's runtime folder (its D-Bus, agents), hidden from commands."""
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    real = os.path.realpath(runtime)
    return real if os.path.isdir(real) and real != "/" else None


def command_line(
    argv: Sequence[str],
    *,
    workdir: Path | None,
    network: bool,
    bwrap: str = "bwrap",
    read_only: Sequence[str] = (),
    private_tmp: Path | None = None,
    may_write: bool = True,
    limits: Limits = DEFAULT_LIMITS,
) -> list[str]:
    """The bwrap command line that runs `argv` sandboxed, in `workdir`.

    `read_only` adds paths to keep read-only to llmos's own (the plugin folder in use).
    `private_tmp` is an empty folder of the host where the command's $TMPDIR, a tmpfs of at
    most `limits.tmp_mb`, is mounted; the real /tmp is read-only, like the rest.
    `may_write`: False for a call judged read-only, which then writes nothing but $TMPDIR.
    What else it may write is `wall.writable_root`'s decision.
    """
    folder, _ = writable_root(workdir, read_only, may_write)
    line = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    runtime = _runtime_dir()
    if runtime is not None:
        line += ["--tmpfs", runtime]
    for socket_path in _hidden_sockets():
        line += ["--ro-bind", "/dev/null", socket_path]
    if folder is not None:
        line += ["--bind", str(folder), str(folder)]
        chains: list[Path] = []
        for chain, path in tree_protected(folder):
            if chain not in chains:  # bound onto itself: a mount point cannot be renamed
                chains.append(chain)
                line += ["--bind", str(chain), str(chain)]
            line += ["--ro-bind", str(path), str(path)]
    line += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if not network:
        line.append("--unshare-net")
    line += ["--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    line += environment_args(Path(os.path.realpath(workdir)) if workdir is not None else None)
    if private_tmp is not None:
        line += ["--size", str(limits.tmp_mb * MIB), "--tmpfs", str(private_tmp)]
        line += ["--setenv", "TMPDIR", str(private_tmp)]
    else:
        line += ["--unsetenv", "TMPDIR"]
    chdir = str(workdir) if workdir is not None else "/"
    line += ["--chdir", chdir, "--", *argv]
    return line


class ShellSandbox:
    """The sandbox setting of one shell, and whether it already said that none can run."""

    def __init__(self, mode: SandboxMode = "auto", limits: Limits | None = None) -> None:
        if mode not in SANDBOX_MODES:
            raise ValueError(f"unknown sandbox mode {mode!r}; the modes are {SANDBOX_MODES}")
        self.mode: SandboxMode = mode
        self.limits = limits or DEFAULT_LIMITS
        self._announced = False
        self._lock = threading.Lock()

    def status(self) -> SandboxStatus:
        """Whether bubblewrap can run here (probed once per process)."""
        return availability()

    def announce(self) -> str | None:
        """The sentence saying no sandbox can run, the first time only; None after that."""
        with self._lock:
            if self._announced:
                return None
            self._announced = True
        return no_sandbox_sentence(self.status())


def no_sandbox_sentence(status: SandboxStatus) -> str:
    """The one sentence said once when shell commands cannot be sandboxed."""
    return (
        f"Shell commands run without a sandbox because {status.detail}, so every command that "
        f'is not read-only asks first; {INSTALL_HINT}, or set sandbox = "required" to refuse '
        "them."
    )


def gate(decision: Decision, mode: SandboxMode, status: SandboxStatus) -> tuple[Decision, bool]:
    """A shell command's decision when it cannot be sandboxed, and whether a person must say yes.

    With sandbox = "required" it is refused; with "auto" everything not read-only goes to a
    person even under --yes; with "off", or where bubblewrap runs, nothing changes.
    """
    if mode not in SANDBOX_MODES:
        raise ValueError(f"unknown sandbox mode {mode!r}")
    if mode == "off" or status.usable or decision.verdict is Verdict.DENY:
        return decision, False
    if mode == "required":
        reason = (
            f'refused: shell commands run only in a sandbox (sandbox = "required") and '
            f'{status.detail}; {INSTALL_HINT}, or set sandbox = "auto" to be asked instead'
        )
        return Decision(
            Verdict.DENY,
            decision.risk,
            reason,
            (*decision.reasons, reason),
            decision.sensitive,
            decision.programs,
            decision.parsed,
        ), False
    if decision.verdict is Verdict.ALLOW:
        return decision, False
    why = NO_SANDBOX_REASON
    return Decision(
        decision.verdict,
        decision.risk,
        f"{decision.reason}; {why}" if decision.reason else why,
        (*decision.reasons, why),
        decision.sensitive,
        decision.programs,
        decision.parsed,
    ), True
