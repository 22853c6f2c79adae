"""Planning latency per backend, cold and warm, against a bare-prompt floor; and startup time.

    python bench/latency.py [--backends llama-cpp,transformers,openai] [--model PATH]
                            [--threads N] [--requests N] [--device DEV] [--json OUT]

Each backend is wired as llmos wires it (`App.planner`: a shortlist of 5 tools and examples
chosen per request), with every llmos directory in a temporary folder:

- load: the backend created (for openai: the llama-cpp-python server started on loopback by
  this script, until it answers, and the client);
- cold: from a loaded backend to the first plan of a request (shortlist built, static prefix
  evaluated, first request planned); the prefix evaluation is also shown alone;
- cached start (llama-cpp only): a second backend over the same cache dir, loaded and ready
  to plan, its static prefix restored from the cache instead of evaluated;
- warm: the first step of each request planned once, after the cold request; median.

The floor of a request is the same backend library in the same process (for openai, the same
server): a bare prompt with as many new prompt tokens as the planned request evaluated, then
as many tokens generated greedily as the plan generated, end-of-sequence ignored, with no
grammar and nothing cached. Target: warm planning within 1.3x of the floor.

Startup: `llmos --help` (median of 5 runs; target under 0.3 s) and the interactive shell's
time to its first prompt in a pseudo-terminal, with an empty cache and again with the cache
the first run left. Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import http.client
import json
import os
import platform
import pty
import random
import re
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmos_shell.app import App
from llmos_shell.backends import BACKENDS as BACKEND_TABLE
from llmos_shell.backends.base import Backend, Generation
from llmos_shell.config import LoadedConfig, Paths, load_config
from llmos_shell.errors import BackendUnavailableError, LlmosError, TruncatedOutputError
from llmos_shell.planning.planner import Planner, Transcript

BACKENDS = tuple(BACKEND_TABLE)

# The cold request: planned first, so that the warm requests after it are all warm.
COLD_REQUEST = "show me information about this system"

REQUESTS = [
    "how much disk space is free?",
    "which processes use the most memory?",
    "list the files in /tmp",
    "find pdf files bigger than 10 MB in my home",
    "what's my ip address",
    "show the first lines of notes.txt",
]

WARM_TARGET = 1.3
HELP_TARGET_S = 0.3
HELP_RUNS = 5
SHELL_PROMPT = b"llmos>"

# Libraries each backend imports, checked before it is started so a missing one is a skip;
# a remote backend is measured against llama-cpp-python's server, started here.
_SERVER_NEEDS = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context")
_NEEDS = {
    name: (*spec.modules, *(_SERVER_NEEDS if spec.remote else ()))
    for name, spec in BACKEND_TABLE.items()
}

# Words for the openai floor's prompt: one token each in most tokenizers.
_WORDS = (
    "apple river stone green house table water light music paper garden window summer "
    "little yellow market winter simple bridge forest letter orange animal silver travel "
    "morning doctor island pocket button circle friend planet castle rabbit engine shadow "
    "candle butter dinner ticket mirror basket wallet jacket pepper violin harbor meadow"
).split()

_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>]")
_PROMPT_EVAL = re.compile(r"prompt eval time\s*=\s*[\d.]+ ms /\s*(\d+) tokens")
_EVAL_RUNS = re.compile(r"\beval time\s*=\s*[\d.]+ ms /\s*(\d+) runs")


# -- what is measured ----------------------------------------------------------------------


@dataclass
class RequestTiming:
    """One warm request: its plan, what it cost in tokens and time, and its floor."""

    request: str
    plan_s: float | None = None
    outcome: str = ""
    new_prompt_tokens: int | None = None
    completion_tokens: int | None = None
    floor_s: float | None = None
    floor_prompt_tokens: int | None = None
    error: str | None = None

    @property
    def ratio(self) -> float | None:
        """Planning time over the floor's."""
        return ratio(self.plan_s, self.floor_s)


