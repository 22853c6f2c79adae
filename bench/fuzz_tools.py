"""Fuzz the tool-call path: every built-in tool, validated and executed, on arbitrary arguments.

    python bench/fuzz_tools.py [--cases 10000] [--seed 0] [--time-limit 5] [--tools a,b]
                               [--json OUT]

Each case draws a built-in tool and arguments for it (Hypothesis strategies built from the
tool's JSON Schema and its argument names): lone surrogates, NUL bytes, names and paths too
long for the file system, FIFOs, sockets, broken links, unreadable folders, sizes and ages
that overflow, `max_bytes=10**11`, huge and negative counts, wrong types, missing and extra
keys, catastrophic regular expressions. The call goes through `execute`, as the session runs
it, with a short time limit.

Everything happens in a throw-away playground: HOME, the XDG dirs, llmos's dirs and the
current directory all point into one temporary folder, the fixture is rebuilt before every
case, and every path given to a tool resolves inside the playground (only read-only tools
also see a few device and /proc files). `kill_process` only sees pids that do not exist, its
own process and a sacrificial child; `run_shell` runs only inside bubblewrap (it is skipped
where bubblewrap cannot run). Permission errors come from a folder and a file nobody may read
and, where the file system allows it (as root on ext4), from immutable files that even root
cannot change.

A case is counted as:
- unhandled: the result's error says "failed unexpectedly" (an exception that is not a
  ToolError), or an exception escaped `execute` itself;
- a hang: the call did not come back within the time limit plus a grace, or its work was
  still running after its result came back (a thread or a process it started);
- stopped: the call ran into the time limit and was stopped (not a hang when it came back on
  time and left nothing running).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import seed as hypothesis_seed  # noqa: E402

from bench.fuzz_cases import Playground, case_strategy, remove_tree  # noqa: E402
from llmos_shell.calls import ToolCall, ToolResult  # noqa: E402
from llmos_shell.registry import Registry, Tool, discover  # noqa: E402
from llmos_shell.safety import executor  # noqa: E402

UNHANDLED_MARK = "failed unexpectedly"
STOPPED_MARKS = ("did not finish within",)
_GRACE_S = 3.0  # past the time limit before a call counts as a hang


# --- running a case ---------------------------------------------------------------------------


@dataclass
class Report:
    """What the cases did, by kind, with an example of every distinct failure."""

    cases: int = 0
    by_tool: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    unhandled: dict[str, dict[str, Any]] = field(default_factory=dict)
    hangs: dict[str, dict[str, Any]] = field(default_factory=dict)
    unhandled_count: int = 0
    hang_count: int = 0
    stopped_count: int = 0
    slowest_s: float = 0.0
    seconds: float = 0.0
    skipped_tools: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The report as plain JSON values."""
        return {
            "cases": self.cases,
            "unhandled_exceptions": self.unhandled_count,
            "hangs": self.hang_count,
            "stopped_at_time_limit": self.stopped_count,
            "outcomes": dict(self.outcomes),
            "by_tool": dict(sorted(self.by_tool.items())),
            "distinct_unhandled": self.unhandled,
            "distinct_hangs": self.hangs,
            "slowest_case_s": round(self.slowest_s, 2),
            "seconds": round(self.seconds, 1),
            "skipped_tools": self.skipped_tools,
        }


def _shown(arguments: dict[str, Any]) -> str:
    text = repr(arguments)
    return text if len(text) <= 300 else text[:300] + "..."


def _tool_threads() -> int:
    """Threads running a tool in this process (the executor names them llmos-tool)."""
    return sum(1 for thread in threading.enumerate() if thread.name.startswith("llmos-tool"))


def _stray_processes(known: set[int]) -> list[int]:
    """Processes this one started (directly or not) that are not tool workers or known."""
    import psutil

    strays = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.pid in known or "llmos_shell.safety.worker" in " ".join(child.cmdline()):
                continue
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
        except psutil.Error:
            continue
        strays.append(child.pid)
    return strays


