"""Reading when an automation runs from plain words, deterministically, phrase by phrase.

"every weekday at 9", "in 20 minutes", "every night at 2", "on the 1st of every month at 8"
become a trigger (cron, interval or one date) in APScheduler's own field names. No model is
involved: what a small model guesses must never decide when `rm` runs. Anything this reader
cannot read for certain ("every blue moon", "yesterday at 5", "every 0 minutes") is refused
with one sentence, and nothing is created.

Hours without am/pm are read on the 24-hour clock ("at 5" is 05:00), except after a part of
the day that says otherwise ("every evening at 7" is 19:00).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from llmos_shell.errors import ScheduleError
from llmos_shell.scheduler import words as w
from llmos_shell.scheduler.reading import Reader
from llmos_shell.scheduler.resolve import resolve
from llmos_shell.scheduler.spec import TriggerSpec, make_trigger

__all__ = ["ReadRequest", "ScheduleError", "looks_like_automation", "read_when", "split_request"]


@dataclass(frozen=True)
class ReadRequest:
    """A request split into when it runs (the trigger and its words) and what it does."""

    trigger: TriggerSpec
    phrase: str
    action: str


def read_when(phrase: str, now: datetime) -> TriggerSpec:
    """The trigger for a phrase that is only a time ("every weekday at 9")."""
    toks = w.tokens(phrase)
    if not toks:
        raise ScheduleError("say when it should run, e.g. 'every weekday at 9' or 'in 20 minutes'")
    reader = Reader(toks, now, phrase)
    taken = reader.read()
    if taken < len(toks):
        rest = phrase[toks[taken].start :].strip()
        if taken == 0:
            raise ScheduleError(
                f"'{phrase.strip()}' is not a time I can read; say e.g. 'every weekday at 9', "
                "'every 2 hours', 'in 20 minutes' or 'tomorrow at 8'"
            )
        raise ScheduleError(f"'{rest}' in '{phrase.strip()}' is not part of a time I can read")
    return _finish(reader, phrase.strip())


def _finish(reader: Reader, phrase: str) -> TriggerSpec:
    kind, fields = resolve(reader.r, reader.now, phrase)
    return make_trigger(kind, fields, reader.now)


def split_request(text: str, now: datetime) -> ReadRequest:
    """Split "every weekday at 9 show me disk usage" into its time and its action.

    The time may come first or last ("remind me to stretch in 20 minutes"). A request with
    no time in it, or with a time and nothing to do, is refused in one sentence.
    """
    toks = w.tokens(text)
    reader = Reader(toks, now, text)
    first_error: ScheduleError | None = None
    try:
        taken = reader.read()
    except ScheduleError as exc:
        taken, first_error = 0, exc
    if taken:
        phrase = text[: toks[taken - 1].end].strip()
        action = _clean_action(text[toks[taken].start :] if taken < len(toks) else "")
        return _read(reader, phrase, action)
    if first_error is not None and toks and _starts_a_time(toks, 0):
        raise first_error
    for start in range(1, len(toks)):
        if not _starts_a_time(toks, start):
            continue
        tail = Reader(toks[start:], now, text)
        try:
            used = tail.read()
        except ScheduleError as exc:
            first_error = first_error or exc
            continue
        if used == len(toks) - start:
            phrase = text[toks[start].start :].strip()
            action = _clean_action(text[: toks[start].start])
            return _read(tail, phrase, action)
    middle = _time_inside(text, toks, now)
    if middle is not None:
        return middle
    if first_error is not None:
        raise first_error
    raise ScheduleError(
        f"'{text.strip()}' says no time to run at; start with when, e.g. 'every weekday at 9 "
        "show me disk usage' or 'in 20 minutes remind me to stretch'"
    )


def _anchored(reader: Reader) -> bool:
    """Whether a reading says when something happens later: a repeat, a delay or a clock
    time ("tomorrow" alone, or "in the last 2 days", tells no time to run at)."""
    r = reader.r
    return r.recurring or r.delay is not None or bool(r.times)


def _time_inside(text: str, toks: list[w.Token], now: datetime) -> ReadRequest | None:
    """A time phrase inside the request ("remind me in 20 minutes to stretch"): the words
    around it are the action. Only a phrase that says when to run counts."""
    for start in range(1, len(toks)):
        if not _starts_a_time(toks, start):
            continue
        reader = Reader(toks[start:], now, text)
        try:
            used = reader.read()
        except ScheduleError:
            continue
        if not used or not _anchored(reader):
            continue
        end = start + used
        phrase = text[toks[start].start : toks[end - 1].end].strip()
        after = text[toks[end].start :] if end < len(toks) else ""
        action = " ".join(part for part in (text[: toks[start].start].strip(), after) if part)
        try:
            return _read(reader, phrase, _clean_action(action))
        except ScheduleError:
            continue
    return None


def _read(reader: Reader, phrase: str, action: str) -> ReadRequest:
    if not action:
        raise ScheduleError(
            f"'{phrase}' says when but not what to do; add the action, e.g. "
            f"'{phrase} show me disk usage'"
        )
    return ReadRequest(_finish(reader, phrase), phrase, action)


def _clean_action(text: str) -> str:
    text = text.strip().strip(",:;-").strip()
    for lead in ("and then ", "then ", "and ", "to ", "please "):
        if text.lower().startswith(lead):
            text = text[len(lead) :].strip()
    return text


def _starts_a_time(toks: list[w.Token], index: int) -> bool:
    """Whether the word at `index` can only be the start of a time phrase."""
    word = toks[index].word
    following = toks[index + 1].word if index + 1 < len(toks) else ""
    if word in w.RECURRING_STARTS or word in ("today", "tonight", "tomorrow", "yesterday"):
        return True
    if word in ("in", "after"):
        return w.number(following) is not None or following == "half"
    if word == "at":
        return w.clock(following) is not None or following in ("noon", "midnight", "midday")
    if word == "on":
        return following in w.WEEKDAYS or following in ("every", "each", "weekdays", "weekends")
    if word == "next":
        return following in w.WEEKDAYS
    return False


def looks_like_automation(text: str, now: datetime) -> bool:
    """Whether a request is plainly an automation: it starts with a repeat, a delay or a day
    and time ("tomorrow at 8 ..."), ends with a repeat, or asks to be reminded with a time
    anywhere in it ("remind me in 20 minutes to stretch"). Such requests go to the
    automation flow without a model choosing; anything less plain is left to the planner
    (and its schedule tool)."""
    toks = w.tokens(text)
    if not toks:
        return False
    starts = toks[0].word in w.RECURRING_STARTS or (
        toks[0].word == "in"
        and len(toks) > 1
        and (w.number(toks[1].word) is not None or toks[1].word == "half")
    )
    reminder = any(t.word in w.REMINDER_WORDS for t in toks)
    repeat_at_end = any(t.word in w.RECURRING_STARTS for t in toks[1:])
    dated = toks[0].word in w.DATE_STARTS or _starts_a_time(toks, 0)
    if not (starts or reminder or repeat_at_end or dated):
        return False
    try:
        read = split_request(text, now)
    except ScheduleError:
        return starts  # a plain repeat that cannot be read is still reported, not planned
    if reminder or starts:
        return True
    # A day or a repeat alone ("what changed today", "every day in linux") is no automation:
    # its time must say when to run, at the start or the end of the request.
    return (
        read.trigger is not None
        and _says_when(read.phrase, now)
        and (
            text.lower().lstrip().startswith(read.phrase.lower())
            or text.lower().rstrip(" ?.!").endswith(read.phrase.lower())
        )
    )


def _says_when(phrase: str, now: datetime) -> bool:
    toks = w.tokens(phrase)
    reader = Reader(toks, now, phrase)
    try:
        reader.read()
    except ScheduleError:
        return False
    return _anchored(reader)
