"""The notify tool (desktop where there is one, always the inbox) and the schedule tool's draft."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmos_shell.app import App
from llmos_shell.calls import ExecutionContext
from llmos_shell.config import load_config
from llmos_shell.errors import ToolError
from llmos_shell.scheduler import drafts
from llmos_shell.scheduler.location import store_url
from llmos_shell.scheduler.store import Store
from llmos_tools.notify import notify
from llmos_tools.schedule import schedule


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> App:
    monkeypatch.setenv("LLMOS_TIMEZONE", "Europe/Paris")
    return App(config=load_config())


@pytest.fixture
def context(app: App) -> ExecutionContext:
    """What the shell's kernel hands a tool that runs in its process."""
    return ExecutionContext(services=app.services)


def test_notify_always_keeps_the_message_in_the_inbox(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, context: ExecutionContext
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no notify-send, no osascript
    result = notify.invoke({"message": "stretch", "title": "Reminder"}, context)
    assert result["desktop"] == "not shown: no desktop notifier here (the inbox has it)"
    (entry,) = Store(store_url(load_config())).inbox()
    assert (entry.id, entry.kind, entry.title, entry.body) == (
        result["inbox"],
        "message",
        "Reminder",
        "stretch",
    )


def test_notify_uses_notify_send_when_a_desktop_session_is_there(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, context: ExecutionContext
) -> None:
    seen = tmp_path / "seen"
    fake = tmp_path / "notify-send"
    fake.write_text(f'#!/bin/sh\necho "$@" > {seen}\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nowhere")
    assert notify.invoke({"message": "the backup is done"}, context)["desktop"] == "shown"
    assert seen.read_text().strip() == "--app-name=llmos llmos the backup is done"


def test_schedule_reads_the_time_and_leaves_a_draft_creating_nothing(
    app: App, context: ExecutionContext
) -> None:
    result = schedule.invoke(
        {"when": "every weekday at 9", "action": "show me disk usage"}, context
    )
    assert result["when"] == "Mon-Fri at 09:00"
    assert result["status"].startswith("not created yet")
    assert drafts.take(app.drafts) == [drafts.Draft("every weekday at 9", "show me disk usage")]
    assert not (load_config().paths.data_dir / "jobs.sqlite").exists()


def test_schedule_gives_the_model_the_reason_a_time_cannot_be_read(
    app: App, context: ExecutionContext
) -> None:
    with pytest.raises(ToolError, match="'every blue moon' is not a schedule I can read"):
        schedule.invoke({"when": "every blue moon", "action": "show me disk usage"}, context)
    assert drafts.take(app.drafts) == []


def test_tools_outside_a_shell_say_what_they_lack() -> None:
    with pytest.raises(ToolError, match="outside a llmos shell"):
        notify.invoke({"message": "hi"}, ExecutionContext())
    with pytest.raises(ToolError, match="inside a llmos shell"):
        schedule.invoke({"when": "in 5 minutes", "action": "stretch"}, ExecutionContext())
