"""Automations under test: a real SQLite job store in tmp_path and the real tool registry."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from llmos_shell.app import App
from llmos_shell.calls import Risk, ToolCall
from llmos_shell.config import load_config
from llmos_shell.scheduler.location import store_url
from llmos_shell.scheduler.phrases import read_when
from llmos_shell.scheduler.spec import JobSpec
from llmos_shell.scheduler.store import Store

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> App:
    """An app on the isolated dirs, automations in Paris time; no model is ever loaded."""
    monkeypatch.setenv("LLMOS_TIMEZONE", "Europe/Paris")
    return App(config=load_config())


@pytest.fixture
def store(app: App) -> Store:
    """The app's job store: SQLite in the tmp data dir."""
    return Store(store_url(app.config))


def job(
    *calls: ToolCall,
    risk: Risk = Risk.READ_ONLY,
    when: str = "every weekday at 9",
    misfire: str = "run-once",
    action: str = "the test action",
    folder: str | None = None,
) -> JobSpec:
    """A job spec as `llmos jobs add` stores it once approved."""
    trigger = read_when(when, datetime.now(PARIS))
    return JobSpec(
        request=f"{when} {action}",
        action=action,
        trigger=trigger,
        calls=calls,
        approved_risk=risk,
        approved_by="person",
        approved_at=datetime.now(PARIS).isoformat(),
        timeout_s=20.0,
        misfire=misfire,
        folder=folder,
    )


def shell(command: str) -> ToolCall:
    """A run_shell call."""
    return ToolCall("run_shell", {"command": command})
