"""What an automation is, as plain JSON: its trigger, its approved calls, its limits.

The job spec is the one source of truth. It is stored as JSON that llmos owns and checks on
every read; nothing pickled is trusted, and renaming code never deletes a job. The trigger is
kept in APScheduler's own field names, with the words a person reads ("Mon-Fri at 09:00").
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from llmos_shell.calls import Risk, ToolCall
from llmos_shell.errors import LlmosError, ScheduleError, SpecError  # noqa: F401  (their home before errors.py)
from llmos_shell.safety.approval import approvable_in_advance
from llmos_shell.scheduler import words as w

SPEC_VERSION = 1
KINDS = ("cron", "interval", "date")
CRON_FIELDS = ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second")
INTERVAL_UNITS = ("weeks", "days", "hours", "minutes", "seconds")
# After downtime a due run either runs once (late) or is recorded as missed; never dropped.
MISFIRE_POLICIES = {
    "run-once": "run once, late, when the daemon is back",
    "skip": "record the run as missed when the daemon was not running at the time",
}
SKIP_GRACE_S = 60  # how late a run of a "skip" job may still start


@dataclass(frozen=True)
class TriggerSpec:
    """When a job runs: the kind, APScheduler's fields for it, the time zone, and in words."""

    kind: str
    fields: dict[str, Any]
    timezone: str
    text: str

    def to_json(self) -> dict[str, Any]:
        """`{"kind", "fields", "text", "timezone"}`, as `jobs add --dry-run --json` prints it."""
        return {
            "kind": self.kind,
            "fields": dict(self.fields),
            "text": self.text,
            "timezone": self.timezone,
        }

    @classmethod
    def from_json(cls, data: Any) -> TriggerSpec:
        """Check a stored trigger field by field; raises SpecError."""
        if not isinstance(data, dict) or data.get("kind") not in KINDS:
            raise SpecError("the trigger has no kind cron, interval or date")
        fields = data.get("fields")
        allowed = {
            "cron": CRON_FIELDS,
            "interval": (*INTERVAL_UNITS, "start_date"),
            "date": ("run_date",),
        }[data["kind"]]
        if not isinstance(fields, dict) or not fields or set(fields) - set(allowed):
            raise SpecError(f"the trigger's fields are not {data['kind']} fields: {fields!r}")
        for key, value in fields.items():
            if key in INTERVAL_UNITS and not (isinstance(value, int) and value > 0):
                raise SpecError(f"the trigger's {key} is not a positive whole number")
            if key not in INTERVAL_UNITS and not isinstance(value, str):
                raise SpecError(f"the trigger's {key} is not text")
        if not isinstance(data.get("timezone"), str) or not isinstance(data.get("text"), str):
            raise SpecError("the trigger has no time zone or text")
        return cls(data["kind"], dict(fields), data["timezone"], data["text"])


def make_trigger(kind: str, fields: dict[str, Any], now: datetime) -> TriggerSpec:
    """A trigger spec in `now`'s time zone, its words written from its fields."""
    name = getattr(now.tzinfo, "key", None) or str(now.tzinfo)
    return TriggerSpec(kind, dict(fields), name, describe(kind, fields, now))


def describe(kind: str, fields: dict[str, Any], now: datetime) -> str:
    """A trigger in plain words: "Mon-Fri at 09:00", "every 20 minutes", "once, Thu 4 Dec 17:20"."""
    if kind == "date":
        return f"once, {shown_moment(datetime.fromisoformat(fields['run_date']), now)}"
    if kind == "interval":
        unit, count = next((u, fields[u]) for u in INTERVAL_UNITS if u in fields)
        every = f"every {count} {unit}" if count > 1 else f"every {unit[:-1]}"
        if unit in ("days", "weeks"):
            start = datetime.fromisoformat(fields["start_date"])
            day = f" on {w.SHOWN_WEEKDAYS[start.weekday()]}" if unit == "weeks" else ""
            return f"{every}{day} at {w.shown_time(start.hour, start.minute)}"
        return every
    return _describe_cron(fields)


