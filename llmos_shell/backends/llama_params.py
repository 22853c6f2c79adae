"""Model parameters llama-cpp-python's `Llama` does not take as arguments.

`Llama` builds its model parameters from `llama_model_default_params()` and offers no way to
set `use_extra_bufts`, the switch for llama.cpp's extra CPU buffer types (weight repacking
and the AMX kernels). On processors with AMX, the AMX matrix kernel of current llama.cpp
releases crashes the process on any batch of more than one token (a segmentation fault
nothing can catch), so there the extra buffer types stay off: prompts then go through the
ordinary AVX kernels. `guarded_defaults()` makes `Llama` start from parameters with that
switch set, for the one model being loaded.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from typing import Any

_LOCK = threading.Lock()
# The CPU features whose extra-buffer kernels are known to crash on batches.
_CRASHING_FEATURES = (b"AMX_INT8 = 1",)


@functools.cache
def extra_buffers_crash() -> bool:
    """Whether this llama.cpp build on this processor uses kernels that crash on batches."""
    import llama_cpp

    try:
        info = llama_cpp.llama_print_system_info()
    except Exception:  # an old build without it: nothing to go by, keep the defaults
        return False
    return any(feature in info for feature in _CRASHING_FEATURES)


@contextlib.contextmanager
def guarded_defaults() -> Iterator[None]:
    """While a `Llama` is built in this block, its model parameters avoid crashing kernels."""
    import llama_cpp.llama_cpp as native

    original = native.llama_model_default_params
    if not extra_buffers_crash() or not hasattr(original(), "use_extra_bufts"):
        yield
        return

    def defaults() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    with _LOCK:
        native.llama_model_default_params = defaults
        try:
            yield
        finally:
            native.llama_model_default_params = original


def main() -> None:
    """`python -m llmos_shell.backends.llama_params ARGS`: llama-cpp-python's server, with
    the same guard (for the OpenAI backend's tests and benchmarks on a local server)."""
    import runpy

    with guarded_defaults():
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
