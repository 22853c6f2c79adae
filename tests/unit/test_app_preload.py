"""The model loaded in the background: the same backend, its errors where it is asked for,
and its usage recorded when the app closes even if it was never asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmos_shell.app import App
from llmos_shell.backends.llama_cpp import LlamaCppBackend
from llmos_shell.backends.usage import read_usage, usage_log
from llmos_shell.config import load_config
from llmos_shell.errors import ModelNotFoundError


def test_a_preloaded_model_is_the_backend_and_is_recorded_when_closed(tmp_path: Path) -> None:
    app = App(config=load_config(overrides={"threads": 1}))
    app.preload_backend()
    app.preload_backend()  # a second call starts nothing more
    backend = app.backend
    assert isinstance(backend, LlamaCppBackend)
    assert app.backend is backend and app.loaded_backend is backend
    app.close()
    [record], _ = read_usage(usage_log(tmp_path / "state"))
    assert record.backend == "llama-cpp" and record.load_s > 0


def test_a_preload_never_asked_for_is_still_closed_and_recorded(tmp_path: Path) -> None:
    app = App(config=load_config(overrides={"threads": 1}))
    app.preload_backend()
    app.close()
    assert app.loaded_backend is None
    [record], _ = read_usage(usage_log(tmp_path / "state"))
    assert record.requests == 0 and record.load_s > 0


def test_a_model_that_fails_to_load_says_so_when_asked_for(tmp_path: Path) -> None:
    missing = tmp_path / "missing.gguf"
    app = App(config=load_config(overrides={"model": str(missing)}))
    app.preload_backend()
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        app.backend  # noqa: B018 - the property loads
    app.close()  # nothing loaded: nothing to record, nothing raised
    assert read_usage(usage_log(tmp_path / "state")) == ([], [])