@dataclass
class BackendReport:
    """Everything measured for one backend, or why it was not measured."""

    backend: str
    status: str = "ok"  # ok | skipped | failed
    reason: str | None = None
    describe: str = ""
    device: str = ""
    threads: str = ""
    load_s: float | None = None
    prefix_tokens: int | None = None
    prefix_eval_s: float | None = None
    planner_ready_s: float | None = None
    cold_plan_s: float | None = None
    cached_start_s: float | None = None
    cached_restored: bool | None = None
    requests: list[RequestTiming] = field(default_factory=list)

    @property
    def cold_s(self) -> float | None:
        """From a loaded backend to the first plan: shortlist, static prefix, first request."""
        if self.planner_ready_s is None or self.cold_plan_s is None:
            return None
        return self.planner_ready_s + self.cold_plan_s

    @property
    def warm_median_s(self) -> float | None:
        """Median warm planning time."""
        return median([t.plan_s for t in self.requests])

    @property
    def floor_median_s(self) -> float | None:
        """Median floor time."""
        return median([t.floor_s for t in self.requests])

    @property
    def warm_ratio(self) -> float | None:
        """Warm median over floor median."""
        return ratio(self.warm_median_s, self.floor_median_s)

    def to_json(self) -> dict[str, Any]:
        """The report with its derived numbers, for --json."""
        data = dataclasses.asdict(self)
        data["requests"] = [{**dataclasses.asdict(t), "ratio": t.ratio} for t in self.requests]
        for name in ("cold_s", "warm_median_s", "floor_median_s", "warm_ratio"):
            data[name] = getattr(self, name)
        return data


@dataclass
class StartupReport:
    """`llmos --help` and the interactive shell's time to its first prompt."""

    command: str | None = None
    help_runs_s: list[float] = field(default_factory=list)
    first_prompt_empty_cache_s: float | None = None
    first_prompt_cached_s: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def help_median_s(self) -> float | None:
        """Median wall time of `llmos --help`."""
        return median(self.help_runs_s)

    def to_json(self) -> dict[str, Any]:
        """The report with its median, for --json."""
        return {**dataclasses.asdict(self), "help_median_s": self.help_median_s}


# -- small pure helpers --------------------------------------------------------------------


def median(values: Sequence[float | None]) -> float | None:
    """Median of the values that are there, or None when none is."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def parse_backends(text: str) -> list[str]:
    """The comma-separated backend names, checked, in the order given, without repeats."""
    names: list[str] = []
    for part in text.split(","):
        name = part.strip()
        if not name:
            continue
        if name not in BACKENDS:
            raise ValueError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
        if name not in names:
            names.append(name)
    if not names:
        raise ValueError(f"no backend given; choose from {', '.join(BACKENDS)}")
    return names


def parse_perf(lines: Sequence[str]) -> tuple[int | None, int | None]:
    """Prompt tokens evaluated and single-token eval runs in llama.cpp's last perf report."""
    prompt: int | None = None
    runs: int | None = None
    for line in lines:
        found = _PROMPT_EVAL.search(line)
        if found:
            prompt, runs = int(found.group(1)), None
            continue
        found = _EVAL_RUNS.search(line)
        if found:
            runs = int(found.group(1))
    return prompt, runs


def fit_prompt(
    count_tokens: Callable[[str], int], target: int, rng: random.Random, *, tries: int = 12
) -> tuple[str, int]:
    """Random words that tokenize to `target` tokens (or as close as `tries` get), and their count."""
    pool = [rng.choice(_WORDS) for _ in range(max(4 * target, 16))]
    words = max(target, 1)
    best: tuple[str, int] | None = None
    for _ in range(tries):
        text = " ".join(pool[:words])
        got = count_tokens(text)
        if best is None or abs(got - target) < abs(best[1] - target):
            best = (text, got)
        if got == target:
            break
        # Scale by the tokens a word took so far; a step of one word when that stalls.
        guess = round(words * target / got) if got > 0 else words + 1
        if guess == words:
            guess += 1 if got < target else -1
        words = min(max(guess, 1), len(pool))
    assert best is not None
    return best


