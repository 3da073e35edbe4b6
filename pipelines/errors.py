"""Exceptions netpatrol raises to its users, in one place.

    NetpatrolError            anything the CLI reports as one line, without a traceback
    ├── ConfigError           a config or rule file is invalid (exit 2)
    ├── UsageError            a command got arguments that cannot work together (exit 2)
    └── StoreError            the store cannot be opened, read or written (exit 1)
"""

from __future__ import annotations


class NetpatrolError(Exception):
    """Base class: the message is complete and meant for a person."""

    exit_code = 1


class ConfigError(NetpatrolError):
    """A configuration or rule-pack file is invalid; the message names file, path and problem."""

    exit_code = 2


class UsageError(NetpatrolError):
    """The command line asks for something impossible (bad window, unknown target)."""

    exit_code = 2


class StoreError(NetpatrolError):
    """The store (SQLite or Elasticsearch) failed in a way the user must act on."""

    exit_code = 1