class Runner:
    """Runs cases through `execute` and sorts what comes back."""

    def __init__(self, playground: Playground, time_limit_s: float, report: Report) -> None:
        self.playground = playground
        self.time_limit_s = time_limit_s
        self.report = report
        self._extra: dict[str, Any] = {}
        parameters = inspect.signature(executor.execute).parameters
        if "context" in parameters:
            from llmos_shell.calls import ExecutionContext  # type: ignore[attr-defined]

            self._extra["context"] = ExecutionContext(sandbox="required")

    @property
    def sandboxed_shell(self) -> bool:
        """Whether run_shell can be fuzzed: only inside a sandbox that refuses to run without."""
        if "context" not in self._extra:
            return False
        from llmos_shell.safety import sandbox  # type: ignore[attr-defined]

        return bool(sandbox.availability().usable)

    def run(self, tool: Tool, arguments: dict[str, Any]) -> None:
        """One case: a fresh fixture, the call, and what it left behind."""
        report = self.report
        self.playground.reset()
        threads_before = _tool_threads()
        known = {self.playground.victim.pid} if self.playground.victim else set()
        started = time.monotonic()
        result: ToolResult | None = None
        escaped: BaseException | None = None
        try:
            result = executor.execute(
                ToolCall(tool.name, arguments), tool, timeout_s=self.time_limit_s, **self._extra
            )
        except BaseException as exc:  # a crash of the path itself is what this looks for
            escaped = exc
        elapsed = time.monotonic() - started
        report.cases += 1
        report.by_tool[tool.name] += 1
        report.slowest_s = max(report.slowest_s, elapsed)
        error = result.error or "" if result is not None else ""
        if escaped is not None:
            kind = "escaped"
            signature = f"{tool.name}: escaped {type(escaped).__name__}: {escaped}"[:200]
        elif result is not None and result.ok:
            kind, signature = "ok", ""
        elif UNHANDLED_MARK in error:
            kind = "unhandled"
            signature = f"{tool.name}: {error.splitlines()[0]}"[:200]
        elif any(mark in error for mark in STOPPED_MARKS):
            kind, signature = "stopped", ""
        elif error.startswith(f"invalid arguments for {tool.name}"):
            kind, signature = "invalid", ""
        else:
            kind, signature = "tool_error", ""
        report.outcomes[kind] += 1
        if kind in ("unhandled", "escaped"):
            report.unhandled_count += 1
            report.unhandled.setdefault(signature, {"arguments": _shown(arguments), "count": 0})
            report.unhandled[signature]["count"] += 1
        if kind == "stopped":
            report.stopped_count += 1
        hang = self._hang(
            tool, elapsed, threads_before, known, slow=kind == "stopped" or elapsed > 1
        )
        if hang:
            report.hang_count += 1
            entry = report.hangs.setdefault(
                f"{tool.name}: {hang}", {"arguments": _shown(arguments), "count": 0}
            )
            entry["count"] += 1

    def _hang(
        self, tool: Tool, elapsed: float, threads_before: int, known: set[int], slow: bool
    ) -> str:
        if elapsed > self.time_limit_s + _GRACE_S:
            return f"came back after {elapsed:.1f} s, past the {self.time_limit_s:g} s limit"
        if not slow:
            return "" if _tool_threads() <= threads_before else self._settle(threads_before)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            if _tool_threads() <= threads_before and not _stray_processes(known):
                return ""
            time.sleep(0.05)
        if _tool_threads() > threads_before:
            return "its thread was still running after the result"
        return "a process it started was still running after the result"

    def _settle(self, threads_before: int) -> str:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            if _tool_threads() <= threads_before:
                return ""
            time.sleep(0.02)
        return "its thread was still running after the result"


