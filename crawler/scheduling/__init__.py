"""Scheduled patrols: `netpatrol schedule` runs targets on their `schedule:` through APScheduler.

    schedule.py   parse `schedule:` (cron / every / jitter) and durations; build triggers
    jobs.py       the persistent job store: open it, sync jobs from the config, read them back
    ledger.py     firings that started, were skipped (overlap) or missed (misfire), for `status`
    locks.py      one daemon per job store, one run per target (file locks that die with their holder)
    slots.py      at most `max_concurrent_runs` runs at once, first come first served
    child.py      one run = one `netpatrol run` child process, timeout enforced, outcome recorded
    daemon.py     the foreground daemon: signals, reload, graceful shutdown
    status.py     per-target health for `netpatrol status` and `netpatrol jobs list`
    commands.py   the CLI commands
"""
