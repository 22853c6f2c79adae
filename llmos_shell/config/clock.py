"""The person's time zone and the time in it, computed in one place."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from llmos_shell.errors import ScheduleError


def zone(name: str) -> ZoneInfo:
    """The IANA time zone called `name`; one sentence when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"there is no time zone called {name!r}; set timezone to a name such as "
            "Europe/Paris or America/New_York (or leave it empty for this machine's)"
        ) from None


def local_zone_name(setting: str | None) -> str:
    """The time zone the person lives in: the setting, else this machine's own."""
    if setting:
        return setting
    from tzlocal import get_localzone_name

    try:
        return get_localzone_name() or "UTC"
    except Exception:  # tzlocal raises its own errors for odd /etc/localtime set-ups
        return "UTC"


def person_now(setting: str | None) -> datetime:
    """Now, in the person's time zone (`setting` is the timezone setting, empty for local)."""
    return datetime.now(zone(local_zone_name(setting)))
