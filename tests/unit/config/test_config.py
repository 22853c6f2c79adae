"""Configuration: file, environment, command line, sources, and clear errors."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from llmos_shell.config import Paths, load_config
from llmos_shell.errors import ConfigError


def _paths(tmp_path: Path) -> Paths:
    return Paths.from_env()


def test_defaults_and_paths_point_into_tmp(tmp_path: Path) -> None:
    config = load_config()
    assert config.settings.max_steps == 4
    assert config.sources["max_steps"] == "default"
    assert config.paths.config_file == tmp_path / "config" / "config.toml"
    assert config.plugin_dir == tmp_path / "config" / "plugins"
    assert config.paths.audit_log.is_relative_to(tmp_path)


def test_file_then_env_then_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = Paths.from_env()
    paths.config_dir.mkdir(parents=True)
    paths.config_file.write_text('max_steps = 6\ntemperature = 0.5\nmodel = "/x.gguf"\n')
    monkeypatch.setenv("LLMOS_TEMPERATURE", "0.7")
    config = load_config(overrides={"model": "/y.gguf"})
    assert config.settings.max_steps == 6
    assert config.sources["max_steps"] == str(paths.config_file)
    assert config.settings.temperature == 0.7
    assert config.sources["temperature"] == "environment (LLMOS_TEMPERATURE)"
    assert config.settings.model == "/y.gguf"
    assert config.sources["model"] == "command line"


def test_unknown_key_names_file_key_and_fix(tmp_path: Path) -> None:
    paths = Paths.from_env()
    paths.config_dir.mkdir(parents=True)
    paths.config_file.write_text("max_stepz = 3\n")
    with pytest.raises(ConfigError) as info:
        load_config()
    message = str(info.value)
    assert str(paths.config_file) in message
    assert "'max_stepz'" in message and "max_steps" in message


def test_bad_value_names_source_key_and_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOS_MAX_STEPS", "lots")
    with pytest.raises(ConfigError, match=r"LLMOS_MAX_STEPS.*max_steps = 'lots' is invalid"):
        load_config()


def test_out_of_range_value_in_file() -> None:
    paths = Paths.from_env()
    paths.config_dir.mkdir(parents=True)
    paths.config_file.write_text("max_steps = 0\n")
    with pytest.raises(ConfigError, match=r"config.toml: max_steps = 0 is invalid"):
        load_config()


def test_invalid_toml_is_one_sentence() -> None:
    paths = Paths.from_env()
    paths.config_dir.mkdir(parents=True)
    paths.config_file.write_text("max_steps = = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config()


def test_unknown_environment_variable_is_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOS_MODLE", "x")
    config = load_config()
    assert any("LLMOS_MODLE" in w for w in config.warnings)


def _config_file() -> Path:
    paths = Paths.from_env()
    paths.config_dir.mkdir(parents=True)
    return paths.config_file


def test_a_config_that_is_not_utf8_is_one_sentence() -> None:
    _config_file().write_bytes(b'model = "caf\xe9.gguf"\n')
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte 0xe9 at position 12\)"):
        load_config()


@pytest.mark.parametrize(
    ("depth", "said"),
    [(300, "model_dirs = [[[[[[[[[[[[[[[[[[[[[[[[[[[["), (5000, "nested too deeply to read")],
)
def test_a_config_nested_deep_is_one_short_sentence(depth: int, said: str) -> None:
    _config_file().write_text("model_dirs = " + "[" * depth + "]" * depth + "\n")
    with pytest.raises(ConfigError) as info:
        load_config()
    message = str(info.value)
    assert said in message
    assert len(message) < 400


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (os.mkfifo, "a FIFO (named pipe)"),
        (os.mkdir, "a folder"),
        (lambda path: os.symlink("/dev/null", path), "a character device"),
    ],
    ids=["fifo", "folder", "device"],
)
def test_a_config_that_is_not_a_file_is_refused_before_reading(make: Any, kind: str) -> None:
    config_file = _config_file()
    make(config_file)
    with pytest.raises(ConfigError, match=f"is {re.escape(kind)}, not a file"):
        load_config()  # a FIFO would block this read forever


def test_a_huge_config_is_refused() -> None:
    _config_file().write_text("# x\n" * 300_000)
    with pytest.raises(ConfigError, match="far more than a configuration file holds"):
        load_config()


def test_the_openai_variables_fill_what_no_setting_names(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = load_config().settings
    assert defaults.base_url == "http://127.0.0.1:8080/v1"
    assert defaults.api_key_env == "OPENAI_API_KEY"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://gpu-box:8000/v1")
    config = load_config()
    assert config.settings.base_url == "http://gpu-box:8000/v1"
    assert config.sources["base_url"] == "environment (OPENAI_BASE_URL)"
    monkeypatch.setenv("LLMOS_BASE_URL", "")  # empty: as if unset
    monkeypatch.setenv("LLMOS_API_KEY_ENV", "")
    config = load_config()
    assert config.settings.base_url == "http://gpu-box:8000/v1"
    assert config.settings.api_key_env == "OPENAI_API_KEY"
    config = load_config(overrides={"base_url": "http://127.0.0.1:9000/v1"})
    assert config.settings.base_url == "http://127.0.0.1:9000/v1"
    assert config.sources["base_url"] == "command line"
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert load_config().settings.base_url == "http://127.0.0.1:8080/v1"


def test_the_sandbox_setting_takes_only_its_three_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_config().settings.sandbox == "auto"
    monkeypatch.setenv("LLMOS_SANDBOX", "required")
    loaded = load_config()
    assert loaded.settings.sandbox == "required"
    assert loaded.sources["sandbox"] == "environment (LLMOS_SANDBOX)"
    monkeypatch.setenv("LLMOS_SANDBOX", "sometimes")
    with pytest.raises(
        ConfigError, match=r"sandbox = 'sometimes' is invalid.*auto \(in a bubblewrap"
    ):
        load_config()
