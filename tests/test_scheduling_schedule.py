"""`schedule:` parsing (crontab meaning, intervals, jitter, durations) and the config errors of scheduled patrols."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from crawler.config.schema import load_config
from pipelines.errors import ConfigError
from crawler.scheduling.schedule import (ScheduleSpec, crontab_weekdays, format_duration, parse_duration,
                                         parse_schedule)


@pytest.mark.parametrize("text, seconds", [
    (90, 90.0), ("90", 90.0), ("45s", 45.0), ("30m", 1800.0), ("1h30m", 5400.0), ("2d", 172800.0),
    ("1w", 604800.0), ("1.5h", 5400.0), (" 6h ", 21600.0),
])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "30x", "5m later", "-5m", True, [1], None])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (2.5, 45, 1800, 5400, 86400 + 60)] == ["2.5s", "45s", "30m", "1h30m", "1d1m"]


@pytest.mark.parametrize("field, names", [
    ("*", "*"),
    ("0", "sun"),
    ("7", "sun"),
    ("1-5", "mon,tue,wed,thu,fri"),
    ("5-7", "fri,sat,sun"),
    ("sun,wed", "wed,sun"),
    ("*/2", "tue,thu,sat,sun"),  # crontab: 0,2,4,6 = Sun, Tue, Thu, Sat
    ("1/3", "mon,thu"),
    ("MON-fri", "mon,tue,wed,thu,fri"),
])
def test_crontab_weekdays_keep_their_crontab_meaning(field: str, names: str) -> None:
    assert crontab_weekdays(field) == names


def next_fires(spec: ScheduleSpec, start: datetime, count: int) -> list[datetime]:
    trigger = spec.trigger(ZoneInfo("UTC"))
    out, previous, now = [], None, start
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, now)
        out.append(fire)
        previous, now = fire, fire
    return out


def test_cron_sunday_is_zero_as_in_crontab() -> None:
    # 2026-11-28 is a Saturday: crontab's `0` is the next day, Sunday 29th (APScheduler 3 alone would say Monday).
    fires = next_fires(parse_schedule("30 4 * * 0"), datetime(2026, 11, 28, 12, 0, tzinfo=ZoneInfo("UTC")), 2)
    assert [f.strftime("%a %d %H:%M") for f in fires] == ["Sun 29 04:30", "Sun 06 04:30"]


def test_cron_every_six_hours_in_the_configured_zone() -> None:
    spec = parse_schedule("0 */6 * * *")
    trigger = spec.trigger(ZoneInfo("Asia/Shanghai"))
    fire = trigger.get_next_fire_time(None, datetime(2026, 11, 28, 13, 0, tzinfo=ZoneInfo("UTC")))
    assert fire.isoformat() == "2026-11-29T00:00:00+08:00"  # 13:00 UTC is 21:00 in Shanghai; the next 6th hour is 00:00


def test_interval_and_jitter() -> None:
    spec = parse_schedule({"every": "30m", "jitter": "30s"})
    assert spec == ScheduleSpec(every=1800.0, jitter=30.0)
    assert spec.describe() == "every 30m, jitter 30s"
    trigger = spec.trigger(ZoneInfo("UTC"))
    assert trigger.interval.total_seconds() == 1800 and trigger.jitter == 30


def test_aliases() -> None:
    assert parse_schedule("@daily").describe() == "cron '@daily'"
    start = datetime(2026, 11, 28, 12, 0, 30, tzinfo=ZoneInfo("UTC"))
    assert next_fires(parse_schedule("@hourly"), start, 1)[0].strftime("%H:%M") == "13:00"


@pytest.mark.parametrize("value, message", [
    ("0 */6 * *", "5 fields"),
    ("61 * * * *", "higher than the maximum"),
    ("*/0 * * * *", "Increment must be higher than 0"),
    ("* * 31 2 *", "never fires"),
    ("0 0 1 * mon", "not both"),
    ("@reboot", "unknown cron alias"),
    ({"every": 0}, "at least 1 second"),
    ({"every": "0s"}, "at least 1 second"),
    ({"every": "10m", "jitter": "10m"}, "shorter than the interval"),
    ({"cron": "0 * * * *", "every": "1h"}, "exactly one"),
    ({}, "exactly one"),
    ({"evry": "5m"}, "unknown key"),
    (12, "expected a cron string"),
])
def test_bad_schedules(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_schedule(value)


VALID = """
timezone: Asia/Shanghai
scheduler: {max_concurrent_runs: 3, misfire_grace: 15m, stop_timeout: 10s}
targets:
  - name: market
    type: site
    start_urls: ["https://market.example.com/"]
    schedule: "0 */6 * * *"
    timeout: 2h
  - name: hourly
    type: site
    start_urls: ["https://market.example.com/"]
    schedule: {every: 30m, jitter: 1m}
  - name: manual
    type: site
    start_urls: ["https://market.example.com/"]
"""


def test_valid_config(tmp_path: Path) -> None:
    path = tmp_path / "np.yml"
    path.write_text(VALID, encoding="utf-8")
    config = load_config(path).config
    assert config.timezone == "Asia/Shanghai"
    assert config.scheduler.max_concurrent_runs == 3 and config.scheduler.misfire_grace == 900.0
    assert config.target("market").schedule == ScheduleSpec(cron="0 */6 * * *") and config.target("market").timeout == 7200
    assert config.target("hourly").schedule == ScheduleSpec(every=1800.0, jitter=60.0)
    assert config.target("manual").schedule is None


@pytest.mark.parametrize("old, new, message", [
    ('schedule: "0 */6 * * *"', 'schedule: "0 */6 * *"',
     "targets[0].schedule: target 'market': invalid cron expression: a cron expression has 5 fields"),
    ("schedule: {every: 30m, jitter: 1m}", "schedule: {every: 0}",
     "targets[1].schedule: target 'hourly': every: the interval must be at least 1 second (got {'every': 0})"),
    ("timeout: 2h", "timeout: 0s", "targets[0].timeout: target 'market': the timeout must be greater than zero"),
    ("timeout: 2h", "timeout: later", "targets[0].timeout: target 'market': not a duration: 'later'"),
    ("timezone: Asia/Shanghai", "timezone: Mars/Olympus", "timezone: unknown time zone (use an IANA name such as UTC or Asia/Shanghai) (got 'Mars/Olympus')"),
    ("name: hourly", "name: market", "targets: two targets are named 'market'"),
    ("max_concurrent_runs: 3", "max_concurrent_runs: 0", "scheduler.max_concurrent_runs: Input should be greater than or equal to 1"),
    ("misfire_grace: 15m", "misfire_grace: soon", "scheduler.misfire_grace: not a duration: 'soon'"),
    ("stop_timeout: 10s", "stop_timeout: 10s, jobstore_url: 'not a url'", "scheduler.jobstore_url: not a SQLAlchemy URL"),
])
def test_bad_config_is_one_line_naming_target_and_field(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = tmp_path / "np.yml"
    assert old in VALID
    path.write_text(VALID.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{path}: {message}" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_schedule_refuses_a_bad_config_before_starting(cli, make_config) -> None:
    config = make_config(VALID.replace('schedule: "0 */6 * * *"', 'schedule: "0 */6 * *"'))
    result = cli("schedule", "--config", str(config), timeout=60)
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "targets[0].schedule: target 'market': invalid cron expression" in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    # Nothing was started: no job store, no lock.
    assert not (config.parent / "data").exists()
