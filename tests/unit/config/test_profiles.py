"""`[profiles.NAME]` in config.toml: settings bundles picked with --profile or LLMOS_PROFILE."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmos_shell import cli
from llmos_shell.config import load_config
from llmos_shell.errors import ConfigError

CONFIG = """
temperature = 0.5
max_steps = 3

[profiles.work]
memory = false
max_steps = 6
sandbox = "required"

[profiles.fast]
shortlist_size = 4
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config" / "config.toml"
    path.parent.mkdir()
    path.write_text(CONFIG)
    return path


def test_a_profile_overrides_the_file_and_says_so(config_file: Path) -> None:
    plain = load_config()
    assert plain.profile is None and plain.settings.max_steps == 3 and plain.settings.memory
    work = load_config(overrides={"profile": "work"})
    assert work.profile == "work"
    assert (work.settings.max_steps, work.settings.memory, work.settings.sandbox) == (
        6,
        False,
        "required",
    )
    assert work.settings.temperature == 0.5  # what the profile leaves alone stays
    assert work.sources["max_steps"] == f"{config_file} [profiles.work]"


def test_the_environment_picks_one_and_the_command_line_wins(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMOS_PROFILE", "fast")
    assert load_config().settings.shortlist_size == 4
    assert load_config().warnings == ()  # LLMOS_PROFILE is no unknown setting
    assert load_config(overrides={"profile": "work"}).settings.shortlist_size != 4
    monkeypatch.setenv("LLMOS_MAX_STEPS", "2")  # a variable still beats the profile
    assert load_config(overrides={"profile": "work"}).settings.max_steps == 2


def test_an_unknown_profile_or_key_is_one_sentence(config_file: Path) -> None:
    with pytest.raises(ConfigError) as missing:
        load_config(overrides={"profile": "home"})
    assert "no profile 'home'" in str(missing.value) and "fast, work" in str(missing.value)
    config_file.write_text(CONFIG + "\n[profiles.bad]\nmodle = 'x'\n")
    with pytest.raises(ConfigError) as typo:
        load_config(overrides={"profile": "bad"})
    assert "[profiles.bad] has an unknown key 'modle'" in str(typo.value)


def test_llmos_config_profile_shows_what_it_changes(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["config", "--profile", "work"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert "# profile work changes: max_steps, memory, sandbox" in shown
    assert f"memory = false  # {config_file} [profiles.work]" in shown
    assert cli.main(["--profile", "work", "config", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["profile"] == "work" and data["profile_changes"] == [
        "max_steps",
        "memory",
        "sandbox",
    ]
