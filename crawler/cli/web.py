"""`netpatrol serve` (the analyst's workbench) and `netpatrol users add|list`."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from pipelines.errors import UsageError
from pipelines.stores.workbench import ROLES


def cmd_serve(args: argparse.Namespace) -> int:
    from crawler.config.schema import load_config
    from crawler.web.server import serve

    return serve(load_config(args.config), args.host, args.port)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif os.environ.get("NETPATROL_PASSWORD"):
        password = os.environ["NETPATROL_PASSWORD"]
    elif sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            raise UsageError("the passwords differ")
    else:
        raise UsageError("give the password on standard input with --password-stdin, or in NETPATROL_PASSWORD")
    if len(password) < 8:
        raise UsageError("the password must have at least 8 characters")
    return password


def cmd_users_add(args: argparse.Namespace) -> int:
    from crawler.config.schema import load_config
    from crawler.config.stores import open_store
    from crawler.web.auth import add_user

    password = _password(args)
    with open_store(load_config(args.config)) as store:
        existed = add_user(store, args.name, args.role, password, actor="cli")
    print(f"netpatrol: user {args.name} {'updated' if existed else 'added'} ({args.role})")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    from crawler.config.schema import load_config
    from crawler.config.stores import open_store

    with open_store(load_config(args.config)) as store:
        for user in store.users():
            flag = "\tdisabled" if user.disabled else ""
            print(f"{user.name}\t{user.role}\t{user.created_at}{flag}")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="the analyst's workbench: review queue, evidence, search, reports, tips",
                       description="the analyst's workbench: review queue, evidence, search, reports, tips")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    p.add_argument("--port", type=int, default=8080)
    p.set_defaults(handler=cmd_serve)
    users = sub.add_parser("users", help="workbench logins").add_subparsers(dest="users_command", required=True,
                                                                           metavar="SUBCOMMAND")
    p = users.add_parser("add", help="add a user (or reset its role and password)")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.set_defaults(handler=cmd_users_add)
    p = users.add_parser("list", help="list users")
    p.add_argument("--config", required=True, type=Path)
    p.set_defaults(handler=cmd_users_list)
