"""The default thread count: the usable physical cores, less the load already on them."""

from __future__ import annotations

import os

from llmos_shell.backends.threads import default_threads, usable_cores


def test_the_usable_cores_are_physical_and_within_this_process_affinity() -> None:
    cores = usable_cores()
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert 1 <= cores <= (allowed or 1)


def test_an_idle_machine_gets_every_core_and_a_busy_one_a_single_thread() -> None:
    cores = usable_cores()
    assert default_threads(load=0.0) == cores
    assert default_threads(load=cores * 6.0) == 1
    assert default_threads(load=0.4) == cores  # the shell's own idle processes
    assert default_threads(load=cores - 1.0) == 1  # all but one core kept busy elsewhere
    assert 1 <= default_threads() <= cores
