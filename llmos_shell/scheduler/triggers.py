"""Trigger specs as APScheduler triggers, which validate them and say when they fire.

Two corrections to APScheduler 3's own classes keep daily jobs daily across daylight-saving
changes: a cron job at a fixed hour fires once on the night the clocks go back (APScheduler
fires 02:30 twice), and intervals of days or weeks are counted on the calendar (APScheduler
counts 24 hours, so 09:00 would become 08:00 or 10:00).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from llmos_shell.config.clock import local_zone_name, zone
from llmos_shell.errors import ScheduleError
from llmos_shell.scheduler.spec import TriggerSpec

__all__ = ["ScheduleError", "build", "checked", "local_zone_name", "next_runs", "zone"]


class DailyCronTrigger(CronTrigger):
    """A cron trigger that fires once at an hour the clocks pass twice (when they go back)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        hour = str(next(f for f in self.fields if f.name == "hour"))
        self._fixed_hours = not any(sign in hour for sign in "*/-")

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """The next fire time, skipping the second pass through a repeated hour."""
        fire: datetime | None = super().get_next_fire_time(previous_fire_time, now)
        for _ in range(3):  # at most a few repeated moments in a row
            if fire is None or not (self._fixed_hours and fire.fold == 1 and _repeated(fire)):
                break
            after = fire.astimezone(timezone.utc) + timedelta(
                seconds=1
            )  # not wall-clock arithmetic
            fire = super().get_next_fire_time(fire, after)
        return fire


class CalendarIntervalTrigger(IntervalTrigger):
    """Every N days or weeks at the start's time of day, whatever the clocks did meanwhile."""

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """The first start + k * interval (on the wall clock) after the previous fire, or now."""
        zone = self.timezone
        start = self.start_date.astimezone(zone).replace(tzinfo=None)
        reference = previous_fire_time or now
        local = reference.astimezone(zone).replace(tzinfo=None)
        steps = max(0, (local - start) // self.interval) if local > start else 0
        while True:
            candidate: datetime = (start + steps * self.interval).replace(tzinfo=zone)
            later = candidate > previous_fire_time if previous_fire_time else candidate >= now
            if later:
                break
            steps += 1
        if self.end_date is not None and candidate > self.end_date:
            return None
        return candidate


class ElapsedIntervalTrigger(IntervalTrigger):
    """Every N minutes or hours of elapsed time (APScheduler's own interval)."""


class OnceTrigger(DateTrigger):
    """One run at a date (APScheduler's own date trigger)."""


def _repeated(moment: datetime) -> bool:
    """Whether this wall-clock time happens twice (the clocks go back over it)."""
    first, second = moment.replace(fold=0).utcoffset(), moment.replace(fold=1).utcoffset()
    return first is not None and second is not None and first > second


def build(spec: TriggerSpec) -> BaseTrigger:
    """The APScheduler trigger for a spec; APScheduler's own checks reject bad fields."""
    tz = zone(spec.timezone)
    fields = dict(spec.fields)
    try:
        trigger: BaseTrigger
        if spec.kind == "cron":
            trigger = DailyCronTrigger(timezone=tz, **fields)
        elif spec.kind == "interval":
            start = datetime.fromisoformat(fields.pop("start_date"))
            calendar = "days" in fields or "weeks" in fields
            cls = CalendarIntervalTrigger if calendar else ElapsedIntervalTrigger
            trigger = cls(timezone=tz, start_date=start, **fields)
        else:
            trigger = OnceTrigger(run_date=datetime.fromisoformat(fields["run_date"]), timezone=tz)
    except (ValueError, TypeError, KeyError) as exc:
        raise ScheduleError(f"the trigger {spec.text!r} is not valid ({exc})") from None
    trigger.llmos_spec = spec  # what the job store saves as JSON
    return trigger


def next_runs(spec: TriggerSpec, count: int = 3, now: datetime | None = None) -> list[datetime]:
    """The next `count` fire times from `now` (a date trigger has one)."""
    trigger = build(spec)
    tz = zone(spec.timezone)
    moment = (now or datetime.now(tz)).astimezone(tz)
    runs: list[datetime] = []
    previous: datetime | None = None
    while len(runs) < count:
        fire = trigger.get_next_fire_time(previous, moment)
        if fire is None or (previous is not None and fire <= previous):
            break
        runs.append(fire)
        previous = moment = fire
        if spec.kind == "date":
            break
    return runs


def checked(spec: TriggerSpec, now: datetime) -> list[datetime]:
    """The next three runs of a new trigger; refuses one that never fires again."""
    runs = next_runs(spec, 3, now)
    if not runs:
        raise ScheduleError(f"'{spec.text}' never comes round; check the date")
    return runs
