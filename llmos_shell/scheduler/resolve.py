"""From what a phrase said to a trigger: its kind and APScheduler's fields, or a refusal.

Contradictions ("in 20 minutes" with "at 9", two times with different minutes in one cron
job) are refused in one sentence rather than guessed at.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from llmos_shell.errors import ScheduleError
from llmos_shell.scheduler import words as w
from llmos_shell.scheduler.reading import Reading, clock_hour


def resolve(r: Reading, now: datetime, phrase: str) -> tuple[str, dict[str, Any]]:
    """The trigger kind and APScheduler fields that a reading means; refuses contradictions."""
    times = sorted({clock_hour(t, r.part) for t in r.times})
    if not times and r.part is not None:
        times = [w.PARTS_OF_DAY[r.part].default]
    recurring = r.recurring or r.every is not None or r.period is not None or r.weekdays_plural

    def refuse(why: str) -> ScheduleError:
        return ScheduleError(f"'{phrase}' {why}")

    if r.delay is not None:
        if recurring or times or r.day or r.weekdays or r.month_days:
            raise refuse("mixes 'in ...' with another time; say one, e.g. 'in 20 minutes'")
        return "date", {"run_date": _iso((now + r.delay).replace(microsecond=0))}
    if r.hour_range is not None and r.every is None and r.period != "hour":
        raise refuse("needs how often within the hours, e.g. 'every 15 minutes from 9 to 17'")
    if not recurring:
        return "date", {"run_date": _iso(_one_date(r, times, now, refuse))}
    if r.day is not None:
        raise refuse(f"mixes a repeat with one day ({r.day_words or r.day}); say one of them")
    if r.every is not None and r.every[1] in ("minutes", "hours", "days", "weeks"):
        return _every(r, times, now, refuse)
    return "cron", _cron(r, times, refuse)


def _one_date(r: Reading, times: list[tuple[int, int]], now: datetime, refuse: Any) -> datetime:
    if len(times) > 1:
        raise refuse("names several times for one run; make one automation per time")
    if r.weekdays and r.day is not None:
        raise refuse("names a weekday and a day together; say one of them")
    if len(r.weekdays) > 1 or len(r.month_days) > 1:
        raise refuse("names several days for one run; say 'every ...' to repeat it")
    if not times:
        if r.day is not None or r.weekdays or r.month_days:
            raise refuse("needs a time of day, e.g. 'tomorrow at 9'")
        raise refuse("is not a time I can read")
    hour, minute = times[0]
    tz = now.tzinfo
    candidates: list[date] = []
    if r.day is not None:
        candidates = [r.day]
    elif r.weekdays:
        ahead = (r.weekdays[0] - now.weekday()) % 7
        candidates = [now.date() + timedelta(days=ahead), now.date() + timedelta(days=ahead + 7)]
    elif r.month_days:
        if r.month_days[0] == "last":
            raise refuse("needs 'of every month' to repeat, or a date such as 31 january")
        wanted = int(r.month_days[0])
        for ahead in range(14):
            year, month = divmod(now.month - 1 + ahead, 12)
            if r.month is not None and month + 1 != r.month:
                continue
            try:
                candidates.append(date(now.year + year, month + 1, wanted))
            except ValueError:
                continue
    else:
        candidates = [now.date(), now.date() + timedelta(days=1)]
    for day in candidates:
        when = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
        if when > now:
            return when
    if r.day is not None:
        raise refuse("has passed; an automation runs later, e.g. 'tomorrow at 5'")
    raise refuse("names no day to come")


def _every(
    r: Reading, times: list[tuple[int, int]], now: datetime, refuse: Any
) -> tuple[str, dict[str, Any]]:
    assert r.every is not None
    count, unit = r.every
    if unit in ("minutes", "hours"):
        restricted = r.weekdays or r.hour_range is not None
        if times:
            raise refuse(f"gives a time of day to something that runs every {count} {unit}")
        if not restricted:
            start = now.replace(microsecond=0) + timedelta(**{unit: count})
            return "interval", {unit: count, "start_date": _iso(start)}
        step_span = 60 if unit == "minutes" else 24
        if step_span % count:
            raise refuse(
                f"cannot repeat within the {'hour' if unit == 'minutes' else 'day'} evenly; pick a count that divides {step_span}"
            )
        fields: dict[str, Any] = {}
        if r.weekdays:
            fields["day_of_week"] = _weekday_field(r.weekdays)
        low, high = r.hour_range or (0, 23)
        span = "*" if r.hour_range is None else f"{low}-{high}"
        if unit == "minutes":
            # "every 15 minutes from 9 to 5" stops before 17:00; hourly runs include 17:00.
            span = span if r.hour_range is None else f"{low}-{high - 1}"
            fields["hour"] = span
            fields["minute"] = f"*/{count}" if count > 1 else "*"
        else:
            fields["hour"] = f"{span}/{count}" if count > 1 else span
            fields["minute"] = str(r.minute_of_hour or 0)
        return "cron", fields
    # Days and weeks are counted on the calendar, so 09:00 stays 09:00 across DST changes.
    if len(times) > 1:
        raise refuse(f"gives several times to something that runs every {count} {unit}")
    if len(r.weekdays) > 1 or (unit == "days" and r.weekdays):
        raise refuse(f"names weekdays for a run every {count} {unit}; make one automation per day")
    if not times and not r.weekdays:
        start = now.replace(microsecond=0) + timedelta(**{unit: count})
        return "interval", {unit: count, "start_date": _iso(start)}
    hour, minute = times[0] if times else (9, 0)
    if not times:
        raise refuse("needs a time of day, e.g. 'every other monday at 9'")
    first = now.date() + timedelta(days=(r.weekdays[0] - now.weekday()) % 7 if r.weekdays else 0)
    start = datetime(first.year, first.month, first.day, hour, minute, tzinfo=now.tzinfo)
    while start <= now:
        start += timedelta(days=7 if r.weekdays else 1)
    return "interval", {unit: count, "start_date": _iso(start)}


def _cron(r: Reading, times: list[tuple[int, int]], refuse: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    period = r.period
    if r.month is not None:
        if period not in (None, "year"):
            raise refuse("names a date but repeats more often than once a year")
        fields["month"] = str(r.month)
        period = "year"
    elif r.every is not None and r.every[1] == "months":
        fields["month"] = f"*/{r.every[0]}"
    if r.month_days:
        if r.weekdays:
            raise refuse("names days of the month and weekdays together; say one of them")
        fields["day"] = ",".join(dict.fromkeys(r.month_days))
    elif period in ("month", "year"):
        raise refuse(
            f"needs which day of the {'month' if period == 'month' else 'year'}, e.g. 'on the 1st'"
        )
    if r.weekdays:
        if len(set(r.weekdays)) < 7:
            fields["day_of_week"] = _weekday_field(r.weekdays)
    elif period == "week":
        raise refuse("needs which day of the week, e.g. 'every week on monday at 9'")
    if period == "hour" or (r.minute_of_hour is not None and not times):
        if times:
            raise refuse("gives a time of day to something that runs every hour")
        low, high = r.hour_range or (0, 23)
        fields["hour"] = "*" if r.hour_range is None else f"{low}-{high}"
        fields["minute"] = str(r.minute_of_hour or 0)
        return fields
    if not times:
        raise refuse("needs a time of day, e.g. 'every day at 9'")
    minutes = {minute for _, minute in times}
    if len(minutes) > 1:
        raise refuse("names times with different minutes; make one automation per time")
    fields["hour"] = ",".join(str(hour) for hour, _ in times)
    fields["minute"] = str(minutes.pop())
    return fields


def _weekday_field(days: list[int]) -> str:
    """APScheduler's day_of_week: runs of three or more days as ranges (mon-fri)."""
    unique = sorted(set(days))
    parts: list[str] = []
    i = 0
    while i < len(unique):
        j = i
        while j + 1 < len(unique) and unique[j + 1] == unique[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{w.CRON_WEEKDAYS[unique[i]]}-{w.CRON_WEEKDAYS[unique[j]]}")
        else:
            parts += [w.CRON_WEEKDAYS[d] for d in unique[i : j + 1]]
        i = j + 1
    return ",".join(parts)


def _iso(moment: datetime) -> str:
    return moment.isoformat()
