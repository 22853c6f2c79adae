"""The context a model gets when the settings leave it: its trained context, up to a cap."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmos_shell.config import load_config
from llmos_shell.models.gguf import CONTEXT_CAP, fitted_context, read_gguf
from tests.unit.models.test_catalog import write_model_gguf


def test_the_trained_context_is_used_up_to_the_cap(tmp_path: Path) -> None:
    large = write_model_gguf(tmp_path / "large.gguf", context=32768)
    small = write_model_gguf(tmp_path / "small.gguf", context=2048)
    assert fitted_context(large, 4096) == CONTEXT_CAP == 8192
    assert fitted_context(small, 4096) == 2048  # never run past what it was trained on
    (tmp_path / "junk.gguf").write_bytes(b"not a model")
    assert fitted_context(tmp_path / "junk.gguf", 4096) == 4096


@pytest.mark.model
def test_only_a_context_size_left_at_its_default_is_fitted() -> None:
    from llmos_shell.backends.llama_cpp import from_config
    from llmos_shell.models.locate import embedded_model_path

    trained = read_gguf(embedded_model_path()).context_length
    assert trained is not None
    for overrides, wanted in (({}, min(trained, CONTEXT_CAP)), ({"context_size": 2048}, 2048)):
        backend = from_config(load_config(overrides={**overrides, "threads": 1}))
        try:
            assert backend._llm.n_ctx() == wanted
        finally:
            backend.close()
