"""Cron in a time zone: the UTC instants of daily, weekday, every-15-minutes, month-end and leap-day schedules
in two zones, and each scheduled time firing exactly once on spring-forward and fall-back days."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from studio.schedules import timing

pytestmark = pytest.mark.backend_independent  # pure functions of cron text and zones

BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def instants(cron: str, zone: str, after: str, n: int) -> list[str]:
    times = timing.fire_times(timing.parse_cron(cron), timing.parse_zone(zone), utc(after), limit=n)
    return [t.strftime("%Y-%m-%d %H:%M") for t in times]


@pytest.mark.parametrize("cron, zone, after, expected", [
    # daily at 02:00
    ("0 2 * * *", BERLIN, "2024-01-01", ["2024-01-01 01:00", "2024-01-02 01:00", "2024-01-03 01:00"]),
    ("@daily", NEW_YORK, "2024-01-01", ["2024-01-01 05:00", "2024-01-02 05:00", "2024-01-03 05:00"]),
    ("0 2 * * *", NEW_YORK, "2024-01-01", ["2024-01-01 07:00", "2024-01-02 07:00", "2024-01-03 07:00"]),
    # weekdays at 09:00, from a Friday
    ("0 9 * * 1-5", BERLIN, "2024-01-05", ["2024-01-05 08:00", "2024-01-08 08:00", "2024-01-09 08:00"]),
    ("0 9 * * MON-FRI", NEW_YORK, "2024-01-05", ["2024-01-05 14:00", "2024-01-08 14:00", "2024-01-09 14:00"]),
    # every 15 minutes
    ("*/15 * * * *", BERLIN, "2024-01-01 00:05", ["2024-01-01 00:15", "2024-01-01 00:30", "2024-01-01 00:45"]),
    ("*/15 * * * *", NEW_YORK, "2024-07-01 23:50", ["2024-07-02 00:00", "2024-07-02 00:15", "2024-07-02 00:30"]),
    # the last day of each month at 18:00 (31 March in summer time)
    ("0 18 L * *", BERLIN, "2024-01-15",
     ["2024-01-31 17:00", "2024-02-29 17:00", "2024-03-31 16:00", "2024-04-30 16:00"]),
    ("0 18 L * *", NEW_YORK, "2024-01-15",
     ["2024-01-31 23:00", "2024-02-29 23:00", "2024-03-31 22:00", "2024-04-30 22:00"]),
    # 29 February at noon: leap years only
    ("0 12 29 2 *", BERLIN, "2023-01-01", ["2024-02-29 11:00", "2028-02-29 11:00"]),
    ("0 12 29 2 *", NEW_YORK, "2023-01-01", ["2024-02-29 17:00", "2028-02-29 17:00"]),
])
def test_fire_instants_in_two_zones(cron, zone, after, expected):
    assert instants(cron, zone, after, len(expected)) == expected


@pytest.mark.parametrize("cron, zone, after, expected", [
    # spring forward: 02:30 does not exist that day; it fires once, when the clock jumps (03:00 local)
    ("30 2 * * *", BERLIN, "2024-03-30", ["2024-03-30 01:30", "2024-03-31 01:00", "2024-04-01 00:30"]),
    ("30 2 * * *", NEW_YORK, "2024-03-09", ["2024-03-09 07:30", "2024-03-10 07:00", "2024-03-11 06:30"]),
    # fall back: 02:30 (Berlin) and 01:30 (New York) happen twice; each fires once, at the first
    ("30 2 * * *", BERLIN, "2024-10-26", ["2024-10-26 00:30", "2024-10-27 00:30", "2024-10-28 01:30"]),
    ("30 1 * * *", NEW_YORK, "2024-11-02", ["2024-11-02 05:30", "2024-11-03 05:30", "2024-11-04 06:30"]),
])
def test_daylight_saving_days_fire_each_time_once(cron, zone, after, expected):
    assert instants(cron, zone, after, len(expected)) == expected


@pytest.mark.parametrize("zone, day, skipped, repeated", [
    (BERLIN, "2024-03-31", 4, 0), (BERLIN, "2024-10-27", 0, 4),
    (NEW_YORK, "2024-03-10", 4, 0), (NEW_YORK, "2024-11-03", 0, 4),
])
def test_every_15_minutes_over_a_daylight_saving_day(zone, day, skipped, repeated):
    """Each wall-clock quarter hour of the day fires once: the skipped hour's four fire together with 03:00 (in
    the jump), the repeated hour's four fire in its first pass only."""
    tz = ZoneInfo(zone)
    start = datetime.fromisoformat(day).replace(tzinfo=tz).astimezone(UTC)
    end = (datetime.fromisoformat(day) + timedelta(days=1)).replace(tzinfo=tz).astimezone(UTC)
    cron = timing.parse_cron("*/15 * * * *")
    times = timing.fire_times(cron, tz, start - timedelta(seconds=1), end - timedelta(seconds=1), limit=500)
    walls = [t.astimezone(tz).strftime("%H:%M") for t in times]
    assert len(times) == 96 - skipped and len(set(times)) == len(times) and times == sorted(times)
    assert len(set(walls)) == len(walls)  # no wall-clock time twice (the repeated hour fires once)
    assert (end - start) == timedelta(hours=24 - skipped // 4 + repeated // 4)
    # going backwards over the same day (what a scheduler back from an absence asks) finds the same instants
    assert timing.latest_fire_times(cron, tz, start - timedelta(seconds=1), end - timedelta(seconds=1),
                                    limit=500) == times


def test_a_local_time_in_the_gap_is_the_first_instant_after_it():
    berlin = ZoneInfo(BERLIN)
    assert timing.to_utc(datetime(2024, 3, 31, 2, 0), berlin) == utc("2024-03-31 01:00")
    assert timing.to_utc(datetime(2024, 3, 31, 2, 59), berlin) == utc("2024-03-31 01:00")
    assert timing.to_utc(datetime(2024, 10, 27, 2, 30), berlin) == utc("2024-10-27 00:30")  # first pass
    assert timing.previous_fire_time("0 * * * *", berlin, utc("2024-10-27 01:00")) == utc("2024-10-27 00:00")


@pytest.mark.parametrize("text", ["", "61 * * * *", "* * * *", "* * * * * *", "@reboot", "0 0 1 13 *", "a b c d e",
                                  "0 0 * * 8", "x" * 101, "0;rm * * * *"])
def test_bad_cron_is_refused(text):
    with pytest.raises(timing.CronError):
        timing.parse_cron(text)


def test_presets_and_zones():
    assert timing.parse_cron("@hourly") == "0 * * * *" and timing.parse_cron(" 0  2 * * 1-5 ") == "0 2 * * 1-5"
    for bad in ("Mars/Olympus", "../etc/passwd", "", "europe/berlin"):
        with pytest.raises(timing.CronError):
            timing.parse_zone(bad)


@pytest.mark.parametrize(("typed", "named"), [("Paris", "Europe/Paris"), ("paris", "Europe/Paris"),
                                              ("new york", "America/New_York"), ("europe/berlin", "Europe/Berlin")])
def test_an_unknown_zone_names_the_iana_zone_it_matches_by_its_last_part(typed, named):
    with pytest.raises(timing.CronError, match=f"unknown time zone '{typed}'; did you mean {named}\\?"):
        timing.parse_zone(typed)


def test_an_unknown_zone_without_a_match_is_told_the_iana_form():
    with pytest.raises(timing.CronError, match="use an IANA name such as Europe/Berlin or UTC"):
        timing.parse_zone("Mars/Olympus")
    assert timing.zone_guesses("") == [] and timing.zone_guesses("x" * 100) == []
