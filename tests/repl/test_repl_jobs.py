"""Automations in the interactive shell: /jobs, the approval at creation, the away report, habits.

The shell reads automation requests without the model; where an action is planned (a habit,
what the schedule tool drafted) a scripted backend stands in for the model's one reply.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from llmos_shell.backends.scripted import ScriptedBackend
from llmos_shell.config import load_config
from llmos_shell.scheduler.location import store_url
from llmos_shell.scheduler.store import Store
from tests.repl.test_repl import answer, call, drive, lines, make_app
from tests.unit.scheduler.conftest import job, shell

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def scripted() -> ScriptedBackend:
    return ScriptedBackend()


@pytest.fixture(autouse=True)
def paris(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOS_TIMEZONE", "Europe/Paris")
    monkeypatch.setenv("LLMOS_SHORTLIST_SIZE", "0")  # the scripted replies need no shortlist


def store() -> Store:
    return Store(store_url(load_config()))


def test_an_automation_request_is_read_shown_and_approved_once(scripted: ScriptedBackend) -> None:
    run = drive(make_app(scripted), lines("every weekday at 9 !df -h", "y", "/jobs", "/exit"))
    assert "New automation: Mon-Fri at 09:00, next run" in run.out
    assert '→ run_shell(command="df -h")  read-only' in run.out
    assert "Automation 1 created" in run.out
    assert scripted.requests == [], "the model was never asked when or what"
    (record,) = store().jobs()
    assert record.spec is not None and record.spec.approved_by == "person"
    listed = [line for line in run.lines if "!df -h" in line and "read-only" in line]
    assert listed and "never" in listed[0], "/jobs lists it, not run yet"


def test_declining_creates_nothing_and_a_bad_phrase_is_one_sentence(
    scripted: ScriptedBackend,
) -> None:
    run = drive(
        make_app(scripted),
        lines("every night at 2 !rm -r /tmp/x", "n", "every blue moon !ls", "/exit"),
    )
    assert "⚠ It will run destructive calls with no one watching." in run.out
    assert "Not created." in run.out
    assert "'every blue moon' is not a schedule I can read" in run.out
    assert not Path(load_config().paths.data_dir / "jobs.sqlite").exists() or store().jobs() == []


def test_the_shell_says_what_ran_while_you_were_away_once(scripted: ScriptedBackend) -> None:
    jobs = store()
    number = jobs.add_job(job(shell("df -h")))
    run_id = jobs.start_run(number, reason="scheduled", scheduled_for=None, runner="daemon")
    jobs.finish_run(
        run_id, status="ok", summary="run_shell: / is 40% full", detail=[], duration_s=0.2
    )
    jobs.deliver("Reminder", "stretch")
    first = drive(make_app(scripted), lines("/exit"))
    assert "1 automation ran while you were away:" in first.out
    assert f"automation {number}: ok — run_shell: / is 40% full" in first.out
    assert "1 message for you:" in first.out and "Reminder — stretch" in first.out
    again = drive(make_app(scripted), lines("/exit"))
    assert "while you were away" not in again.out


def habit_audit(days: int, request: str = "how much disk space is free?") -> None:
    """The audit log of a person who asked `request` at about 09:00 on `days` days."""
    path = load_config().paths.audit_log
    path.parent.mkdir(parents=True, exist_ok=True)
    start = datetime.now(PARIS).replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(
        days=days
    )
    with path.open("w") as log:
        for day in range(days):
            moment = start + timedelta(days=day, minutes=(day * 7) % 20)
            log.write(json.dumps({"time": moment.isoformat(), "request": request}) + "\n")


def test_a_habit_is_offered_once_and_declining_is_remembered(scripted: ScriptedBackend) -> None:
    habit_audit(3)
    first = drive(make_app(scripted), lines("n", "/exit"))
    assert "You asked how much disk space is free? on 3 days at about 09:" in first.out
    assert "Not offered again." in first.out
    again = drive(make_app(scripted), lines("/exit"))
    assert "You asked" not in again.out


def test_two_days_are_not_a_habit(scripted: ScriptedBackend) -> None:
    habit_audit(2)
    assert "You asked" not in drive(make_app(scripted), lines("/exit")).out


def test_an_accepted_habit_becomes_an_automation_after_its_calls_are_shown(
    scripted: ScriptedBackend,
) -> None:
    habit_audit(4)
    scripted.replies = [call("disk_usage")]
    run = drive(make_app(scripted), lines("y", "y", "/exit"))
    assert re.search(r"Make it an automation, every (week)?day at 09:\d\d\?", run.out)
    assert "→ disk_usage()  read-only" in run.out and "Automation 1 created" in run.out
    (record,) = store().jobs()
    assert record.spec is not None and [c.tool for c in record.spec.calls] == ["disk_usage"]


def test_what_the_schedule_tool_drafts_is_planned_shown_and_asked_about(
    scripted: ScriptedBackend,
) -> None:
    scripted.replies = [
        # (not the schedule tool's own example value, which the resolver would not take)
        call("schedule", when="every weekday morning", action="report the disk usage"),
        answer("I set that up for you to approve."),
        call("disk_usage"),
    ]
    run = drive(
        make_app(scripted),
        lines("could you keep an eye on my disk, weekday mornings?", "y", "/exit"),
    )
    assert "New automation: Mon-Fri at 08:00" in run.out
    assert "Automation 1 created" in run.out
    (record,) = store().jobs()
    assert record.spec is not None and record.spec.action == "report the disk usage"


def test_jobs_slash_commands_show_pause_and_run(scripted: ScriptedBackend) -> None:
    number = store().add_job(job(shell("echo from the shell")))
    run = drive(
        make_app(scripted),
        lines(
            f"/jobs show {number}",
            f"/jobs pause {number}",
            f"/jobs run {number}",
            "/jobs history",
            "/jobs frobnicate",
            "/exit",
        ),
    )
    assert f"Automation {number} (active)" in run.out
    assert f"Automation {number} paused." in run.out
    assert f"Automation {number}: ok — run_shell: from the shell" in run.out
    assert "/jobs frobnicate is not a /jobs action" in run.out
