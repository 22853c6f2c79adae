"""Matching what a person calls a running program against the live process table.

"the sleep 1000 process", "firefox", "the python server on port 8000": the words of the
request are scored against each process's name, its command line and the ports it listens
on, so a pid can be put where the model guessed one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from llmos_shell.planning.entries import Candidate, close_enough, description_words, words


@dataclass(frozen=True)
class Running:
    """One process as the resolver sees it."""

    pid: int
    name: str
    args: tuple[str, ...]
    ports: tuple[int, ...] = ()


def process_table() -> list[Running]:
    """Every process this user can see, with its listening ports where they can be read."""
    import psutil

    ports: dict[int, set[int]] = {}
    try:
        for conn in psutil.net_connections(kind="inet"):
            if conn.pid and conn.status == psutil.CONN_LISTEN and conn.laddr:
                ports.setdefault(conn.pid, set()).add(conn.laddr.port)
    except (psutil.AccessDenied, OSError):
        pass
    table: list[Running] = []
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        info = proc.info
        args = tuple(info.get("cmdline") or ())
        table.append(
            Running(
                info["pid"], info.get("name") or "", args, tuple(sorted(ports.get(info["pid"], ())))
            )
        )
    return table


_PORT = re.compile(r"\bport\s+(\d{2,5})\b", re.IGNORECASE)


def match_processes(request: str, table: Iterable[Running] | None = None) -> list[Candidate]:
    """The processes the request may mean, best first, each with a score in [0, 1].

    The program's name (typos forgiven) counts most; a number or word of the request that
    is one of its arguments ("sleep 1000") and a port it listens on ("on port 8000") single
    one process out. A number that is a live pid is that process. This shell's own process
    is never a candidate.
    """
    rows = list(process_table() if table is None else table)
    port = _PORT.search(request)
    port_number = int(port.group(1)) if port else None
    said = [w for w in description_words(request) if w != "port"]
    numbers = {int(n) for n in re.findall(r"(?<![\w.])\d{1,7}(?![\w.])", request)}
    said_all = set(words(request))
    mine = os.getpid()
    scored: list[tuple[float, Running]] = []
    for row in rows:
        if row.pid == mine:
            continue
        if row.pid in numbers and port_number != row.pid:
            # "pid 4242" is that process; a bare number may be an argument ("sleep 1000").
            scored.append((1.0 if "pid" in said_all else 0.8, row))
            continue
        name = row.name.lower()
        name_words = set(words(name)) | {name}
        program = os.path.basename(row.args[0]).lower() if row.args else ""
        arg_words = {w for a in row.args[1:] for w in words(os.path.basename(a))}
        score = 0.0
        if any(close_enough(w, n) for w in said for n in name_words | {program} if n):
            score += 0.6
        extra = [w for w in said if w not in name_words and w != program]
        if extra and score:
            score += 0.3 * sum(w in arg_words for w in extra) / len(extra)
        if port_number is not None:
            score = score + 0.4 if port_number in row.ports else score - 0.5
        if score > 0.5:
            scored.append((min(score, 0.99), row))
    scored.sort(key=lambda pair: (-pair[0], pair[1].pid))
    return [
        Candidate(row.pid, f"{row.name} (pid {row.pid}): {' '.join(row.args)[:60]}", round(s, 2))
        for s, row in scored
    ]