def _describe_cron(fields: dict[str, Any]) -> str:
    hour, minute = str(fields.get("hour", "*")), str(fields.get("minute", "*"))
    days = _cron_days(fields)
    if "*" in hour or "-" in hour or "/" in hour or "*" in minute:
        if minute.startswith("*"):
            step = minute[2:] if "/" in minute else "1"
            often = "every minute" if step == "1" else f"every {step} minutes"
        else:
            often = f"every hour at :{int(minute):02d}"
        if "/" in hour:
            span, step = hour.split("/")
            often = (
                f"every {step} hours at :{int(minute):02d}" if not minute.startswith("*") else often
            )
            hour = span
        if hour not in ("*", ""):
            low, high = (int(part) for part in hour.split("-"))
            if minute.startswith("*"):
                every = int(minute[2:]) if "/" in minute else 1
                first, last = 0, 59 // every * every
            else:
                first = last = int(minute)
            often += f" from {w.shown_time(low, first)} to {w.shown_time(high, last)}"
        return f"{often}, {days}" if days != "every day" else often
    times = [w.shown_time(int(h), int(minute)) for h in hour.split(",")]
    at = times[0] if len(times) == 1 else ", ".join(times[:-1]) + " and " + times[-1]
    return f"{days} at {at}"


def _cron_days(fields: dict[str, Any]) -> str:
    if "month" in fields and "/" not in str(fields["month"]) and "day" in fields:
        month = w.SHOWN_MONTHS[int(fields["month"]) - 1]
        return f"every year on {fields['day']} {month}"
    if "day" in fields:
        days = [d for d in str(fields["day"]).split(",")]
        named = ["the last day" if d == "last" else f"the {w.shown_ordinal(int(d))}" for d in days]
        listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
        month = str(fields.get("month", "*"))
        every = "every month" if "/" not in month else f"every {month.split('/')[1]} months"
        return f"on {listed} of {every}"
    if "day_of_week" in fields:
        parts = []
        for part in str(fields["day_of_week"]).split(","):
            names = [w.SHOWN_WEEKDAYS[w.CRON_WEEKDAYS.index(p)] for p in part.split("-")]
            parts.append("-".join(names))
        if parts == ["Sat", "Sun"]:
            return "Sat and Sun"
        if len(parts) == 1 and "-" not in parts[0]:
            return f"every {parts[0]}"
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return "every day"


def shown_moment(moment: datetime, now: datetime | None = None) -> str:
    """A moment as people read it: "Thu 4 Dec 09:00" (the year too when it is not this one)."""
    local = moment.astimezone(now.tzinfo) if now is not None and now.tzinfo else moment
    year = "" if now is None or local.year == now.year else f" {local.year}"
    return (
        f"{w.SHOWN_WEEKDAYS[local.weekday()]} {local.day} {w.SHOWN_MONTHS[local.month - 1]}"
        f"{year} {w.shown_time(local.hour, local.minute)}"
    )


