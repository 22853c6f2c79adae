"""Model usage: live totals of the backend in use, and per-session totals kept on disk.

Each process that loaded a model appends one JSON line to `<state dir>/usage.jsonl` when it
ends, so `llmos stats`, a separate process, can add them up per backend and model.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmos_shell.backends.base import GenerationStats
from llmos_shell.vocabulary.units import human_size

if TYPE_CHECKING:
    from llmos_shell.backends.base import Backend

USAGE_FILE = "usage.jsonl"


@dataclass(frozen=True)
class UsageRecord:
    """The totals of one process's use of one backend and model."""

    time: str
    backend: str
    model: str
    requests: int
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    prompt_s: float
    total_s: float
    load_s: float
    peak_rss_bytes: int | None = None
    peak_gpu_bytes: int | None = None

    @classmethod
    def from_backend(cls, backend: Backend, now: dt.datetime | None = None) -> UsageRecord:
        """The record of a backend's totals so far, with this process's peak memory."""
        stats = backend.stats
        try:
            model = backend.describe()
        except Exception:  # a backend whose model failed half-way still has totals to keep
            model = getattr(backend, "name", "unknown")
        memory = process_memory()
        return cls(
            time=(now or dt.datetime.now().astimezone()).isoformat(timespec="seconds"),
            backend=str(getattr(backend, "name", "unknown")),
            model=model,
            requests=stats.requests,
            prompt_tokens=stats.prompt_tokens,
            cached_tokens=stats.cached_tokens,
            completion_tokens=stats.completion_tokens,
            prompt_s=round(stats.prompt_s, 4),
            total_s=round(stats.total_s, 4),
            load_s=round(stats.load_s, 4),
            peak_rss_bytes=memory.get("peak_rss_bytes"),
            peak_gpu_bytes=memory.get("peak_gpu_bytes"),
        )

    @classmethod
    def from_json(cls, data: Any) -> UsageRecord:
        """A record from one parsed line; raises ValueError when it is not one."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        values: dict[str, Any] = {}
        for item in fields(cls):
            value = data.get(item.name)
            if value is None and item.default is None:
                values[item.name] = None
                continue
            if item.name in ("time", "backend", "model"):
                if not isinstance(value, str):
                    raise ValueError(f"{item.name} is not a string")
            elif not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{item.name} is not a number of zero or more")
            values[item.name] = value
        dt.datetime.fromisoformat(values["time"])  # raises ValueError when unreadable
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        """The record as one JSON object."""
        return asdict(self)


def usage_log(state_dir: Path) -> Path:
    """The usage file in a state dir."""
    return state_dir / USAGE_FILE


def append_usage(path: Path, record: UsageRecord) -> None:
    """Append one record as one line (raises OSError when the file cannot be written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record.to_json(), ensure_ascii=False) + "\n"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line)  # one write of one line: concurrent sessions do not interleave


def read_usage(path: Path) -> tuple[list[UsageRecord], list[str]]:
    """The records in the file, and a warning for each line that is not one (it is skipped)."""
    records: list[UsageRecord] = []
    warnings: list[str] = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return records, warnings
    except OSError as exc:
        return records, [f"cannot read {path} ({exc.strerror}); no usage is shown"]
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(UsageRecord.from_json(json.loads(line)))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            warnings.append(f"{path} line {number} is not a usage record ({exc}); it is skipped")
    return records, warnings


@dataclass
class UsageTotals:
    """Records of one backend and model added up."""

    backend: str
    model: str
    sessions: int = 0
    stats: GenerationStats | None = None
    peak_rss_bytes: int | None = None
    peak_gpu_bytes: int | None = None
    last_time: str = ""

    def add(self, record: UsageRecord) -> None:
        """Add one session's record."""
        stats = self.stats or GenerationStats()
        self.stats = stats
        self.sessions += 1
        stats.requests += record.requests
        stats.prompt_tokens += record.prompt_tokens
        stats.cached_tokens += record.cached_tokens
        stats.completion_tokens += record.completion_tokens
        stats.prompt_s += record.prompt_s
        stats.total_s += record.total_s
        stats.load_s += record.load_s
        self.peak_rss_bytes = _max(self.peak_rss_bytes, record.peak_rss_bytes)
        self.peak_gpu_bytes = _max(self.peak_gpu_bytes, record.peak_gpu_bytes)
        self.last_time = max(self.last_time, record.time)

    def to_json(self) -> dict[str, Any]:
        """The totals, with speeds worked out."""
        stats = self.stats or GenerationStats()
        return {
            "backend": self.backend,
            "model": self.model,
            "sessions": self.sessions,
            **stats_json(stats),
            "peak_rss_bytes": self.peak_rss_bytes,
            "peak_gpu_bytes": self.peak_gpu_bytes,
            "last_time": self.last_time,
        }


