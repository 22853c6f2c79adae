"""Daylight-saving changes: a daily job runs once a day at its hour, on APScheduler's triggers."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from llmos_shell.scheduler import triggers
from llmos_shell.scheduler.phrases import read_when

PARIS = ZoneInfo("Europe/Paris")


def fires(phrase: str, start: datetime, days: int) -> list[datetime]:
    """Every fire time of `phrase` in the `days` days after `start`, as the scheduler asks."""
    trigger = triggers.build(read_when(phrase, start))
    out: list[datetime] = []
    previous, now = None, start
    end = start + timedelta(days=days)
    while (fire := trigger.get_next_fire_time(previous, now)) is not None and fire < end:
        out.append(fire)
        previous = now = fire
    return out


@pytest.mark.parametrize(
    "start",
    [datetime(2025, 3, 27, 12, 0, tzinfo=PARIS), datetime(2025, 10, 23, 12, 0, tzinfo=PARIS)],
    ids=["clocks go forward", "clocks go back"],
)
@pytest.mark.parametrize("phrase", ["every day at 9", "every day at 2:30", "every other day at 9"])
def test_a_daily_job_runs_once_a_day_at_its_hour_across_a_dst_change(
    start: datetime, phrase: str
) -> None:
    runs = fires(phrase, start, days=8)
    local = [run.astimezone(PARIS) for run in runs]
    step = 2 if "other" in phrase else 1
    assert len(local) == 8 // step
    dates = [run.date() for run in local]
    assert len(set(dates)) == len(dates), f"two runs on one day: {local}"
    assert all((b - a).days == step for a, b in itertools.pairwise(dates))
    hour = 9 if "9" in phrase else 2
    offsets = {run.utcoffset() for run in local}
    assert len(offsets) == 2, "the test should cross the change"
    for run in local:
        # 02:30 does not exist the night the clocks go forward: that run comes an hour later.
        assert (run.hour, run.minute) in ((hour, 30 if "2:30" in phrase else 0), (3, 30))


def test_apscheduler_alone_fires_a_repeated_hour_twice_which_is_why_the_daily_trigger_exists() -> (
    None
):
    from apscheduler.triggers.cron import CronTrigger

    plain = CronTrigger(hour=2, minute=30, timezone=PARIS)
    previous, now, count = None, datetime(2025, 10, 25, 12, 0, tzinfo=PARIS), 0
    while (fire := plain.get_next_fire_time(previous, now)) is not None and fire.date().day == 26:
        count += 1
        previous = now = fire
    assert count == 2


def test_an_hourly_job_still_runs_in_both_passes_of_the_repeated_hour() -> None:
    runs = fires("every hour", datetime(2025, 10, 26, 0, 30, tzinfo=PARIS), days=1)
    assert len(runs) == 25  # the day the clocks go back has 25 hours
