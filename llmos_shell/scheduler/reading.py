"""The clause reader of time phrases: words in, what each clause said out (no trigger yet).

Clauses come in any order ("at 9 every weekday", "every weekday at 9"); each recognizer takes
the words it knows and leaves the rest. A clause that starts for certain ("every ...") but
cannot be read is refused in one sentence, quoting the words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from llmos_shell.errors import ScheduleError
from llmos_shell.scheduler import words as w

MIN_INTERVAL_S = 60
_JOINERS = (",", "and", "&")
_RANGE_WORDS = ("to", "-", "through", "thru", "until", "till")


@dataclass
class Reading:
    """What the clauses of one phrase said, before it becomes a trigger."""

    recurring: bool = False
    every: tuple[int, str] | None = None  # (count, unit) from "every 20 minutes"
    period: str | None = None  # "day", "week", "month", "year", "hour" from "daily" etc.
    weekdays: list[int] = field(default_factory=list)
    weekdays_plural: bool = False
    month_days: list[str] = field(default_factory=list)  # "1", "15", "last"
    month: int | None = None
    times: list[tuple[int, int, str | None]] = field(default_factory=list)
    minute_of_hour: int | None = None
    hour_range: tuple[int, int] | None = None
    part: str | None = None
    delay: timedelta | None = None
    day: date | None = None
    day_words: str | None = None  # "today", "tomorrow": for messages


class Reader:
    """Consumes time clauses from a list of tokens, in any order."""

    def __init__(self, toks: list[w.Token], now: datetime, text: str) -> None:
        """Read `toks` (the tokens of `text`) as of `now`."""
        self.toks = toks
        self.pos = 0
        self.now = now
        self.text = text
        self.r = Reading()

    # -- helpers ---------------------------------------------------------------------------

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.toks[index].word if index < len(self.toks) else ""

    def phrase(self, start: int, end: int | None = None) -> str:
        end = self.pos if end is None else end
        if start >= len(self.toks) or end <= start:
            return ""
        return self.text[self.toks[start].start : self.toks[end - 1].end]

    def fail(self, start: int, why: str, extra: int = 0) -> ScheduleError:
        """An error quoting the words from `start` to here, and `extra` words more."""
        end = min(len(self.toks), max(self.pos, start + 1) + extra)
        return ScheduleError(f"'{self.phrase(start, end)}' {why}")

    # -- the loop --------------------------------------------------------------------------

    def read(self) -> int:
        """Read clauses from the start; returns how many tokens they took."""
        taken = 0
        while self.pos < len(self.toks):
            mark = self.pos
            if self.peek() in _JOINERS and taken:
                self.pos += 1
            if self.peek() == "please":
                self.pos += 1
            if not self.clause():
                self.pos = mark
                break
            taken = self.pos
        return taken

    def clause(self) -> bool:
        word = self.peek()
        if word in ("every", "each"):
            return self.every_clause()
        if word == "on" and self.peek(1) in ("every", "each"):
            self.pos += 1
            return self.every_clause()
        if word in w.RECURRING_STARTS:
            return self.adverb()
        if word in ("at", "on") and self.peek(1) in ("weekdays", "weekends", *w.WEEKDAY_PLURALS):
            self.pos += 1
            return self.adverb()
        if word == "at":
            return self.at_clause()
        if word == "on":
            return self.on_clause()
        if word in ("in", "after"):
            return self.in_clause()
        if word in ("from", "between"):
            return self.range_clause()
        if word in w.DATE_STARTS or (word == "the" and self.peek(1) == "day"):
            return self.day_clause()
        if word in w.PARTS_OF_DAY and word not in ("noon", "midday"):
            self.r.part = word
            self.pos += 1
            return True
        if self.date_here() or self.times_here():
            return True
        return False

    # -- clauses ---------------------------------------------------------------------------

    def every_clause(self) -> bool:
        start = self.pos
        self.pos += 1
        r = self.r
        r.recurring = True
        word = self.peek()
        if word == "other":
            self.pos += 1
            unit = w.UNITS.get(self.peek())
            if unit in ("days", "weeks"):
                self.pos += 1
                r.every = (2, unit)
                return True
            if self.peek() in w.WEEKDAYS:
                r.every = (2, "weeks")
                return self.weekday_list(plural=True)
            raise self.fail(
                start,
                "is not a schedule I can read; say 'every other day' or 'every other monday'",
                1,
            )
        if word in ("half", "quarter"):
            self.pos += 1
            if self.peek() in ("an", "a", "of"):
                self.pos += 1
            if self.peek() == "an":
                self.pos += 1
            if self.peek() != "hour":
                raise self.fail(start, "is not a schedule I can read; say 'every 30 minutes'", 1)
            self.pos += 1
            r.every = (30 if word == "half" else 15, "minutes")
            return True
        count = w.number(word) if word not in ("a", "an") else None
        if count is not None:
            self.pos += 1
            unit = w.UNITS.get(self.peek())
            if self.peek() in (".", ",") and self.peek(1).isdigit():
                raise self.fail(
                    start,
                    "is not a schedule I can read; say a whole number, e.g. 'every 90 minutes'",
                    3,
                )
            if unit is None:
                raise self.fail(start, "needs a unit after the number, e.g. 'every 20 minutes'", 1)
            self.pos += 1
            return self.set_every(start, count, unit)
        if word.isdigit() or word in ("-", "."):
            raise self.fail(
                start,
                "is not a schedule I can read; say a whole number, e.g. 'every 90 minutes'",
                3,
            )
        unit = w.UNITS.get(word)
        if unit is not None:
            self.pos += 1
            if unit == "seconds":
                raise self.fail(start, "is too often: automations run at most once a minute")
            if unit == "minutes":
                return self.set_every(start, 1, "minutes")
            r.period = unit[:-1]  # hour, day, week, month, year
            return True
        if word in ("weekday", "weekdays", "workday", "workdays"):
            self.pos += 1
            r.weekdays += [0, 1, 2, 3, 4]
            return True
        if word in ("working", "business") and self.peek(1) in ("day", "days"):
            self.pos += 2
            r.weekdays += [0, 1, 2, 3, 4]
            return True
        if word in ("weekend", "weekends"):
            self.pos += 1
            r.weekdays += [5, 6]
            return True
        if word in w.WEEKDAYS or word in w.WEEKDAY_PLURALS:
            return self.weekday_list(plural=True)
        if word in w.PARTS_OF_DAY and word not in ("noon", "midday", "tonight"):
            self.pos += 1
            r.period, r.part = "day", word
            return True
        raise self.fail(
            start,
            "is not a schedule I can read; say e.g. 'every day at 9', 'every 2 hours', "
            "'every monday at 8' or 'every weekday at 9'",
            2,
        )

    def set_every(self, start: int, count: int, unit: str) -> bool:
        if count <= 0:
            raise self.fail(start, "never comes round; say every minute or more")
        if unit in ("months", "years"):
            if unit == "years" and count != 1:
                raise self.fail(
                    start, "is not a schedule I can read; say 'every year on 1 january'"
                )
            self.r.period = unit[:-1]
            self.r.every = (count, unit) if count > 1 else None
            return True
        if count * w.UNIT_SECONDS[unit] < MIN_INTERVAL_S:
            raise self.fail(start, "is too often: automations run at most once a minute")
        if count == 1 and unit in ("days", "weeks"):
            self.r.period = unit[:-1]  # every 1 day is daily: a cron trigger
            return True
        self.r.every = (count, unit)
        return True

    def adverb(self) -> bool:
        word = self.peek()
        r = self.r
        r.recurring = True
        if word in ("weekdays", "weekends"):
            self.pos += 1
            r.weekdays += [0, 1, 2, 3, 4] if word == "weekdays" else [5, 6]
            return True
        if word in w.WEEKDAY_PLURALS:
            return self.weekday_list(plural=True)
        self.pos += 1
        periods = {"daily": "day", "nightly": "day", "hourly": "hour", "weekly": "week"}
        periods |= {"monthly": "month", "yearly": "year", "annually": "year"}
        r.period = periods[word]
        if word == "nightly":
            r.part = "night"
        return True

    def weekday_list(self, *, plural: bool) -> bool:
        """monday; mondays and thursdays; mon, wed and fri; monday to friday; mon-fri."""
        days: list[int] = []
        while True:
            word = self.peek()
            day = w.WEEKDAYS.get(word, w.WEEKDAY_PLURALS.get(word))
            if day is None:
                break
            plural = plural or word in w.WEEKDAY_PLURALS
            self.pos += 1
            if self.peek() in _RANGE_WORDS and self.peek(1) in w.WEEKDAYS:
                last = w.WEEKDAYS[self.peek(1)]
                self.pos += 2
                days += (
                    list(range(day, last + 1))
                    if last >= day
                    else [*range(day, 7), *range(last + 1)]
                )
            else:
                days.append(day)
            if self.peek() in _JOINERS and (
                self.peek(1) in w.WEEKDAYS or self.peek(1) in w.WEEKDAY_PLURALS
            ):
                self.pos += 1
                continue
            break
        if not days:
            return False
        self.r.weekdays += days
        self.r.weekdays_plural = self.r.weekdays_plural or plural
        if plural:
            self.r.recurring = True
        return True

    def at_clause(self) -> bool:
        start = self.pos
        self.pos += 1
        word = self.peek()
        if word in ("night", "noon", "midday", "midnight"):
            if word == "night":
                self.pos += 1
                self.r.part = "night"
                return True
            return self.times_here()
        if word.startswith(":") or (
            word.isdigit() and self.peek(1) == "past" and self.peek(2) in ("the", "every", "each")
        ):
            return self.minute_past(start)
        if self.times_here():
            return True
        self.pos = start
        return False

    def minute_past(self, start: int) -> bool:
        word = self.peek()
        minute = int(word[1:]) if word.startswith(":") else int(word)
        self.pos += 1
        if self.peek() == "past":
            self.pos += 1
            if self.peek() in ("the", "every", "each") and self.peek(1) == "hour":
                self.pos += 2
                self.r.period = self.r.period or "hour"
        if minute > 59:
            raise self.fail(start, "is not a minute of the hour (0 to 59)")
        self.r.minute_of_hour = minute
        return True

    def times_here(self) -> bool:
        """One time of day or a list of them: 9, 9am, 9:30, noon, half past 9, 9 and 17."""
        found: list[tuple[int, int, str | None]] = []
        while True:
            start = self.pos
            one = self.one_time()
            if one is None:
                self.pos = start
                break
            found.append(one)
            if self.peek() in _JOINERS:
                after = self.pos
                self.pos += 1
                if self.peek() == "at":
                    self.pos += 1
                probe = self.pos
                if self.one_time() is None:
                    self.pos = after
                    break
                self.pos = probe
                continue
            break
        if not found:
            return False
        self.r.times += found
        return True

    def one_time(self) -> tuple[int, int, str | None] | None:
        start = self.pos
        word = self.peek()
        if word in ("noon", "midday"):
            self.pos += 1
            return (12, 0, "p")
        if word == "midnight":
            self.pos += 1
            return (0, 0, "a")
        if word in ("half", "quarter") and self.peek(1) in ("past", "to"):
            base = w.clock(self.peek(2))
            if base is None or base[1] != 0:
                return None
            self.pos += 3
            if self.peek(-2) == "to":
                if word == "half":
                    raise self.fail(start, "is not a time I can read; say 'half past 9' or '9:30'")
                return ((base[0] - 1) % 24, 45, base[2])
            return (base[0], 30 if word == "half" else 15, base[2])
        parsed = w.clock(word)
        if parsed is None or not word[0].isdigit():
            return None
        if word.isdigit() and self.peek(1) in w.UNITS and self.peek(1) not in ("m", "h"):
            return None  # "5 minutes" is a duration, not 05:00
        self.pos += 1
        hour, minute, meridiem = parsed
        if self.peek() in ("am", "pm", "a.m.", "p.m."):
            meridiem = self.peek()[0]
            self.pos += 1
        if self.peek() in ("o'clock", "oclock"):
            self.pos += 1
        if self.peek() == "h" and meridiem is None:
            self.pos += 1  # 21h
        if meridiem is not None and not 1 <= hour <= 12:
            raise self.fail(start, "is not a time of day; say e.g. 9am, 9pm or 21:00")
        if hour > 23 or minute > 59:
            raise self.fail(start, "is not a time of day (00:00 to 23:59)")
        return hour, minute, meridiem

    def on_clause(self) -> bool:
        start = self.pos
        self.pos += 1
        if self.weekday_list(plural=False) or self.date_here():
            return True
        self.pos = start
        return False

    def date_here(self) -> bool:
        """25 december, december 25th, 2025-12-25, the 1st (of every month), the last day."""
        start = self.pos
        r = self.r
        the = self.peek() == "the"
        if the:
            self.pos += 1
        if self.peek() == "last" and self.peek(1) == "day":
            self.pos += 2
            r.month_days.append("last")
            self.month_suffix()
            return True
        days: list[int] = []
        suffixed = False
        while (day := w.ordinal(self.peek())) is not None:
            suffixed = suffixed or not self.peek().isdigit()
            days.append(day)
            self.pos += 1
            if self.peek() in _JOINERS and w.ordinal(self.peek(1)) is not None:
                self.pos += 1
                continue
            break
        if days:
            if self.peek() == "of" and self.peek(1) in w.MONTHS:
                self.pos += 1
            month = w.MONTHS.get(self.peek())
            if month is not None:
                self.pos += 1
                return self.set_date(start, month, days)
            if not (the or suffixed):
                self.pos = start  # a bare number is a time ("at 9"), not a day
                return False
            self.month_suffix()
            if any(not 1 <= day <= 31 for day in days):
                raise self.fail(start, "is not a day of the month (1st to 31st)")
            r.month_days += [str(day) for day in days]
            return True
        if the:
            self.pos = start
            return False
        month = w.MONTHS.get(self.peek())
        day = w.ordinal(self.peek(1))
        if month is not None and day is not None:
            self.pos += 2
            return self.set_date(start, month, [day])
        word = self.peek()
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", word):
            self.pos += 1
            year, month_no, day_no = (int(part) for part in word.split("-"))
            try:
                r.day = date(year, month_no, day_no)
            except ValueError:
                raise self.fail(start, "is not a date on the calendar") from None
            r.day_words = word
            return True
        return False

    def month_suffix(self) -> bool:
        """of the month, of every month, of each month, a month."""
        if (
            self.peek() == "of"
            and self.peek(1) in ("the", "every", "each")
            and self.peek(2) == "month"
        ):
            self.pos += 3
            if self.peek(-2) != "the":
                self.r.recurring = True
                self.r.period = self.r.period or "month"
            return True
        if self.peek() in ("a", "per") and self.peek(1) == "month":
            self.pos += 2
            self.r.recurring = True
            self.r.period = self.r.period or "month"
            return True
        return False

    def set_date(self, start: int, month: int, days: list[int]) -> bool:
        if len(days) != 1:
            raise self.fail(start, "names several days; one date a phrase, e.g. '25 december'")
        day = days[0]
        try:
            date(2024, month, day)  # a leap year, so 29 february is a date
        except ValueError:
            raise self.fail(start, "is not a date on the calendar") from None
        self.r.month = month
        self.r.month_days.append(str(day))
        return True

    def in_clause(self) -> bool:
        start = self.pos
        self.pos += 1
        if self.peek() == "the" and self.peek(1) in ("morning", "afternoon", "evening"):
            self.r.part = self.peek(1)
            self.pos += 2
            return True
        total = timedelta()
        while True:
            word = self.peek()
            if word == "half" and self.peek(1) in ("an", "a") and self.peek(2) == "hour":
                self.pos += 3
                total += timedelta(minutes=30)
            else:
                count = w.number(word)
                unit = w.UNITS.get(self.peek(1))
                if count is None or unit is None:
                    break
                if unit in ("months", "years"):
                    raise self.fail(
                        start, "is too far to count exactly; name the date, e.g. 'on 1 march at 9'"
                    )
                self.pos += 2
                total += timedelta(seconds=count * w.UNIT_SECONDS[unit])
            if self.peek() == "and" and (
                w.number(self.peek(1)) is not None or self.peek(1) == "half"
            ):
                self.pos += 1
                continue
            break
        if self.pos == start + 1:
            self.pos = start
            return False
        if total <= timedelta():
            raise self.fail(start, "is now, not later; say e.g. 'in 20 minutes'")
        self.r.delay = (self.r.delay or timedelta()) + total
        return True

    def range_clause(self) -> bool:
        start = self.pos
        self.pos += 1
        first = self.one_time()
        if first is None or self.peek() not in (*_RANGE_WORDS, "and"):
            self.pos = start
            return False
        self.pos += 1
        last = self.one_time()
        if last is None:
            raise self.fail(start, "needs a time at both ends, e.g. 'from 9 to 17'", 1)
        low, high = clock_hour(first, None)[0], clock_hour(last, None)[0]
        if last[2] is None and (first[2] == "p" or low > high):
            high += 12  # "from 9 to 5" ends at 17:00
        if not low < high <= 23:
            raise self.fail(start, "must end later in the same day than it starts")
        self.r.hour_range = (low, high)
        return True

    def day_clause(self) -> bool:
        start = self.pos
        word = self.peek()
        r = self.r
        today = self.now.date()
        if word in ("yesterday", "last"):
            extra = 0 if word == "yesterday" else 1
            raise self.fail(
                start, "is in the past; an automation runs later, e.g. 'tomorrow at 5'", extra
            )
        self.pos += 1
        if word == "the":  # the day after tomorrow
            if self.peek(1) == "after" and self.peek(2) == "tomorrow":
                self.pos += 3
                r.day, r.day_words = today + timedelta(days=2), "the day after tomorrow"
                return True
            self.pos = start
            return False
        if word in ("today", "tonight"):
            r.day, r.day_words = today, word
            if word == "tonight":
                r.part = "tonight"
            return True
        if word == "tomorrow":
            r.day, r.day_words = today + timedelta(days=1), word
            return True
        if word == "this" and self.peek() in ("morning", "afternoon", "evening"):
            r.day, r.day_words, r.part = today, f"this {self.peek()}", self.peek()
            self.pos += 1
            return True
        if word == "next" and self.peek() in w.WEEKDAYS:
            target = w.WEEKDAYS[self.peek()]
            self.pos += 1
            ahead = (target - today.weekday()) % 7 or 7
            r.day, r.day_words = today + timedelta(days=ahead), f"next {self.peek(-1)}"
            return True
        if word == "next":
            raise self.fail(start, "is not a day I can read; name it, e.g. 'next monday at 9'", 1)
        self.pos = start
        return False


def clock_hour(time: tuple[int, int, str | None], part: str | None) -> tuple[int, int]:
    """A read time on the 24-hour clock, am/pm and the part of the day applied."""
    hour, minute, meridiem = time
    if meridiem == "a":
        return (0 if hour == 12 else hour, minute)
    if meridiem == "p":
        return (hour if hour == 12 else hour + 12, minute)
    rule = w.PARTS_OF_DAY.get(part or "")
    if rule is not None and rule.pm_from <= hour <= rule.pm_until:
        return (hour + 12, minute)
    if part in ("night", "tonight") and hour == 12:
        return (0, minute)
    return (hour, minute)
