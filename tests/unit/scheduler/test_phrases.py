"""Time phrases to triggers, phrase by phrase, each checked by APScheduler's trigger classes.

"Now" is Wednesday 3 December 2025, 10:00 in Paris, so every expected next run is fixed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from llmos_shell.scheduler import triggers
from llmos_shell.scheduler.phrases import (
    ScheduleError,
    looks_like_automation,
    read_when,
    split_request,
)
from llmos_shell.scheduler.spec import shown_moment

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2025, 12, 3, 10, 0, tzinfo=PARIS)  # a Wednesday

# (phrase, kind, APScheduler fields (start/run dates in Paris time), words, first run)
READ: list[tuple[str, str, dict[str, Any], str, str]] = [
    (
        "every weekday at 9",
        "cron",
        {"day_of_week": "mon-fri", "hour": "9", "minute": "0"},
        "Mon-Fri at 09:00",
        "Thu 4 Dec 09:00",
    ),
    (
        "every night at 2",
        "cron",
        {"hour": "2", "minute": "0"},
        "every day at 02:00",
        "Thu 4 Dec 02:00",
    ),
    (
        "in 20 minutes",
        "date",
        {"run_date": "2025-12-03T10:20:00+01:00"},
        "once, Wed 3 Dec 10:20",
        "Wed 3 Dec 10:20",
    ),
    (
        "in half an hour",
        "date",
        {"run_date": "2025-12-03T10:30:00+01:00"},
        "once, Wed 3 Dec 10:30",
        "Wed 3 Dec 10:30",
    ),
    (
        "in 2 hours and 30 minutes",
        "date",
        {"run_date": "2025-12-03T12:30:00+01:00"},
        "once, Wed 3 Dec 12:30",
        "Wed 3 Dec 12:30",
    ),
    (
        "in an hour",
        "date",
        {"run_date": "2025-12-03T11:00:00+01:00"},
        "once, Wed 3 Dec 11:00",
        "Wed 3 Dec 11:00",
    ),
    (
        "in 3 days",
        "date",
        {"run_date": "2025-12-06T10:00:00+01:00"},
        "once, Sat 6 Dec 10:00",
        "Sat 6 Dec 10:00",
    ),
    (
        "every monday at 8am",
        "cron",
        {"day_of_week": "mon", "hour": "8", "minute": "0"},
        "every Mon at 08:00",
        "Mon 8 Dec 08:00",
    ),
    (
        "every mon, wed and fri at 17:30",
        "cron",
        {"day_of_week": "mon,wed,fri", "hour": "17", "minute": "30"},
        "Mon, Wed and Fri at 17:30",
        "Wed 3 Dec 17:30",
    ),
    (
        "every monday to friday at 9",
        "cron",
        {"day_of_week": "mon-fri", "hour": "9", "minute": "0"},
        "Mon-Fri at 09:00",
        "Thu 4 Dec 09:00",
    ),
    (
        "mondays and thursdays at 7",
        "cron",
        {"day_of_week": "mon,thu", "hour": "7", "minute": "0"},
        "Mon and Thu at 07:00",
        "Thu 4 Dec 07:00",
    ),
    (
        "weekdays at 8:15",
        "cron",
        {"day_of_week": "mon-fri", "hour": "8", "minute": "15"},
        "Mon-Fri at 08:15",
        "Thu 4 Dec 08:15",
    ),
    (
        "on weekdays at 9",
        "cron",
        {"day_of_week": "mon-fri", "hour": "9", "minute": "0"},
        "Mon-Fri at 09:00",
        "Thu 4 Dec 09:00",
    ),
    (
        "at 9 on weekdays",
        "cron",
        {"day_of_week": "mon-fri", "hour": "9", "minute": "0"},
        "Mon-Fri at 09:00",
        "Thu 4 Dec 09:00",
    ),
    (
        "every weekend at 10",
        "cron",
        {"day_of_week": "sat,sun", "hour": "10", "minute": "0"},
        "Sat and Sun at 10:00",
        "Sat 6 Dec 10:00",
    ),
    (
        "every day at 9 and 17",
        "cron",
        {"hour": "9,17", "minute": "0"},
        "every day at 09:00 and 17:00",
        "Wed 3 Dec 17:00",
    ),
    (
        "every day at 9am and 5pm",
        "cron",
        {"hour": "9,17", "minute": "0"},
        "every day at 09:00 and 17:00",
        "Wed 3 Dec 17:00",
    ),
    (
        "each day at 6am",
        "cron",
        {"hour": "6", "minute": "0"},
        "every day at 06:00",
        "Thu 4 Dec 06:00",
    ),
    (
        "daily at noon",
        "cron",
        {"hour": "12", "minute": "0"},
        "every day at 12:00",
        "Wed 3 Dec 12:00",
    ),
    (
        "every day at midnight",
        "cron",
        {"hour": "0", "minute": "0"},
        "every day at 00:00",
        "Thu 4 Dec 00:00",
    ),
    (
        "at half past 9 every day",
        "cron",
        {"hour": "9", "minute": "30"},
        "every day at 09:30",
        "Thu 4 Dec 09:30",
    ),
    (
        "every day at quarter to 8",
        "cron",
        {"hour": "7", "minute": "45"},
        "every day at 07:45",
        "Thu 4 Dec 07:45",
    ),
    (
        "every morning",
        "cron",
        {"hour": "8", "minute": "0"},
        "every day at 08:00",
        "Thu 4 Dec 08:00",
    ),
    (
        "every evening at 7",
        "cron",
        {"hour": "19", "minute": "0"},
        "every day at 19:00",
        "Wed 3 Dec 19:00",
    ),
    (
        "every sunday night at 10",
        "cron",
        {"day_of_week": "sun", "hour": "22", "minute": "0"},
        "every Sun at 22:00",
        "Sun 7 Dec 22:00",
    ),
    (
        "every friday evening",
        "cron",
        {"day_of_week": "fri", "hour": "19", "minute": "0"},
        "every Fri at 19:00",
        "Fri 5 Dec 19:00",
    ),
    (
        "every thursday at 9pm",
        "cron",
        {"day_of_week": "thu", "hour": "21", "minute": "0"},
        "every Thu at 21:00",
        "Thu 4 Dec 21:00",
    ),
    (
        "every weekday morning at 7:30",
        "cron",
        {"day_of_week": "mon-fri", "hour": "7", "minute": "30"},
        "Mon-Fri at 07:30",
        "Thu 4 Dec 07:30",
    ),
    (
        "every week on sunday at 10",
        "cron",
        {"day_of_week": "sun", "hour": "10", "minute": "0"},
        "every Sun at 10:00",
        "Sun 7 Dec 10:00",
    ),
    ("every hour", "cron", {"hour": "*", "minute": "0"}, "every hour at :00", "Wed 3 Dec 10:00"),
    ("hourly", "cron", {"hour": "*", "minute": "0"}, "every hour at :00", "Wed 3 Dec 10:00"),
    (
        "every hour at :15",
        "cron",
        {"hour": "*", "minute": "15"},
        "every hour at :15",
        "Wed 3 Dec 10:15",
    ),
    (
        "every hour from 9 to 17 on weekdays",
        "cron",
        {"day_of_week": "mon-fri", "hour": "9-17", "minute": "0"},
        "every hour at :00 from 09:00 to 17:00, Mon-Fri",
        "Wed 3 Dec 10:00",
    ),
    (
        "every 15 minutes from 9 to 5 on weekdays",
        "cron",
        {"day_of_week": "mon-fri", "hour": "9-16", "minute": "*/15"},
        "every 15 minutes from 09:00 to 16:45, Mon-Fri",
        "Wed 3 Dec 10:00",
    ),
    (
        "every 5 minutes on weekdays",
        "cron",
        {"day_of_week": "mon-fri", "hour": "*", "minute": "*/5"},
        "every 5 minutes, Mon-Fri",
        "Wed 3 Dec 10:00",
    ),
    (
        "every 2 hours from 8 to 20",
        "cron",
        {"hour": "8-20/2", "minute": "0"},
        "every 2 hours at :00 from 08:00 to 20:00",
        "Wed 3 Dec 10:00",
    ),
    (
        "every 15 minutes",
        "interval",
        {"minutes": 15, "start_date": "2025-12-03T10:15:00+01:00"},
        "every 15 minutes",
        "Wed 3 Dec 10:15",
    ),
    (
        "every 90 minutes",
        "interval",
        {"minutes": 90, "start_date": "2025-12-03T11:30:00+01:00"},
        "every 90 minutes",
        "Wed 3 Dec 11:30",
    ),
    (
        "every 2 hours",
        "interval",
        {"hours": 2, "start_date": "2025-12-03T12:00:00+01:00"},
        "every 2 hours",
        "Wed 3 Dec 12:00",
    ),
    (
        "every minute",
        "interval",
        {"minutes": 1, "start_date": "2025-12-03T10:01:00+01:00"},
        "every minute",
        "Wed 3 Dec 10:01",
    ),
    (
        "every other day at 9",
        "interval",
        {"days": 2, "start_date": "2025-12-04T09:00:00+01:00"},
        "every 2 days at 09:00",
        "Thu 4 Dec 09:00",
    ),
    (
        "every other monday at 9",
        "interval",
        {"weeks": 2, "start_date": "2025-12-08T09:00:00+01:00"},
        "every 2 weeks on Mon at 09:00",
        "Mon 8 Dec 09:00",
    ),
    (
        "every 2 weeks on friday at 16:00",
        "interval",
        {"weeks": 2, "start_date": "2025-12-05T16:00:00+01:00"},
        "every 2 weeks on Fri at 16:00",
        "Fri 5 Dec 16:00",
    ),
    (
        "on the 1st of every month at 9",
        "cron",
        {"day": "1", "hour": "9", "minute": "0"},
        "on the 1st of every month at 09:00",
        "Thu 1 Jan 2026 09:00",
    ),
    (
        "on the last day of every month at 18:00",
        "cron",
        {"day": "last", "hour": "18", "minute": "0"},
        "on the last day of every month at 18:00",
        "Wed 31 Dec 18:00",
    ),
    (
        "every 3 months on the 1st at 9",
        "cron",
        {"month": "*/3", "day": "1", "hour": "9", "minute": "0"},
        "on the 1st of every 3 months at 09:00",
        "Thu 1 Jan 2026 09:00",
    ),
    (
        "every year on 25 december at 8",
        "cron",
        {"month": "12", "day": "25", "hour": "8", "minute": "0"},
        "every year on 25 Dec at 08:00",
        "Thu 25 Dec 08:00",
    ),
    (
        "tomorrow at 9",
        "date",
        {"run_date": "2025-12-04T09:00:00+01:00"},
        "once, Thu 4 Dec 09:00",
        "Thu 4 Dec 09:00",
    ),
    (
        "tomorrow morning",
        "date",
        {"run_date": "2025-12-04T08:00:00+01:00"},
        "once, Thu 4 Dec 08:00",
        "Thu 4 Dec 08:00",
    ),
    (
        "the day after tomorrow at 7",
        "date",
        {"run_date": "2025-12-05T07:00:00+01:00"},
        "once, Fri 5 Dec 07:00",
        "Fri 5 Dec 07:00",
    ),
    (
        "at 5pm",
        "date",
        {"run_date": "2025-12-03T17:00:00+01:00"},
        "once, Wed 3 Dec 17:00",
        "Wed 3 Dec 17:00",
    ),
    (
        "at 9",
        "date",
        {"run_date": "2025-12-04T09:00:00+01:00"},
        "once, Thu 4 Dec 09:00",
        "Thu 4 Dec 09:00",
    ),
    (
        "tonight at 11",
        "date",
        {"run_date": "2025-12-03T23:00:00+01:00"},
        "once, Wed 3 Dec 23:00",
        "Wed 3 Dec 23:00",
    ),
    (
        "this evening",
        "date",
        {"run_date": "2025-12-03T19:00:00+01:00"},
        "once, Wed 3 Dec 19:00",
        "Wed 3 Dec 19:00",
    ),
    (
        "on friday at 3pm",
        "date",
        {"run_date": "2025-12-05T15:00:00+01:00"},
        "once, Fri 5 Dec 15:00",
        "Fri 5 Dec 15:00",
    ),
    (
        "next monday at 9",
        "date",
        {"run_date": "2025-12-08T09:00:00+01:00"},
        "once, Mon 8 Dec 09:00",
        "Mon 8 Dec 09:00",
    ),
    (
        "on the 15th at 9",
        "date",
        {"run_date": "2025-12-15T09:00:00+01:00"},
        "once, Mon 15 Dec 09:00",
        "Mon 15 Dec 09:00",
    ),
    (
        "on dec 24th at 18:00",
        "date",
        {"run_date": "2025-12-24T18:00:00+01:00"},
        "once, Wed 24 Dec 18:00",
        "Wed 24 Dec 18:00",
    ),
    (
        "on 2026-01-15 at 10:30",
        "date",
        {"run_date": "2026-01-15T10:30:00+01:00"},
        "once, Thu 15 Jan 2026 10:30",
        "Thu 15 Jan 2026 10:30",
    ),
]

# (phrase, a piece of the one sentence that refuses it)
REFUSED = [
    ("every 0 minutes", "'every 0 minutes' never comes round"),
    ("yesterday at 5", "'yesterday' is in the past"),
    ("every blue moon", "'every blue moon' is not a schedule I can read"),
    ("last monday at 9", "'last monday' is in the past"),
    ("today at 9", "'today at 9' has passed"),
    ("every 30 seconds", "too often: automations run at most once a minute"),
    ("every second", "too often"),
    ("at 25:00", "'25:00' is not a time of day"),
    ("at 13pm", "'13pm' is not a time of day"),
    ("on february 30 at 9", "'february 30' is not a date on the calendar"),
    ("on the 32nd of every month at 9", "is not a day of the month"),
    ("in 0 minutes", "is now, not later"),
    ("every -5 minutes", "say a whole number"),
    ("every 1.5 hours", "say a whole number"),
    ("every day", "needs a time of day"),
    ("tomorrow", "needs a time of day"),
    ("weekly", "needs which day of the week"),
    ("monthly at 9", "needs which day of the month"),
    ("every day at 9:00 and 17:30", "different minutes"),
    ("every 7 minutes from 9 to 17", "cannot repeat within the hour evenly"),
    ("in 20 minutes at 9", "mixes 'in ...' with another time"),
    ("every 2 hours at 9", "gives a time of day"),
    ("every fortnight", "is not a schedule I can read"),
    ("soon", "is not a time I can read"),
    ("from 9 to 17", "needs how often within the hours"),
]


@pytest.mark.parametrize(
    ("phrase", "kind", "fields", "text", "first"), READ, ids=[r[0] for r in READ]
)
def test_a_phrase_becomes_a_trigger_that_apscheduler_accepts(
    phrase: str, kind: str, fields: dict[str, Any], text: str, first: str
) -> None:
    trigger = read_when(phrase, NOW)
    assert (trigger.kind, trigger.fields, trigger.text, trigger.timezone) == (
        kind,
        fields,
        text,
        "Europe/Paris",
    )
    runs = triggers.checked(trigger, NOW)  # APScheduler's own classes build and fire it
    assert shown_moment(runs[0], NOW) == first
    assert all(run > NOW or (run == NOW and kind == "cron") for run in runs)
    assert len(runs) == (1 if kind == "date" else 3)


@pytest.mark.parametrize(("phrase", "why"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_phrase_that_cannot_be_read_for_certain_is_refused_in_one_sentence(
    phrase: str, why: str
) -> None:
    with pytest.raises(ScheduleError) as caught:
        read_when(phrase, NOW)
    message = str(caught.value)
    assert why in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("request_text", "phrase", "action"),
    [
        ("every weekday at 9 show me disk usage", "every weekday at 9", "show me disk usage"),
        ("show me disk usage every weekday at 9", "every weekday at 9", "show me disk usage"),
        ("in 20 minutes remind me to stretch", "in 20 minutes", "remind me to stretch"),
        ("remind me to stretch in 20 minutes", "in 20 minutes", "remind me to stretch"),
        (
            "every night at 2 delete files older than 30 days in ~/Downloads/tmp",
            "every night at 2",
            "delete files older than 30 days in ~/Downloads/tmp",
        ),
        ("every day at 9, then show disk usage", "every day at 9", "show disk usage"),
        ("every day at 9 !df -h", "every day at 9", "!df -h"),
        ("tomorrow at 9 remind me to call Bob", "tomorrow at 9", "remind me to call Bob"),
        ("remind me in 20 minutes to stretch", "in 20 minutes", "remind me to stretch"),
        (
            "set up a reminder at 6pm tomorrow to call mum",
            "at 6pm tomorrow",
            "set up a reminder to call mum",
        ),
    ],
)
def test_a_request_splits_into_its_time_and_its_action(
    request_text: str, phrase: str, action: str
) -> None:
    read = split_request(request_text, NOW)
    assert (read.phrase, read.action) == (phrase, action)


@pytest.mark.parametrize(
    ("request_text", "why"),
    [
        ("show me disk usage", "says no time to run at"),
        ("in ~/Downloads show the big files", "says no time to run at"),
        ("every weekday at 9", "says when but not what to do"),
        ("every blue moon show disk usage", "'every blue moon' is not a schedule"),
        ("remind me to stretch every blue moon", "'every blue moon' is not a schedule"),
    ],
)
def test_a_request_without_a_readable_time_or_action_creates_nothing(
    request_text: str, why: str
) -> None:
    with pytest.raises(ScheduleError, match=why):
        split_request(request_text, NOW)


@pytest.mark.parametrize(
    ("request_text", "automation"),
    [
        ("every weekday at 9 show me disk usage", True),
        ("in 20 minutes remind me to stretch", True),
        ("remind me to stretch in 20 minutes", True),
        ("show me disk usage every weekday at 9", True),
        ("every blue moon show disk usage", True),  # still answered by the reader, in one sentence
        ("how much disk space is free?", False),
        ("list the files in ~/Downloads", False),
        ("in ~/Downloads show the big files", False),
        ("find files modified in 2 days", False),
        ("what happens every day in linux?", False),
        ("remind me in 20 minutes to stretch", True),
        ("set up a reminder at 6pm tomorrow to call mum", True),
        ("tomorrow at 8 back up my notes", True),
        ("in an hour tell me to check the oven", True),
        ("what's the weather in london tomorrow", False),
        ("what changed today", False),
        ("what happened at 3am in the logs", False),
    ],
)
def test_only_plain_automation_requests_skip_the_planner(
    request_text: str, automation: bool
) -> None:
    assert looks_like_automation(request_text, NOW) is automation
