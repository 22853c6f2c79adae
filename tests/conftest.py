"""Shared fixtures: every test runs with its own home, config, data and state dirs.

Marks applied here: `model` on every test that uses the session's real model (the fast lane is
`-m "not model"`), and the `sandbox` mark's check (tests/sandboxing.py).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Variables of the person's own OpenAI and Hugging Face setup that would reach past tmp_path.
FOREIGN_VARS = (
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "HF_ENDPOINT",
    "HF_TOKEN",
    "HF_TOKEN_PATH",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_HUB_OFFLINE",
    "HUGGINGFACE_HUB_CACHE",
)

# Fixtures that load a model: a test using one, directly or through another fixture, is a
# `model` test. A test module names its own such fixtures in a MODEL_FIXTURES of its own.
MODEL_FIXTURES = frozenset({"embedded_backend"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `model` every test whose fixtures load a model."""
    for item in items:
        loaders = MODEL_FIXTURES | frozenset(
            getattr(getattr(item, "module", None), "MODEL_FIXTURES", ())
        )
        if loaders.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A `sandbox` test runs only where bubblewrap does (or fails where CI requires it)."""
    if item.get_closest_marker("sandbox") is not None:
        from tests.sandboxing import require_sandbox

        require_sandbox()


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HOME, XDG dirs, the Hugging Face cache and llmos's own dirs into tmp_path; drop
    LLMOS_* settings and the person's OpenAI and Hugging Face variables."""
    home = tmp_path / "home"
    home.mkdir()
    for var in list(os.environ):
        if var.startswith("LLMOS_") or var in FOREIGN_VARS:
            monkeypatch.delenv(var)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("LLMOS_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LLMOS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LLMOS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("LLMOS_CACHE_DIR", str(tmp_path / "cache"))
    # huggingface_hub reads HF_HUB_OFFLINE once, when first imported: a test that imported it
    # offline must not leave the rest of the run offline.
    hub_constants = sys.modules.get("huggingface_hub.constants")
    if hub_constants is not None:
        monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
    return home


@pytest.fixture(scope="session")
def embedded_backend() -> Iterator[object]:
    """The real embedded model on llama.cpp, loaded once for the whole test run."""
    from llmos_shell.backends.llama_cpp import LlamaCppBackend
    from llmos_shell.models.locate import embedded_model_path

    backend = LlamaCppBackend(embedded_model_path(), context_size=4096, threads=2)
    yield backend
    backend.close()
