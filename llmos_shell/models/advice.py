"""Which model for which job, said plainly, and the offer of a better one, made once.

The embedded model is small enough to ship inside a package and run anywhere; it plans
simple requests on the built-in tools and little else well. A person who is online can pull
the recommended model instead. The shell says so at its first start, and `llmos models`
says it always; the person's answer to the offer is kept in the state dir, so it is asked
once.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from llmos_shell.vocabulary.units import human_size

STATE_FILE = "model_advice.json"


@dataclass(frozen=True)
class Recommendation:
    """A model worth pulling, where to get it, and what it does better."""

    name: str
    repo: str
    filename: str
    size_bytes: int
    better_at: str


EMBEDDED_GOOD_FOR = (
    "the embedded SmolLM2-135M (98 MB) plans simple requests on the built-in tools (files, "
    "disk, processes); it rarely writes a shell command right and often misses the "
    "arguments of tools it was not tuned on"
)
RECOMMENDED = Recommendation(
    name="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)",
    repo="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    size_bytes=491_400_064,
    better_at="shell commands and the arguments of plugins' tools, about 3x slower",
)


def pull_command(model: Recommendation = RECOMMENDED) -> str:
    """The command that downloads the recommended model."""
    return f"llmos models pull {model.repo} {model.filename}"


def advice_lines(model: Recommendation = RECOMMENDED) -> list[str]:
    """What `llmos models` and the first start say about the embedded model."""
    return [
        f"In use: {EMBEDDED_GOOD_FOR}.",
        f"Better: {model.name}, {human_size(model.size_bytes)}, for {model.better_at}: "
        f"{pull_command(model)}",
    ]


class AdviceState:
    """Whether the offer was made and what the person said, kept in the state dir."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / STATE_FILE

    def answered(self) -> bool:
        """Whether the person already said yes or no to the offer."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(data, dict) and data.get("answer") in ("yes", "no")

    def record(self, answer: str) -> str | None:
        """Keep the answer ("yes" or "no"); returns a sentence if it cannot be kept."""
        entry = {"answer": answer, "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".advice.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entry, handle)
            os.replace(temp, self.path)
        except OSError as exc:
            return f"your answer was not kept in {self.path} ({exc.strerror or exc})"
        return None


_TRUE = {"1", "on", "yes", "true"}
_ROUTES = (Path("/proc/net/route"), Path("/proc/net/ipv6_route"))


def offline(routes: tuple[Path, ...] | None = None) -> bool:
    """Whether a download cannot work now: HF_HUB_OFFLINE is set, or no route leaves the machine.

    Read from the environment and the kernel's routing table, without a network request, so
    that asking never delays the first prompt; where the table cannot be read (not Linux),
    only HF_HUB_OFFLINE counts."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE:
        return True
    readable = False
    for table in _ROUTES if routes is None else routes:
        try:
            lines = table.read_text(encoding="ascii", errors="replace").splitlines()
        except OSError:
            continue
        readable = True
        for line in lines:
            fields = line.split()
            if table.name == "route" and len(fields) > 7 and fields[1] == "00000000":
                if fields[0] != "lo" and fields[7] == "00000000":
                    return False  # an IPv4 default route
            elif table.name == "ipv6_route" and len(fields) == 10:
                if fields[0] == "0" * 32 and fields[1] == "00" and fields[9] != "lo":
                    return False  # an IPv6 default route
    return readable
