"""Cron expressions in a time zone: parsing, and the instants (UTC) at which a schedule fires.

croniter walks the schedule's wall clock (naive local times); each local time is then placed on the time line
here, so daylight-saving changes follow one rule whatever the zone:
- a local time that does not exist (spring forward: 02:30 in Europe/Berlin on the last Sunday of March) fires
  once, at the first instant after the gap (03:00 local); several such times fire once, together;
- a local time that happens twice (fall back) fires once, at its first occurrence.
Fire instants are strictly increasing, so a (schedule, fire time) row is the same row for every scheduler.
No Django here: the API, the scheduler and the benchmark all call these.
"""
from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from croniter import croniter
from croniter.croniter import CroniterError

PRESETS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
           "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
MAX_CRON_LENGTH = 100
_FIELD = re.compile(r"^[0-9A-Za-z*/,\-#?]+$")
_FIELD_NAMES = ("minute", "hour", "day of month", "month", "day of week")
_SCAN_GUARD = 20_000  # wall-clock steps per call: a fall-back hour repeats at most 60 per-minute times


class CronError(ValueError):
    """A cron expression or time zone that cannot be used; the message says why."""


def parse_cron(text: str) -> str:
    """The expression as five fields (presets like @daily expanded); CronError with the reason otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise CronError("give a cron expression of five fields (minute hour day month weekday) or a preset "
                        "such as @daily")
    if len(text) > MAX_CRON_LENGTH:
        raise CronError(f"at most {MAX_CRON_LENGTH} characters")
    expression = " ".join(text.split())
    if expression.startswith("@"):
        if expression.lower() not in PRESETS:
            raise CronError(f"unknown preset {expression!r}; use one of {', '.join(sorted(PRESETS))}")
        return PRESETS[expression.lower()]
    fields = expression.split(" ")
    if len(fields) != 5:
        raise CronError(f"{len(fields)} fields; a cron expression has five: minute hour day month weekday")
    for name, field in zip(_FIELD_NAMES, fields, strict=True):
        if not _FIELD.match(field):
            raise CronError(f"the {name} field {field!r} has characters cron does not use")
    try:
        croniter(expression, datetime(2000, 1, 1))
    except (CroniterError, ValueError, KeyError) as exc:
        raise CronError(f"not a valid cron expression: {exc}") from None
    return expression


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def parse_zone(name: str) -> zoneinfo.ZoneInfo:
    """An IANA time zone by name (Europe/Berlin, UTC); CronError when the name is not one."""
    if not isinstance(name, str) or name not in _zone_names():
        guesses = zone_guesses(name) if isinstance(name, str) else []
        hint = f"did you mean {' or '.join(guesses)}?" if guesses else "use an IANA name such as Europe/Berlin or UTC"
        raise CronError(f"unknown time zone {str(name)[:64]!r}; {hint}")
    return zoneinfo.ZoneInfo(name)


def zone_guesses(name: str, limit: int = 3) -> list[str]:
    """The IANA zones whose last part is `name`, whatever its case and with spaces for underscores ("paris",
    "new york"), or whose whole name is `name` in another case ("europe/paris"); at most `limit`, sorted."""
    wanted = "_".join(name.strip().split()).lower()
    if not wanted or len(wanted) > 64:
        return []
    found = sorted(z for z in _zone_names() if z.lower() == wanted or z.rsplit("/", 1)[-1].lower() == wanted)
    return found[:limit]


def _wall(instant: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def to_utc(local: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """The instant of naive wall-clock time `local` in `zone`: its first occurrence when the clock shows it
    twice, the first instant after the gap when the clock skips it."""
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _wall(first, zone) == local:
        return first
    # In a gap: fold=0 reads it with the offset before the change (an instant after the gap), fold=1 with the
    # offset after it (an instant before the gap). The change lies between; find it to the second.
    low, high = local.replace(tzinfo=zone, fold=1).astimezone(UTC), first
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if _wall(middle, zone) >= local:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def fire_times(cron: str, zone: zoneinfo.ZoneInfo, after: datetime, until: datetime | None = None,
               limit: int = 100) -> list[datetime]:
    """Fire instants (UTC) strictly after `after`, at most `until` (inclusive), the first `limit` of them."""
    walk = croniter(cron, _wall(after, zone))
    out: list[datetime] = []
    for _ in range(_SCAN_GUARD + limit):
        if len(out) >= limit:
            break
        try:
            instant = to_utc(walk.get_next(datetime), zone)
        except CroniterError:
            break  # the expression has no further time (e.g. 30 February)
        if until is not None and instant > until:
            break
        if instant > after and (not out or instant > out[-1]):
            out.append(instant)
    return out


def latest_fire_times(cron: str, zone: zoneinfo.ZoneInfo, after: datetime, until: datetime,
                      limit: int) -> list[datetime]:
    """The last `limit` fire instants in (after, until], oldest first: what a scheduler that was away from
    `after` to `until` missed, without walking every minute of a long absence."""
    walk = croniter(cron, _wall(until, zone) + timedelta(seconds=1))
    found: set[datetime] = set()
    for _ in range(_SCAN_GUARD + limit):
        if len(found) >= limit:
            break
        try:
            instant = to_utc(walk.get_prev(datetime), zone)
        except CroniterError:
            break
        if instant <= after:
            break
        if instant <= until:
            found.add(instant)
    return sorted(found)


def previous_fire_time(cron: str, zone: zoneinfo.ZoneInfo, before: datetime) -> datetime | None:
    """The last fire instant strictly before `before` (a fire's data interval starts there)."""
    walk = croniter(cron, _wall(before, zone) + timedelta(seconds=1))
    for _ in range(_SCAN_GUARD):
        try:
            instant = to_utc(walk.get_prev(datetime), zone)
        except CroniterError:
            return None
        if instant < before:
            return instant
    return None


def run_values(fire_time: datetime, zone: zoneinfo.ZoneInfo, interval_start: datetime | None) -> dict[str, str]:
    """The built-in run parameters of one fire (pipelines.graph.BUILTIN_PARAMETERS)."""
    start = interval_start or fire_time
    return {"run_date": fire_time.astimezone(zone).date().isoformat(), "fire_time": iso_utc(fire_time),
            "data_interval_start": iso_utc(start), "data_interval_end": iso_utc(fire_time)}


def iso_utc(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
