"""Worker processes that run tool calls where they can be killed.

A thread cannot be stopped from outside: a tool blocked writing to a FIFO, or a regular
expression that backtracks for hours while holding the GIL, would keep running (and keep
the shell from exiting). So the executor sends each call to a worker process
(`worker_process`), waits for its reply with the time limit and the cancel event in view,
and on either kills the worker with everything it started; the next call gets a fresh one.

The pool keeps one idle worker started ahead, so a call seldom waits for a process to start.
Workers are started from one long-lived thread, since a worker dies with the thread that
started it (Linux's parent-death signal), and the pool is closed when the process exits.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from llmos_shell.registry import Tool

ToolRef = tuple[str, str, "str | None"]  # module, qualified name, plugin file
_POLL_S = 0.05  # how often a waiting call looks at the cancel event
_EXIT_WAIT_S = 2.0
_MAX_IDLE = 2
_WORKER_MODULE = "llmos_shell.safety.worker_process"


def tool_ref(item: Tool) -> ToolRef | None:
    """How a worker finds the tool's function again, or None when it cannot.

    Functions defined inside another function, in `__main__`, or in a module that cannot be
    imported by name run in the shell's own process instead.
    """
    func = item.func
    module_name = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not module_name or not qualname or "<" in qualname or module_name == "__main__":
        return None
    module = sys.modules.get(module_name)
    if module is None:
        return None
    file = item.source[len("file:") :] if item.source.startswith("file:") else None
    if file is None and getattr(module, "__spec__", None) is None:
        return None
    found: Any = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if found is not func and getattr(found, "func", None) is not func:
        return None  # the name now holds something else; a worker would find that
    return (module_name, qualname, file)


@dataclass(frozen=True)
class Stopped:
    """A call that did not come back: out of time, cancelled, or its worker died."""

    why: str  # "timeout", "cancelled" or "died"
    detail: str = ""


def kill_tree(pid: int) -> None:
    """Stop a process and every process it started: freeze them all, then kill them all."""
    import psutil

    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return
    frozen: list[psutil.Process] = []
    seen: set[int] = set()

    def freeze(proc: psutil.Process) -> None:
        seen.add(proc.pid)
        try:
            proc.suspend()  # a frozen process cannot start more while the tree is read
        except psutil.Error:
            pass
        frozen.append(proc)

    freeze(root)
    for _ in range(10):
        try:
            found = [child for child in root.children(recursive=True) if child.pid not in seen]
        except psutil.Error:
            break
        if not found:
            break
        for child in found:
            freeze(child)
    for proc in frozen:
        try:
            proc.kill()
        except psutil.Error:
            pass
    try:
        os.killpg(pid, signal.SIGKILL)  # the worker leads its own group
    except (ProcessLookupError, PermissionError):
        pass


class Worker:
    """One worker process and the socket to it; `preload` names tools to import at once."""

    def __init__(self, preload: tuple[ToolRef, ...] = ()) -> None:
        ours, theirs = multiprocessing.Pipe(duplex=True)
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [package_root, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
        )
        # what the worker says on dying (a traceback) is kept to explain its end
        self._stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", _WORKER_MODULE, str(theirs.fileno()), str(os.getpid())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            start_new_session=True,  # Ctrl-C at the terminal is the shell's, never the worker's
            env=env,
        )
        theirs.close()
        self.conn: Connection = ours
        self._env: dict[str, str] | None = None
        self._path: list[str] | None = None
        if preload:
            # imported while nothing waits for this worker; no reply comes back
            self._path = list(sys.path)
            self.conn.send(("preload", preload, self._path))

    @property
    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.process.poll() is None

    def call(
        self,
        ref: ToolRef,
        values: dict[str, Any],
        context_arg: str | None,
        context: Any,
        deadline: float,
        cancel: threading.Event | None,
    ) -> tuple[Any, ...] | Stopped:
        """Send one call and wait for its reply, the deadline, or the cancel event."""
        env = dict(os.environ)
        path = list(sys.path)
        cwd: str | None = getattr(context, "folder", None)
        try:
            cwd = cwd or os.getcwd()
        except OSError:
            cwd = None  # the shell's folder was deleted under it
        message = (
            "call",
            ref,
            values,
            context_arg,
            context,
            cwd,
            env if env != self._env else None,
            path if path != self._path else None,
        )
        try:
            self.conn.send(message)
        except OSError as exc:
            return Stopped("died", f"it could not be reached ({exc})")
        except Exception as exc:  # the arguments do not pickle; nothing was sent
            return ("unresolved", f"its arguments cannot be sent to a worker ({exc})")
        self._env, self._path = env, path
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return Stopped("timeout")
            if cancel is not None and cancel.is_set():
                return Stopped("cancelled")
            try:
                if self.conn.poll(min(left, _POLL_S) if cancel is not None else left):
                    reply: tuple[Any, ...] = self.conn.recv()
                    return reply
            except (EOFError, OSError):
                return Stopped("died", self._ending())

    def _ending(self) -> str:
        try:
            code = self.process.wait(timeout=_EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            return "its process stopped answering"
        if code < 0:
            return f"its process was killed by {signal.Signals(-code).name}"
        said = self._last_words()
        return f"its process exited with status {code}" + (f": {said}" if said else "")

    def _last_words(self) -> str:
        """The last line the worker wrote to stderr (a traceback's last line), if any."""
        try:
            self._stderr.seek(max(0, self._stderr.seek(0, os.SEEK_END) - 2000))
            lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        except (OSError, ValueError):
            return ""
        return lines[-1][:300] if lines else ""

    def kill(self) -> None:
        """Kill the worker and everything it started, and reap it."""
        kill_tree(self.process.pid)
        self.conn.close()
        try:
            self.process.wait(timeout=_EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            pass
        self._stderr.close()

    def close(self) -> None:
        """Let an idle worker end by itself (it exits when the socket closes)."""
        self.conn.close()
        try:
            self.process.wait(timeout=_EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            self.kill()
            return
        self._stderr.close()


class WorkerPool:
    """Idle workers ready for calls; a killed one is replaced by a fresh one at once."""

    def __init__(self, max_idle: int = _MAX_IDLE) -> None:
        self.max_idle = max_idle
        self._idle: list[Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        self._seen: dict[ToolRef, None] = {}  # tools called so far, for new workers to preload
        # One thread starts every worker, so no worker dies with a short-lived thread.
        self._starter = concurrent.futures.ThreadPoolExecutor(1, "llmos-worker-start")

    def _start(self) -> Worker:
        preload = tuple(self._seen)
        try:
            return self._starter.submit(Worker, preload).result()
        except RuntimeError:  # the starter is shut down: the process is exiting
            return Worker(preload)

    def acquire(self) -> Worker:
        """An idle worker, or a new one."""
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    return worker
        return self._start()

    def release(self, worker: Worker) -> None:
        """Take back a worker that answered."""
        with self._lock:
            if not self._closed and worker.alive and len(self._idle) < self.max_idle:
                self._idle.append(worker)
                return
        worker.close()

    def discard(self, worker: Worker) -> None:
        """Kill a worker that did not answer, and start its replacement."""
        worker.kill()
        self.prestart()

    def prestart(self) -> None:
        """Make sure one worker is starting or waiting, so the next call need not wait."""
        with self._lock:
            if self._closed or any(worker.alive for worker in self._idle):
                return
        worker = self._start()
        with self._lock:
            if self._closed:
                closing = True
            else:
                self._idle.append(worker)
                closing = False
        if closing:
            worker.close()

    def run(
        self,
        ref: ToolRef,
        values: dict[str, Any],
        context_arg: str | None,
        context: Any,
        deadline: float,
        cancel: threading.Event | None,
    ) -> tuple[Any, ...] | Stopped:
        """One call on a worker; a worker that did not answer is killed and replaced."""
        self._seen[ref] = None
        worker = self.acquire()
        outcome = worker.call(ref, values, context_arg, context, deadline, cancel)
        if isinstance(outcome, Stopped):
            self.discard(worker)
        else:
            self.release(worker)
        return outcome

    def close(self) -> None:
        """End every idle worker; calls in flight end with their workers."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()
        self._starter.shutdown(wait=False)


_shared: WorkerPool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> WorkerPool:
    """The process's pool, started on first use and closed at exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = WorkerPool()
            atexit.register(_shared.close)
        return _shared


def _after_fork() -> None:
    global _shared
    _shared = None  # a forked child starts its own workers, never uses its parent's


os.register_at_fork(after_in_child=_after_fork)
