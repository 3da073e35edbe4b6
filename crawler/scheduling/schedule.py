"""A target's `schedule:` — a crontab line or an interval, with jitter — parsed, checked and turned into a trigger.

Cron expressions keep their crontab meaning: day-of-week 0 and 7 are Sunday (APScheduler 3
counts 0 as Monday, so numbers are translated to day names before they reach it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab numbering: 0 (and 7) is Sunday
_APS_ORDER = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SCHEDULE_KEYS = ("cron", "every", "jitter")


def parse_duration(value: Any) -> float:
    """Seconds from `90`, `45s`, `30m`, `1h30m`, `2d`, `1w` (a bare number is seconds)."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r} (use e.g. 45s, 30m, 6h, 1d)")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            seconds = float(text)
        else:
            parts = _DURATION.findall(text)
            if not parts or _DURATION.sub("", text).strip():
                raise ValueError(f"not a duration: {value!r} (use e.g. 45s, 30m, 1h30m, 1d)")
            seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    else:
        raise ValueError(f"not a duration: {value!r} (use e.g. 45s, 30m, 6h, 1d)")
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"not a duration: {value!r} (must be a finite, non-negative time)")
    return seconds


def format_duration(seconds: float) -> str:
    """`1800` -> `30m`, `5400` -> `1h30m`, `2.5` -> `2.5s`."""
    if seconds != int(seconds) or seconds < 60:
        return f"{seconds:g}s"
    out, rest = "", int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out += f"{rest // size}{unit}"
            rest %= size
    return out


def zone(name: str) -> tzinfo:
    """The IANA time zone `name`, or ValueError saying it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("unknown time zone (use an IANA name such as UTC or Asia/Shanghai)") from None


def _day_number(text: str) -> int:
    text = text.lower()
    if text in _DAY_NAMES:
        return _DAY_NAMES.index(text)
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text) % 7
    raise ValueError(f"day-of-week {text!r} is not 0-7 or sun..sat")


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field (0/7 = Sunday) as APScheduler day names, e.g. `1-5` -> `mon,tue,wed,thu,fri`."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"day-of-week step {step_text!r} must be a positive number")
            step = int(step_text)
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            low, high = base.split("-", 1)
            first, last = _day_number(low), _day_number(high)
            if high.strip() == "7":
                last = 7  # `5-7` is Friday to Sunday
            if first > last:
                raise ValueError(f"day-of-week range {base!r} runs backwards")
        else:
            first = _day_number(base)
            last = 6 if step_text else first
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(name for name in _APS_ORDER if _DAY_NAMES.index(name) in days)


def cron_fields(expression: str) -> dict[str, str]:
    """APScheduler CronTrigger fields for a crontab line (5 fields or an @alias), crontab meaning kept."""
    text = " ".join(expression.split())
    text = _ALIASES.get(text.lower(), text)
    if text.startswith("@"):
        raise ValueError(f"unknown cron alias {text!r} (known: {', '.join(sorted(_ALIASES))})")
    fields = text.split(" ")
    if len(fields) != 5:
        raise ValueError(f"a cron expression has 5 fields (minute hour day month day-of-week), this one has {len(fields)}")
    minute, hour, day, month, weekday = fields
    if day != "*" and weekday != "*":
        raise ValueError("restrict the day of the month or the day of the week, not both"
                         " (crontab fires on either, APScheduler only on both)")
    return {"minute": minute, "hour": hour, "day": day, "month": month, "day_of_week": crontab_weekdays(weekday)}


@dataclass(frozen=True)
class ScheduleSpec:
    """When the daemon runs a target: a crontab line or an interval in seconds, and an optional jitter."""

    cron: str | None = None
    every: float | None = None
    jitter: float | None = None

    def trigger(self, tz: tzinfo) -> Any:
        """The APScheduler trigger: cron in the config's time zone, or an interval."""
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        jitter = int(self.jitter) if self.jitter else None
        if self.cron is not None:
            return CronTrigger(**cron_fields(self.cron), timezone=tz, jitter=jitter)
        assert self.every is not None
        return IntervalTrigger(seconds=self.every, timezone=tz, jitter=jitter)

    def describe(self) -> str:
        """Human text, also the fingerprint the job store keeps to notice a changed schedule."""
        if self.cron is not None:
            text = f"cron '{' '.join(self.cron.split())}'"
        else:
            text = f"every {format_duration(self.every or 0)}"
        if self.jitter:
            text += f", jitter {format_duration(self.jitter)}"
        return text


def parse_schedule(value: Any) -> ScheduleSpec:
    """A `schedule:` value — a cron string, or {cron|every, jitter} — checked; ValueError says what is wrong."""
    if isinstance(value, ScheduleSpec):
        return value
    if isinstance(value, str):
        value = {"cron": value}
    if not isinstance(value, dict):
        raise ValueError("expected a cron string such as '0 */6 * * *' or a mapping such as {every: 30m, jitter: 1m}")
    unknown = sorted(set(value) - set(_SCHEDULE_KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(map(str, unknown))} (allowed: {', '.join(_SCHEDULE_KEYS)})")
    cron, every, jitter = value.get("cron"), value.get("every"), value.get("jitter")
    if (cron is None) == (every is None):
        raise ValueError("give exactly one of `cron` and `every`")
    jitter_s = parse_duration(jitter) if jitter is not None else None
    if cron is not None:
        if not isinstance(cron, str):
            raise ValueError("cron: expected a string such as '0 */6 * * *'")
        spec = ScheduleSpec(cron=" ".join(cron.split()), jitter=jitter_s)
        from apscheduler.triggers.cron import CronTrigger

        try:
            trigger = CronTrigger(**cron_fields(cron), timezone=ZoneInfo("UTC"))
        except ValueError as exc:
            raise ValueError(f"invalid cron expression: {exc}") from None
        if trigger.get_next_fire_time(None, datetime.now(ZoneInfo("UTC"))) is None:
            raise ValueError("the cron expression never fires")
        return spec
    every_s = parse_duration(every)
    if every_s < 1:
        raise ValueError("every: the interval must be at least 1 second")
    if jitter_s is not None and jitter_s >= every_s:
        raise ValueError("jitter: must be shorter than the interval")
    return ScheduleSpec(every=every_s, jitter=jitter_s)