def fuzz(
    registry: Registry,
    playground: Playground,
    *,
    cases: int,
    time_limit_s: float = 5.0,
    seed: int | None = 0,
    only: set[str] | None = None,
    derandomize: bool = False,
    deadline_s: float | None = None,
    progress: Callable[[Report], None] | None = None,
) -> Report:
    """Run `cases` fuzzed calls over the registry's tools; never raises for a tool's failure.

    `deadline_s` makes Hypothesis itself fail a case that takes longer (for the test suite;
    the bench counts such cases as hangs instead).
    """
    report = Report()
    runner = Runner(playground, time_limit_s, report)
    tools = [item for item in registry if item.executable and (only is None or item.name in only)]
    if not runner.sandboxed_shell:
        report.skipped_tools += [item.name for item in tools if item.shell_command_arg]
        tools = [item for item in tools if not item.shell_command_arg]

    @settings(
        max_examples=cases,
        database=None,
        deadline=None if deadline_s is None else deadline_s * 1000,
        derandomize=derandomize,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case_strategy(tools, playground))
    def one(case: tuple[Tool, dict[str, Any]]) -> None:
        runner.run(*case)
        if progress is not None and report.cases % 500 == 0:
            progress(report)

    test = one if seed is None or derandomize else hypothesis_seed(seed)(one)
    started = time.monotonic()
    test()
    report.seconds = time.monotonic() - started
    return report


@dataclass
class _Switched:
    previous: dict[str, str | None]
    cwd: str


def enter(playground: Playground) -> _Switched:
    """Point the environment and the cwd into the playground; `leave` puts them back."""
    previous = {key: os.environ.get(key) for key in playground.environment()}
    os.environ.update(playground.environment())
    cwd = os.getcwd()
    playground.reset()
    return _Switched(previous, cwd)


def leave(playground: Playground, switched: _Switched) -> None:
    """Undo `enter`."""
    playground.close()
    os.chdir(switched.cwd)
    for key, value in switched.previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _print_progress(report: Report) -> None:
    print(
        f"  {report.cases} cases, {report.unhandled_count} unhandled, {report.hang_count} hangs, "
        f"{report.stopped_count} stopped, {report.seconds or 0:.0f} s",
        file=sys.stderr,
        flush=True,
    )


def _iter_lines(report: Report) -> Iterator[str]:
    yield f"cases: {report.cases} in {report.seconds:.0f} s (slowest {report.slowest_s:.1f} s)"
    yield f"unhandled exceptions: {report.unhandled_count}"
    yield f"hangs: {report.hang_count}"
    yield f"stopped at the time limit and cleaned up: {report.stopped_count}"
    yield "outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(report.outcomes.items()))
    yield "cases per tool: " + ", ".join(f"{k} {v}" for k, v in sorted(report.by_tool.items()))
    if report.skipped_tools:
        yield f"skipped (bubblewrap cannot run here): {', '.join(report.skipped_tools)}"
    for title, table in (("unhandled", report.unhandled), ("hangs", report.hangs)):
        for signature, entry in sorted(table.items()):
            yield f"  {title} x{entry['count']}: {signature}\n      e.g. {entry['arguments']}"


def main(argv: list[str] | None = None) -> int:
    """Run the fuzzing bench and print (or save) its report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=5.0, help="seconds per call")
    parser.add_argument("--tools", default="", help="comma-separated tool names; all by default")
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="llmos-fuzz-")).resolve()
    playground = Playground(root)
    registry = discover(None)
    only = {name.strip() for name in args.tools.split(",") if name.strip()} or None
    switched = enter(playground)
    try:
        report = fuzz(
            registry,
            playground,
            cases=args.cases,
            time_limit_s=args.time_limit,
            seed=args.seed,
            only=only,
            progress=_print_progress,
        )
    finally:
        leave(playground, switched)
        remove_tree(root)
    for line in _iter_lines(report):
        print(line)
    if args.json:
        args.json.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    # A tool thread that never returns (the old executor's way) would keep the process alive.
    os._exit(0 if not report.unhandled_count and not report.hang_count else 1)


if __name__ == "__main__":
    sys.exit(main())
