"""Habits: a request made on three or more days at about the same time, offered as an automation.

Read from the audit log (one JSON object a line, with "time" and "request"). Each habit is
offered once; the answer, yes or no, is remembered in `habits.json` in the state dir, so a
declined habit is never offered again.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

MIN_DAYS = 3
WINDOW_MIN = 30  # "about the same time": within half an hour either side
_SKIP = re.compile(r"^(automation\b|every\b|each\b|in \d|remind me\b)", re.I)


@dataclass(frozen=True)
class Habit:
    """A request and the time of day it keeps being made at."""

    request: str
    key: str
    hour: int
    minute: int
    days: tuple[date, ...]

    @property
    def weekdays_only(self) -> bool:
        """Whether every day it was made on is a Monday to Friday."""
        return all(day.weekday() < 5 for day in self.days)

    @property
    def phrase(self) -> str:
        """The time phrase to offer: "every weekday at 09:00" or "every day at 09:00"."""
        days = "every weekday" if self.weekdays_only else "every day"
        return f"{days} at {self.hour:02d}:{self.minute:02d}"


def request_key(request: str) -> str:
    """The same request however it was typed: lower case, single spaces, no end punctuation."""
    return " ".join(request.lower().split()).rstrip(".!?")


def find_habits(
    records: Iterable[dict[str, Any]], zone: tzinfo, *, min_days: int = MIN_DAYS
) -> list[Habit]:
    """Requests made on `min_days` or more days within an hour's window of the day."""
    first_each_day: dict[str, dict[date, int]] = defaultdict(dict)
    shown: dict[str, str] = {}
    for record in records:
        request, stamp = record.get("request"), record.get("time")
        if not isinstance(request, str) or not isinstance(stamp, str) or not request.strip():
            continue
        if _SKIP.match(request.strip()):
            continue  # automations' own runs and requests that are automations already
        try:
            moment = datetime.fromisoformat(stamp).astimezone(zone)
        except ValueError:
            continue
        key = request_key(request)
        shown.setdefault(key, request.strip())
        minute = moment.hour * 60 + moment.minute
        first_each_day[key].setdefault(moment.date(), minute)
    habits = []
    for key, days in first_each_day.items():
        best: list[tuple[date, int]] = []
        for _, centre in days.items():
            near = [(day, m) for day, m in days.items() if abs(m - centre) <= WINDOW_MIN]
            if len(near) > len(best):
                best = near
        if len(best) >= min_days:
            typical = int(statistics.median(m for _, m in best))
            typical = int(round(typical / 5) * 5) % (
                24 * 60
            )  # offer a round time: 09:00, not 08:58
            habits.append(
                Habit(
                    shown[key], key, typical // 60, typical % 60, tuple(sorted(d for d, _ in best))
                )
            )
    return sorted(habits, key=lambda h: (-len(h.days), h.key))


class HabitMemory:
    """Which habits were offered, and what the person said: habits.json in the state dir."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def answers(self) -> dict[str, str]:
        """request key -> "accepted" or "declined"."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}
        answers = data.get("answers") if isinstance(data, dict) else None
        return {str(k): str(v) for k, v in answers.items()} if isinstance(answers, dict) else {}

    def remember(self, key: str, answer: str) -> None:
        """Keep the answer for good; a failing disk only means it may be offered again."""
        answers = self.answers()
        answers[key] = answer
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(
                json.dumps({"answers": answers}, indent=1, sort_keys=True), encoding="utf-8"
            )
            temporary.replace(self.path)
        except OSError:
            pass


def habit_to_offer(
    records: Iterable[dict[str, Any]], zone: tzinfo, memory: HabitMemory, automated: Iterable[str]
) -> Habit | None:
    """The first habit not offered before and not an automation already."""
    answered = memory.answers()
    done = {request_key(action) for action in automated}
    for habit in find_habits(records, zone):
        if habit.key not in answered and habit.key not in done:
            return habit
    return None
