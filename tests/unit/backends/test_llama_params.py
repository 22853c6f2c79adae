"""The guard around llama.cpp's extra buffer types: off where they crash, and only while a
model is built."""

from __future__ import annotations

import pytest

llama_native = pytest.importorskip("llama_cpp.llama_cpp")

from llmos_shell.backends import llama_params  # noqa: E402


def test_where_the_kernels_crash_a_model_is_built_without_extra_buffers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not hasattr(llama_native.llama_model_default_params(), "use_extra_bufts"):
        pytest.skip("this llama-cpp-python has no use_extra_bufts")
    monkeypatch.setattr(llama_params, "extra_buffers_crash", lambda: True)
    original = llama_native.llama_model_default_params
    with llama_params.guarded_defaults():
        assert llama_native.llama_model_default_params().use_extra_bufts is False
    assert llama_native.llama_model_default_params is original
    assert original().use_extra_bufts is True


def test_elsewhere_the_defaults_stay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llama_params, "extra_buffers_crash", lambda: False)
    original = llama_native.llama_model_default_params
    with llama_params.guarded_defaults():
        assert llama_native.llama_model_default_params is original


def test_the_guard_follows_what_the_build_reports() -> None:
    info = llama_native.llama_print_system_info()
    assert llama_params.extra_buffers_crash() is (b"AMX_INT8 = 1" in info)