def _max(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def stats_json(stats: GenerationStats) -> dict[str, Any]:
    """Totals and speeds of a GenerationStats as plain JSON values."""
    return {
        "requests": stats.requests,
        "prompt_tokens": stats.prompt_tokens,
        "cached_tokens": stats.cached_tokens,
        "completion_tokens": stats.completion_tokens,
        "prompt_s": round(stats.prompt_s, 3),
        "generation_s": round(max(stats.total_s - stats.prompt_s, 0.0), 3),
        "total_s": round(stats.total_s, 3),
        "load_s": round(stats.load_s, 3),
        "prompt_tokens_per_s": round(stats.prompt_tokens_per_s, 1),
        "generation_tokens_per_s": round(stats.generation_tokens_per_s, 1),
    }


def aggregate(records: Iterable[UsageRecord], *, on: dt.date | None = None) -> list[UsageTotals]:
    """Totals per backend and model, the most recently used first; `on` keeps one local day."""
    groups: dict[tuple[str, str], UsageTotals] = {}
    for record in records:
        if on is not None and _local_date(record.time) != on:
            continue
        key = (record.backend, record.model)
        groups.setdefault(key, UsageTotals(backend=record.backend, model=record.model))
        groups[key].add(record)
    return sorted(groups.values(), key=lambda t: t.last_time, reverse=True)


def _local_date(stamp: str) -> dt.date:
    moment = dt.datetime.fromisoformat(stamp)
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.date()


def process_memory() -> dict[str, int]:
    """This process's memory: resident now and at its peak, and the GPU's when torch uses one."""
    memory: dict[str, int] = {}
    try:
        import psutil

        info = psutil.Process().memory_info()
        memory["rss_bytes"] = int(info.rss)
        peak = getattr(info, "peak_wset", None)  # Windows keeps the peak itself
        if peak:
            memory["peak_rss_bytes"] = int(peak)
    except Exception:  # psutil may be missing or denied; memory is then simply not shown
        pass
    try:
        import resource

        max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # Linux reports kilobytes, macOS bytes.
        memory["peak_rss_bytes"] = int(max_rss if sys.platform == "darwin" else max_rss * 1024)
    except (ImportError, OSError, ValueError):
        pass
    torch = sys.modules.get("torch")  # only when a backend already imported it
    if torch is not None:
        try:
            if torch.cuda.is_available() and torch.cuda.is_initialized():
                memory["gpu_bytes"] = int(torch.cuda.memory_allocated())
                memory["peak_gpu_bytes"] = int(torch.cuda.max_memory_allocated())
        except Exception:  # a broken CUDA setup must not break a stats line
            pass
    # The two are read from different sources at different moments; a peak is never less.
    for now, peak in (("rss_bytes", "peak_rss_bytes"), ("gpu_bytes", "peak_gpu_bytes")):
        if now in memory:
            memory[peak] = max(memory.get(peak, 0), memory[now])
    return memory


def live_json(backend: Backend | None) -> dict[str, Any]:
    """The backend in use (if one is loaded), its totals, and memory now, as JSON values."""
    data: dict[str, Any] = {"backend": None, "model": None}
    if backend is not None:
        data["backend"] = str(getattr(backend, "name", "unknown"))
        try:
            data["model"] = backend.describe()
        except Exception:
            data["model"] = None
        data.update(stats_json(backend.stats))
    data["memory"] = process_memory()
    return data


# --- plain-text rendering, shared by `llmos stats` and `/stats` ---------------------------------------------------


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def totals_lines(row: dict[str, Any]) -> list[str]:
    """One backend's totals as a few plain lines (the JSON of UsageTotals or of live_json)."""
    head = f"{row['backend']}: {row['model']}"
    counts = _plural(row["requests"], "request")
    if "sessions" in row:
        counts = f"{_plural(row['sessions'], 'session')}, {counts}"
    lines = [
        head,
        f"  {counts}",
        f"  prompt      {row['prompt_tokens']} tokens ({row['cached_tokens']} reused) in "
        f"{row['prompt_s']:.2f} s, {row['prompt_tokens_per_s']:.1f} tok/s",
        f"  generation  {row['completion_tokens']} tokens in {row['generation_s']:.2f} s, "
        f"{row['generation_tokens_per_s']:.1f} tok/s",
    ]
    memory = f"  load {row['load_s']:.2f} s"
    if row.get("peak_rss_bytes"):
        memory += f", peak memory {human_size(row['peak_rss_bytes'])}"
    if row.get("peak_gpu_bytes"):
        memory += f" (GPU {human_size(row['peak_gpu_bytes'])})"
    lines.append(memory)
    return lines


def live_lines(data: dict[str, Any]) -> list[str]:
    """The live totals and the memory in use now, for `/stats`."""
    memory = data["memory"]
    out = ["no model loaded yet"] if data["backend"] is None else totals_lines(data)[:-1]
    if data["backend"] is not None:
        out.append(f"  load {data['load_s']:.2f} s")
    parts = [f"memory in use {human_size(memory.get('rss_bytes'))}"]
    if "peak_rss_bytes" in memory:
        parts.append(f"peak {human_size(memory['peak_rss_bytes'])}")
    if "gpu_bytes" in memory:
        parts.append(
            f"GPU {human_size(memory['gpu_bytes'])} (peak {human_size(memory['peak_gpu_bytes'])})"
        )
    out.append(", ".join(parts))
    return out