@dataclass(frozen=True)
class JobSpec:
    """One automation: what it was asked as, when it runs, the calls approved and their limits."""

    request: str
    action: str
    trigger: TriggerSpec
    calls: tuple[ToolCall, ...]
    approved_risk: Risk
    approved_by: str
    approved_at: str
    timeout_s: float = 60.0
    misfire: str = "run-once"
    folder: str | None = None  # where it was created: its calls run there, not in the daemon's
    folder_id: tuple[int, int] | None = None  # that folder's (device, inode) when approved
    version: int = SPEC_VERSION
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def grace_s(self) -> int | None:
        """APScheduler's misfire_grace_time, set on purpose: None runs late runs once."""
        return None if self.misfire == "run-once" else SKIP_GRACE_S

    def to_json(self) -> dict[str, Any]:
        """The spec as stored."""
        return {
            "version": self.version,
            "request": self.request,
            "action": self.action,
            "trigger": self.trigger.to_json(),
            "calls": [call.to_json() for call in self.calls],
            "approved": {
                "risk": self.approved_risk.value,
                "by": self.approved_by,
                "at": self.approved_at,
            },
            "limits": {"timeout_s": self.timeout_s},
            "misfire": {"policy": self.misfire, "grace_s": self.grace_s},
            **({"folder": self.folder} if self.folder is not None else {}),
            **({"folder_id": list(self.folder_id)} if self.folder_id is not None else {}),
        }

    def dumps(self) -> str:
        """The spec as a JSON string."""
        return json.dumps(self.to_json(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def loads(cls, text: str) -> JobSpec:
        """A stored spec, checked key by key; raises SpecError naming what is wrong."""
        try:
            data = json.loads(text)
        except (TypeError, json.JSONDecodeError) as exc:
            raise SpecError(f"the stored spec is not JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("version") != SPEC_VERSION:
            raise SpecError(f"the stored spec is not version {SPEC_VERSION}")
        calls = data.get("calls")
        if not isinstance(calls, list) or not calls:
            raise SpecError("the stored spec has no calls")
        parsed = []
        for call in calls:
            if not (
                isinstance(call, dict)
                and isinstance(call.get("tool"), str)
                and isinstance(call.get("arguments"), dict)
            ):
                raise SpecError(f"a stored call is not {{tool, arguments}}: {call!r}")
            parsed.append(ToolCall(call["tool"], dict(call["arguments"])))
        approved = data.get("approved")
        if not isinstance(approved, dict):
            raise SpecError("the stored spec says nothing of its approval")
        try:
            risk = Risk(approved.get("risk"))
        except ValueError:
            raise SpecError(
                f"the approved risk {approved.get('risk')!r} is not a known risk"
            ) from None
        if not approvable_in_advance(risk):  # never approved in advance, so never stored
            raise SpecError(f"the approved risk {risk.value!r} is one no automation may have")
        limits = data.get("limits") or {}
        misfire = (data.get("misfire") or {}).get("policy", "run-once")
        if misfire not in MISFIRE_POLICIES:
            raise SpecError(
                f"the misfire policy {misfire!r} is not one of {', '.join(MISFIRE_POLICIES)}"
            )
        timeout = limits.get("timeout_s", 60.0)
        if not isinstance(timeout, (int, float)) or not 0 < timeout <= 86400:
            raise SpecError(f"the time limit {timeout!r} is not a number of seconds")
        for key in ("request", "action"):
            if not isinstance(data.get(key), str):
                raise SpecError(f"the stored spec has no {key}")
        folder = data.get("folder")
        if folder is not None and not (isinstance(folder, str) and folder.startswith("/")):
            raise SpecError(f"the folder {folder!r} it runs in is not an absolute path")
        folder_id = data.get("folder_id")
        if folder_id is not None and not (
            isinstance(folder_id, list)
            and len(folder_id) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) for n in folder_id)
        ):
            raise SpecError(f"the folder's identity {folder_id!r} is not [device, inode]")
        return cls(
            request=data["request"],
            action=data["action"],
            trigger=TriggerSpec.from_json(data.get("trigger")),
            calls=tuple(parsed),
            approved_risk=risk,
            approved_by=str(approved.get("by", "")),
            approved_at=str(approved.get("at", "")),
            timeout_s=float(timeout),
            misfire=misfire,
            folder=folder,
            folder_id=(folder_id[0], folder_id[1]) if folder_id is not None else None,
        )

    def with_trigger(self, trigger: TriggerSpec) -> JobSpec:
        """The same job on another trigger."""
        return replace(self, trigger=trigger)


def folder_identity(folder: str | None) -> tuple[int, int] | None:
    """A folder's (device, inode): what an automation checks before each run that its folder
    is still the one approved, not another one (or a link) put at the same path."""
    if folder is None:
        return None
    try:
        found = os.stat(folder)
    except OSError:
        return None
    return found.st_dev, found.st_ino
