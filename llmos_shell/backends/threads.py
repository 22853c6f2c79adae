"""How many CPU threads a model gets when the settings leave it empty: the idle physical cores.

A second thread on a hyper-thread sibling, or on a core another process keeps busy, makes
llama.cpp slower, not faster (its threads wait for one another at every layer): on a busy
2-core machine all cores took 3x as long as one thread. So the default is the physical
cores this process may use, less the load already on them (the 1-minute load average), and
at least one.
"""

from __future__ import annotations

import os


def usable_cores() -> int:
    """Physical cores this process may run on (affinity and hyper-threads counted)."""
    logical = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    logical = logical or os.cpu_count() or 1
    try:
        import psutil

        physical = psutil.cpu_count(logical=False) or logical
        siblings = max(1, (psutil.cpu_count(logical=True) or logical) // physical)
    except (ImportError, OSError):
        siblings = 1
    return max(1, logical // siblings)


def default_threads(load: float | None = None) -> int:
    """The threads to use: usable physical cores not already kept busy by other processes."""
    cores = usable_cores()
    if load is None:
        try:
            load = os.getloadavg()[0]
        except OSError:  # no load average on this system
            load = 0.0
    return max(1, min(cores, round(cores - load)))