def strip_ansi(data: bytes) -> bytes:
    """Terminal output without its escape sequences."""
    return _ANSI.sub(b"", data)


def seconds(value: float | None) -> str:
    """A time for the table: two decimals, or a dash when it was not measured."""
    return "-" if value is None else f"{value:.2f}"


def times(value: float | None) -> str:
    """A ratio for the table."""
    return "-" if value is None else f"{value:.2f}x"


def count(value: int | None) -> str:
    """A token count for the table."""
    return "-" if value is None else str(value)


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return (indent + "  ".join(parts)).rstrip()

    return "\n".join([line(headers), *(line(row) for row in rows)])


# -- processes this script starts ------------------------------------------------------------


def _die_with_parent() -> None:
    """In a child: be sent SIGTERM when this script dies, however it dies (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _stop(proc: subprocess.Popen[Any], grace_s: float = 10.0) -> None:
    """End a child this script started: SIGTERM, then SIGKILL after `grace_s`."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(grace_s)


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM (as `timeout` sends) exits through the finally blocks, which stop children."""
    raise SystemExit(128 + signum)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LlamaServer:
    """llama-cpp-python's OpenAI-compatible server on loopback, for the openai backend.

    Its log is kept: llama.cpp reports, for every completion, how many prompt tokens it
    evaluated, which is how many a planned request cost the server beyond its cached prefix.
    """

    def __init__(self, model: Path, *, threads: int, context_size: int) -> None:
        self.model = model
        self.threads = threads
        self.context_size = context_size
        self.port = _free_port()
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._proc: subprocess.Popen[str] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI API root."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout_s: float = 180.0) -> None:
        """Start the server and wait until it lists its model."""
        command = [
            sys.executable,
            "-m",
            "llmos_shell.backends.llama_params",  # llama_cpp.server, guarded
            "--model",
            str(self.model),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(self.context_size),
            "--n_threads",
            str(self.threads),
        ]
        self._proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            preexec_fn=_die_with_parent,
        )
        threading.Thread(target=self._read_log, daemon=True).start()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise BackendUnavailableError(
                    f"the llama-cpp-python server exited with {self._proc.returncode}: "
                    + " | ".join(self.lines[-3:])
                )
            with contextlib.suppress(OSError, http.client.HTTPException):
                status, _ = self._request("GET", "/v1/models", None)
                if status == 200:
                    return
            time.sleep(0.2)
        raise BackendUnavailableError(
            f"the llama-cpp-python server did not answer in {timeout_s:g} s"
        )

    def stop(self) -> None:
        """Stop the server (always called; nothing is left running)."""
        if self._proc is not None:
            _stop(self._proc)

    def _read_log(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def mark(self) -> int:
        """A position in the log, to read what a request adds after it."""
        with self._changed:
            return len(self.lines)

    def perf_since(self, mark: int, timeout_s: float = 10.0) -> tuple[int | None, int | None]:
        """llama.cpp's token counts of the completion that ran after `mark`."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not any("total time" in line for line in self.lines[mark:]):
                left = deadline - time.monotonic()
                if left <= 0:
                    return None, None
                self._changed.wait(left)
            return parse_perf(self.lines[mark:])

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            data = json.dumps(body).encode() if body is not None else None
            headers = {"Content-Type": "application/json"} if data else {}
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, raw.decode("utf-8", errors="replace")

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` as the server tokenizes a completion prompt."""
        status, data = self._request("POST", "/extras/tokenize/count", {"input": text})
        if status != 200:
            raise BackendUnavailableError(f"/extras/tokenize/count answered {status}: {data}")
        return int(data["count"])

    def floor(self, new_tokens: int, completion_tokens: int, rng: random.Random) -> RequestFloor:
        """A bare completion: a random prompt of `new_tokens`, `completion_tokens` generated."""
        text, _ = fit_prompt(self.count_tokens, new_tokens, rng)
        body = {
            "prompt": text,
            "max_tokens": completion_tokens,
            "min_tokens": completion_tokens,  # keeps end-of-sequence out: llama-cpp-python
            "temperature": 0.0,  # has no ignore_eos, min_tokens masks it instead
            "top_k": 1,
            "repeat_penalty": 1.0,
            "stream": False,
        }
        mark = self.mark()
        started = time.perf_counter()
        status, data = self._request("POST", "/v1/completions", body)
        elapsed = time.perf_counter() - started
        if status != 200:
            raise BackendUnavailableError(f"/v1/completions answered {status}: {data}")
        evaluated, _ = self.perf_since(mark)
        return RequestFloor(elapsed, evaluated)


@dataclass(frozen=True)
class RequestFloor:
    """One floor run: its time, and the prompt tokens the library says it evaluated."""

    seconds: float
    prompt_tokens: int | None


# -- the floors ------------------------------------------------------------------------------


def _random_tokens(rng: random.Random, n_vocab: int, n: int) -> list[int]:
    # Ordinary ids; which tokens they are does not change what evaluating them costs.
    low = min(1000, n_vocab // 4)
    return [rng.randrange(low, n_vocab) for _ in range(max(n, 1))]


def llama_cpp_floor(
    backend: Any, new_tokens: int, completion_tokens: int, rng: random.Random
) -> RequestFloor:
    """The llama.cpp model of the backend, reset, on a random prompt, generating greedily."""
    llm = backend._llm
    tokens = _random_tokens(rng, int(llm.n_vocab()), new_tokens)
    llm.reset()
    made = 0
    started = time.perf_counter()
    if completion_tokens <= 0:
        llm.eval(tokens)
    else:
        # generate() evaluates the prompt, then samples and evaluates one token at a time;
        # end-of-sequence does not stop it (create_completion's stop checks are not used).
        for _token in llm.generate(tokens, top_k=1, temp=0.0, repeat_penalty=1.0, reset=True):
            made += 1
            if made >= completion_tokens:
                break
    return RequestFloor(time.perf_counter() - started, len(tokens))


def transformers_floor(
    backend: Any, new_tokens: int, completion_tokens: int, rng: random.Random
) -> RequestFloor:
    """The backend's torch model on a random prompt, then greedy steps with a key/value cache."""
    import torch

    model = backend._model
    device = backend.device
    # The forward arguments as this transformers release names them (the backend found them).
    cache_arg: str = backend._cache_arg
    extra: dict[str, Any] = {"use_cache": True}
    if backend._keep_arg is not None:
        extra[backend._keep_arg] = 1
    tokens = _random_tokens(rng, int(backend.n_vocab), new_tokens)
    with torch.inference_mode():
        ids = torch.tensor([tokens], device=device)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        started = time.perf_counter()
        out = model(input_ids=ids, **{cache_arg: None}, **extra)
        cache = out.get(cache_arg)
        logits = out.logits[0, -1]
        for step in range(completion_tokens):
            token = int(torch.argmax(logits))  # waits for the device, as a real loop does
            if step == completion_tokens - 1:
                break
            step_ids = torch.tensor([[token]], device=device)
            out = model(input_ids=step_ids, **{cache_arg: cache}, **extra)
            cache = out.get(cache_arg)
            logits = out.logits[0, -1]
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        elapsed = time.perf_counter() - started
    return RequestFloor(elapsed, len(tokens))


# -- one backend -----------------------------------------------------------------------------


def llmos_paths(root: Path) -> Paths:
    """Every llmos directory under `root`."""
    return Paths(
        config_dir=root / "config",
        data_dir=root / "data",
        state_dir=root / "state",
        cache_dir=root / "cache",
    )


def bench_config(
    root: Path, backend: str, args: argparse.Namespace, base_url: str | None
) -> LoadedConfig:
    """The configuration llmos would load with these settings given on the command line."""
    overrides: dict[str, Any] = {"backend": backend, "threads": args.threads}
    if backend == "openai":
        overrides["base_url"] = base_url  # the served model is the server's only one
    else:
        overrides["model"] = args.model
    if backend == "transformers":
        overrides["device"] = args.device
    return load_config(llmos_paths(root), overrides=overrides)


def missing_library(backend: str) -> str | None:
    """The first library the backend needs that is not installed, or None."""
    import importlib.util

    for name in _NEEDS[backend]:
        if importlib.util.find_spec(name) is None:
            return name
    return None


def describe_threads(backend: Backend, requested: int | None) -> tuple[str, str]:
    """Where the backend runs and on how many threads, as the library reports it."""
    if backend.name == "llama-cpp":
        llm = backend._llm  # type: ignore[attr-defined]
        return "cpu", f"n_threads={llm.n_threads}, n_threads_batch={llm.n_threads_batch}"
    if backend.name == "transformers":
        import torch

        device = backend.device  # type: ignore[attr-defined]
        where = str(device)
        if device.type == "cuda":
            where += f" ({torch.cuda.get_device_name(device)})"
        dtype = backend.stats.extra.get("dtype", "")
        return f"{where}, {dtype}", f"torch threads={torch.get_num_threads()}"
    # The server is given n_threads only, as the llama-cpp backend gives its Llama; the
    # batch (prompt) threads stay at llama-cpp-python's default, every core.
    return (
        "cpu (llama-cpp-python server)",
        f"n_threads={requested or os.cpu_count()}, n_threads_batch={os.cpu_count()}",
    )


def plan_once(planner: Planner, request: str) -> tuple[float, str, Generation | None]:
    """Plan the first step of `request`: time, what came out, and the generation."""
    started = time.perf_counter()
    action = planner.next_action(Transcript(request))
    elapsed = time.perf_counter() - started
    outcome = action.call.tool if action.call is not None else "answer"
    return elapsed, outcome, action.generation


def measure_backend(name: str, args: argparse.Namespace, requests: Sequence[str]) -> BackendReport:
    """Load, cold, warm, floors and (llama-cpp) the cached start of one backend."""
    report = BackendReport(name)
    missing = missing_library(name)
    if missing is not None:
        report.status, report.reason = "skipped", f"{missing} is not installed"
        return report
    server: LlamaServer | None = None
    app: App | None = None
    with tempfile.TemporaryDirectory(prefix=f"llmos-bench-{name}-") as folder:
        root = Path(folder)
        try:
            started = time.perf_counter()
            if name == "openai":
                from llmos_shell.models.locate import resolve_model

                settings = load_config(llmos_paths(root)).settings
                server = LlamaServer(
                    resolve_model(args.model),
                    threads=args.threads or os.cpu_count() or 1,
                    context_size=settings.context_size,
                )
                server.start()
            app = App(bench_config(root, name, args, server.base_url if server else None))
            backend = app.backend
            report.load_s = time.perf_counter() - started
            report.describe = backend.describe()
            report.device, report.threads = describe_threads(backend, args.threads)

            started = time.perf_counter()
            planner = app.planner  # shortlist built, static prefix evaluated
            report.planner_ready_s = time.perf_counter() - started
            report.prefix_eval_s = backend.stats.extra.get("prefix_eval_s")
            report.prefix_tokens = backend.count_tokens(planner.prefix)
            report.cold_plan_s, _, _ = plan_once(planner, COLD_REQUEST)

            for request in requests:
                timing = RequestTiming(request)
                report.requests.append(timing)
                mark = server.mark() if server else 0
                try:
                    timing.plan_s, timing.outcome, gen = plan_once(planner, request)
                except (LlmosError, TruncatedOutputError, ValueError, KeyError) as exc:
                    timing.error = f"{type(exc).__name__}: {exc}"
                    continue
                if gen is None:
                    continue
                timing.completion_tokens = gen.completion_tokens
                if server is not None:
                    # The server reports no cached tokens; llama.cpp's own count says what it evaluated.
                    timing.new_prompt_tokens, _ = server.perf_since(mark)
                else:
                    timing.new_prompt_tokens = gen.prompt_tokens - gen.cached_tokens

            # The floors come after every warm request: they displace the cached prefix.
            for index, timing in enumerate(report.requests):
                if timing.new_prompt_tokens is None or timing.completion_tokens is None:
                    continue
                rng = random.Random(index)
                n, k = timing.new_prompt_tokens, timing.completion_tokens
                if server is not None:
                    floor = server.floor(n, k, rng)
                elif name == "llama-cpp":
                    floor = llama_cpp_floor(backend, n, k, rng)
                else:
                    floor = transformers_floor(backend, n, k, rng)
                timing.floor_s, timing.floor_prompt_tokens = floor.seconds, floor.prompt_tokens

            if name == "llama-cpp":
                app.close()
                app = App(bench_config(root, name, args, None))
                started = time.perf_counter()
                app.planner  # noqa: B018 - loads the model and restores its prefix
                report.cached_start_s = time.perf_counter() - started
                restored = app.backend.stats.extra.get("prefix_from_cache")
                report.cached_restored = bool(restored)
        except BackendUnavailableError as exc:
            report.status, report.reason = "skipped", str(exc)
        except (LlmosError, TruncatedOutputError) as exc:
            report.status, report.reason = "failed", str(exc)
        finally:
            if app is not None:
                app.close()
            if server is not None:
                server.stop()
    return report


# -- startup ---------------------------------------------------------------------------------


def llmos_command() -> str | None:
    """The `llmos` script of this Python (not a version manager's shim), else the one on PATH."""
    beside = Path(sys.executable).with_name("llmos")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("llmos")


def shell_env(root: Path, args: argparse.Namespace) -> dict[str, str]:
    """The environment for `llmos` runs: no LLMOS_* settings but ours, every dir under `root`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMOS_")}
    paths = llmos_paths(root)
    env.update(
        LLMOS_CONFIG_DIR=str(paths.config_dir),
        LLMOS_DATA_DIR=str(paths.data_dir),
        LLMOS_STATE_DIR=str(paths.state_dir),
        LLMOS_CACHE_DIR=str(paths.cache_dir),
    )
    if args.threads:
        env["LLMOS_THREADS"] = str(args.threads)
    if args.model:
        env["LLMOS_MODEL"] = args.model
    env.setdefault("TERM", "xterm")
    return env


def time_help(command: str, env: dict[str, str], runs: int = HELP_RUNS) -> list[float]:
    """Wall time of `llmos --help`, run `runs` times."""
    out: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [command, "--help"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        out.append(time.perf_counter() - started)
    return out


def time_first_prompt(
    command: str, env: dict[str, str], timeout_s: float = 600.0
) -> tuple[float | None, str]:
    """Seconds from starting the interactive shell in a pseudo-terminal to its prompt.

    The shell is then sent Ctrl-D. Returns the time (None if no prompt came) and a note.
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    started = time.perf_counter()
    proc = subprocess.Popen(
        [command],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    os.close(slave)
    seen = b""
    prompt_at: float | None = None
    try:
        for chunk in _read_terminal(master, started + timeout_s):
            seen += chunk
            if b"\x1b[6n" in chunk:  # prompt-toolkit asks where the cursor is
                os.write(master, b"\x1b[1;1R")
            if prompt_at is None and SHELL_PROMPT in strip_ansi(seen):
                prompt_at = time.perf_counter()
                os.write(master, b"\x04")  # Ctrl-D: leave
                break
        if prompt_at is not None:
            for _chunk in _read_terminal(master, time.perf_counter() + 30):
                pass  # let it print "Bye." and exit
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass
    finally:
        _stop(proc)
        os.close(master)
    text = strip_ansi(seen).decode("utf-8", errors="replace")
    if prompt_at is None:
        tail = " ".join(text.split())[-200:]
        return None, f"no prompt within {timeout_s:g} s (exit {proc.returncode}): {tail}"
    note = ""
    if "Requests need a model" in text:
        note = "the shell started without a model: " + " ".join(text.split())[:200]
    return prompt_at - started, note


def _read_terminal(master: int, deadline: float) -> Iterator[bytes]:
    """What the program on the other side of a pseudo-terminal writes, until it ends or time runs out."""
    while time.perf_counter() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer closed the terminal
            return
        if not chunk:
            return
        yield chunk


def measure_startup(args: argparse.Namespace) -> StartupReport:
    """`llmos --help`, and the shell's first prompt with an empty and then a filled cache."""
    report = StartupReport(command=llmos_command())
    if report.command is None:
        report.notes.append("no `llmos` command found; install the project (pip install -e .)")
        return report
    with tempfile.TemporaryDirectory(prefix="llmos-bench-startup-") as folder:
        env = shell_env(Path(folder), args)
        report.help_runs_s = time_help(report.command, env)
        for attribute, label in (
            ("first_prompt_empty_cache_s", "empty cache"),
            ("first_prompt_cached_s", "cached prefix"),
        ):
            elapsed, note = time_first_prompt(report.command, env)
            setattr(report, attribute, elapsed)
            if note:
                report.notes.append(f"first prompt, {label}: {note}")
    return report


# -- output ----------------------------------------------------------------------------------


def machine_lines(args: argparse.Namespace) -> list[str]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = " ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    threads = f"{args.threads} (--threads)" if args.threads else "all cores (no --threads)"
    return [
        f"machine: {platform.system()} {platform.machine()}, {os.cpu_count()} CPU threads ({cpu})",
        f"python {platform.python_version()}; load average at start {load}",
        f"threads asked for: {threads}",
        f"model: {args.model or 'the embedded default'}",
    ]


def backend_section(report: BackendReport) -> str:
    """The per-request table and the cold numbers of one backend."""
    if report.status != "ok":
        return f"{report.backend}: {report.status}: {report.reason}"
    lines = [
        f"{report.backend}: {report.describe}",
        f"  device {report.device}; {report.threads}",
        f"  load {seconds(report.load_s)} s; static prefix "
        f"({count(report.prefix_tokens)} tokens) evaluated in {seconds(report.prefix_eval_s)} s; "
        f"planner ready {seconds(report.planner_ready_s)} s after load",
        f"  cold: {seconds(report.cold_s)} s from a loaded backend to the first plan "
        f"({seconds(report.cold_plan_s)} s of it planning {COLD_REQUEST!r})",
    ]
    if report.cached_start_s is not None:
        how = "prefix restored from the cache" if report.cached_restored else "prefix NOT restored"
        lines.append(
            f"  cached start: {seconds(report.cached_start_s)} s (new backend loaded, {how})"
        )
    rows = [
        [
            t.request if t.error is None else f"{t.request} ({t.error[:60]})",
            t.outcome or "-",
            count(t.new_prompt_tokens),
            count(t.completion_tokens),
            seconds(t.plan_s),
            seconds(t.floor_s),
            times(t.ratio),
        ]
        for t in report.requests
    ]
    headers = ["warm request", "plan", "new tok", "gen tok", "plan s", "floor s", "ratio"]
    lines.append(render_table(headers, rows))
    off = [
        t
        for t in report.requests
        if t.floor_prompt_tokens is not None
        and t.new_prompt_tokens is not None
        and t.floor_prompt_tokens != t.new_prompt_tokens
    ]
    for t in off:
        lines.append(
            f"  note: the floor of {t.request!r} evaluated {t.floor_prompt_tokens} prompt tokens, "
            f"not {t.new_prompt_tokens}"
        )
    return "\n".join(lines)


def summary_table(reports: Sequence[BackendReport]) -> str:
    """One row per backend."""
    headers = [
        "backend",
        "load s",
        "prefix eval s",
        "cold s",
        "cached start s",
        "warm median s",
        "floor median s",
        "warm/floor",
    ]
    rows = []
    for r in reports:
        if r.status != "ok":
            rows.append([r.backend, r.status, "", "", "", "", "", ""])
            continue
        rows.append(
            [
                r.backend,
                seconds(r.load_s),
                seconds(r.prefix_eval_s),
                seconds(r.cold_s),
                seconds(r.cached_start_s),
                seconds(r.warm_median_s),
                seconds(r.floor_median_s),
                times(r.warm_ratio),
            ]
        )
    return render_table(headers, rows)


def startup_section(report: StartupReport) -> str:
    """The startup numbers."""
    lines = [f"startup ({report.command or 'llmos not found'})"]
    if report.help_runs_s:
        lines.append(
            f"  llmos --help, median of {len(report.help_runs_s)}: "
            f"{seconds(report.help_median_s)} s (target < {HELP_TARGET_S} s)"
        )
        lines.append(
            f"  first prompt of the shell, empty cache:  {seconds(report.first_prompt_empty_cache_s)} s"
        )
        lines.append(
            f"  first prompt of the shell, cached prefix: {seconds(report.first_prompt_cached_s)} s"
        )
    lines.extend(f"  note: {note}" for note in report.notes)
    return "\n".join(lines)


# -- main ------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help=f"comma-separated, from {', '.join(BACKENDS)} (default: all)",
    )
    parser.add_argument(
        "--model", help="a GGUF file for every backend (default: the embedded model)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="CPU threads (default: all cores)"
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=len(REQUESTS),
        help=f"how many of the {len(REQUESTS)} warm requests to plan (default: all)",
    )
    parser.add_argument("--device", help="the transformers backend's device (default: the best)")
    parser.add_argument("--no-startup", action="store_true", help="skip the startup measurements")
    parser.add_argument("--json", metavar="OUT", help="also write every number to this JSON file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, print the tables and, with --json, write the numbers."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        backends = parse_backends(args.backends)
    except ValueError as exc:
        parser.error(str(exc))
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    if not 1 <= args.requests <= len(REQUESTS):
        parser.error(f"--requests must be between 1 and {len(REQUESTS)}")
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    for var in [v for v in os.environ if v.startswith("LLMOS_")]:
        del os.environ[var]  # only the settings given here count
    requests = REQUESTS[: args.requests]

    print("llmos planning latency")
    print("\n".join(machine_lines(args)))
    print(f"requests: 1 cold ({COLD_REQUEST!r}), then {len(requests)} warm; first step only")
    print(flush=True)

    # The embedding model is loaded once per process; loaded here, no backend's cold pays it.
    from llmos_shell.retrieval.embeddings import shared_embedder

    started = time.perf_counter()
    shared_embedder()
    print(f"embedding model loaded in {time.perf_counter() - started:.2f} s (once per process)\n")

    startup = StartupReport()
    if not args.no_startup:
        startup = measure_startup(args)
        print(startup_section(startup) + "\n", flush=True)

    reports: list[BackendReport] = []
    for name in backends:
        report = measure_backend(name, args, requests)
        reports.append(report)
        print(backend_section(report) + "\n", flush=True)

    print("summary (seconds; cold: loaded backend to the first plan)")
    print(summary_table(reports))
    print(
        f"target: warm planning within {WARM_TARGET}x of the floor; llmos --help under {HELP_TARGET_S} s"
    )
    load = " ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print(f"load average at the end {load}")

    if args.json:
        data = {
            "machine": machine_lines(args),
            "requests": requests,
            "cold_request": COLD_REQUEST,
            "startup": startup.to_json(),
            "backends": [r.to_json() for r in reports],
        }
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"numbers written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
