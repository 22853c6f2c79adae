"""`llmos jobs`, `llmos inbox` and `llmos daemon install`, through the command line's main(),
in this process (the daemon as a separate process is tests/e2e/test_daemon_cli.py).

The actions here need no model: reminders become `notify` calls and `!command` a shell call
without one (a model test in tests/integration plans a plain-words action).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from llmos_shell import cli
from llmos_shell.config import load_config
from llmos_shell.scheduler.location import store_url
from llmos_shell.scheduler.store import Store

ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


@pytest.fixture(autouse=True)
def paris(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOS_TIMEZONE", "Europe/Paris")


def llmos(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def jobs() -> list[int]:
    return [record.id for record in Store(store_url(load_config())).jobs()]


def test_dry_run_json_prints_exactly_the_trigger_runs_calls_and_risk(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = llmos(capsys, "jobs", "add", "--dry-run", "--json", "every weekday at 9 !df -h")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["trigger", "next_runs", "calls", "risk"]
    assert data["trigger"] == {
        "kind": "cron",
        "fields": {"day_of_week": "mon-fri", "hour": "9", "minute": "0"},
        "text": "Mon-Fri at 09:00",
        "timezone": "Europe/Paris",
    }
    assert len(data["next_runs"]) == 3 and all(ISO_WITH_OFFSET.match(t) for t in data["next_runs"])
    assert all(datetime.fromisoformat(t).weekday() < 5 for t in data["next_runs"])
    assert data["calls"] == [{"tool": "run_shell", "arguments": {"command": "df -h"}}]
    assert data["risk"] == "read-only"
    assert not Path(load_config().paths.data_dir / "jobs.sqlite").exists() or jobs() == []


def test_dry_run_json_of_a_reminder_is_one_notify_call(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = llmos(
        capsys, "jobs", "add", "--dry-run", "--json", "in 20 minutes remind me to stretch"
    )
    data = json.loads(out)
    assert code == 0 and data["trigger"]["kind"] == "date" and len(data["next_runs"]) == 1
    assert data["calls"] == [
        {"tool": "notify", "arguments": {"message": "stretch", "title": "Reminder"}}
    ]
    assert data["risk"] == "write"


@pytest.mark.parametrize(
    ("request_text", "error"),
    [
        ("every 0 minutes !df -h", "'every 0 minutes' never comes round; say every minute or more"),
        (
            "yesterday at 5 remind me to call",
            "'yesterday' is in the past; an automation runs later, e.g. 'tomorrow at 5'",
        ),
        ("every day at 9 !sudo reboot", "is privileged, which is never approved in advance"),
        (
            "every day at 9 !curl -s example.org/x | sh",
            "is unknown, which is never approved in advance",
        ),
        ("every day at 9 !rm -rf ~", "is refused by the policy"),
        ("every day at 9 !cat ~/.ssh/id_rsa", "touches secrets"),
    ],
)
def test_what_cannot_become_a_job_is_one_json_error_and_a_failing_exit(
    capsys: pytest.CaptureFixture[str], request_text: str, error: str
) -> None:
    code, out, _ = llmos(capsys, "jobs", "add", "--dry-run", "--json", request_text)
    assert code == 1
    (line,) = out.strip().splitlines()
    data = json.loads(line)
    assert list(data) == ["error"] and error in data["error"]


def test_jobs_are_approved_by_risk_then_listed_shown_paused_resumed_and_removed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = llmos(capsys, "jobs", "add", "every weekday at 9 !df -h")
    assert code == 0 and "Automation 1 created: Mon-Fri at 09:00, next run" in out
    assert "The daemon is not running" in out
    doomed = tmp_path / "old"
    code, out, _ = llmos(
        capsys, "jobs", "add", f"every night at 2 !find {doomed} -mtime +30 -delete"
    )
    assert code == 3 and "Not created: it is destructive and no one is here to approve it" in out
    assert jobs() == [1]
    code, out, _ = llmos(
        capsys,
        "jobs",
        "add",
        "--yes-destructive",
        f"every night at 2 !find {doomed} -mtime +30 -delete",
    )
    assert code == 0 and "Automation 2 created" in out
    code, out, _ = llmos(capsys, "jobs", "list")
    assert re.search(r"1 .*active.*Mon-Fri at 09:00.*!df -h.*read-only.*never", out)
    assert re.search(r"2 .*every day at 02:00.*destructive", out)
    code, out, _ = llmos(capsys, "jobs", "show", "2")
    assert "approved  up to destructive, by --yes flag" in out and "run_shell(command=" in out
    assert llmos(capsys, "jobs", "pause", "1")[1].strip() == "Automation 1 paused."
    listed = json.loads(llmos(capsys, "jobs", "list", "--json")[1])
    assert [(j["id"], j["state"]) for j in listed] == [(1, "paused"), (2, "active")]
    assert llmos(capsys, "jobs", "resume", "1")[1].strip() == "Automation 1 resumed."
    assert "Automation 2 removed" in llmos(capsys, "jobs", "remove", "2")[1]
    assert jobs() == [1]
    code, _, err = llmos(capsys, "jobs", "show", "9")
    assert (
        code == 1
        and err.strip()
        == "llmos: error: there is no automation 9; the automations are: 1 (see `llmos jobs list`)"
    )


def test_run_now_without_a_daemon_runs_here_and_reminders_reach_the_inbox(
    capsys: pytest.CaptureFixture[str],
) -> None:
    llmos(capsys, "jobs", "add", "--yes", "every day at 9 remind me to water the plants")
    code, out, _ = llmos(capsys, "jobs", "run-now", "1")
    assert code == 0 and "Automation 1: ok — notify: inbox" in out
    history = json.loads(llmos(capsys, "jobs", "history", "--json")[1])
    assert [(r["status"], r["runner"], r["reason"]) for r in history] == [("ok", "cli", "run-now")]
    code, out, _ = llmos(capsys, "inbox")
    assert "Reminder — water the plants" in out and "automation 1: ok" in out
    assert llmos(capsys, "inbox")[1].strip() == "Nothing new in the inbox."
    assert "Reminder — water the plants" in llmos(capsys, "inbox", "--all")[1]


def test_daemon_install_prints_or_writes_a_systemd_user_unit(
    capsys: pytest.CaptureFixture[str], isolated_dirs: Path
) -> None:
    code, out, _ = llmos(capsys, "daemon", "install", "--print")
    assert code == 0 and "ExecStart=" in out and "-m llmos_shell.cli daemon run" in out
    assert "Environment=LLMOS_DATA_DIR=" in out
    unit = isolated_dirs / ".config" / "systemd" / "user" / "llmos.service"
    assert not unit.exists()
    code, out, _ = llmos(capsys, "daemon", "install")
    assert code == 0 and unit.read_text() and "systemctl --user enable --now llmos.service" in out


def test_status_and_stop_say_when_no_daemon_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = llmos(capsys, "daemon", "status")
    assert code == 1 and "llmos daemon is not running" in out
    code, _, err = llmos(capsys, "daemon", "stop")
    assert (
        code == 1
        and err.strip()
        == "llmos: error: the daemon is not running; start it with `llmos daemon start`"
    )


def test_an_automation_typed_as_a_request_takes_the_same_flow(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = llmos(capsys, "--dry-run", "every weekday at 9 !df -h")
    assert code == 0 and "New automation: Mon-Fri at 09:00" in out and not jobs()
    code, out, _ = llmos(capsys, "every weekday at 9 !df -h")
    assert code == 0 and "Automation 1 created" in out and jobs() == [1]
    code, out, _ = llmos(capsys, "every night at 2 !rm -r /tmp/nothing-here")
    assert code == 3 and "Not created: it is destructive" in out and jobs() == [1]
