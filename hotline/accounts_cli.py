"""`hotline accounts …` and `hotline tokens …`: people's accounts and machines' tokens, from
the command line of the host (the first ops account can only be made here)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from hotline import accounts, tokens
from hotline.accounts import ROLES, AccountError
from hotline.provision.secrets import new_password
from hotline.settings import load_settings

AddParser = Callable[[str, str], argparse.ArgumentParser]


def _actor() -> str:
    """Who the audit log names for a change made here: the host's user."""
    return f"cli:{getpass.getuser()}"


def _run(args: argparse.Namespace, work: Callable[[AsyncEngine], Awaitable[int]]) -> int:
    from hotline.instance import controller_instance

    url = controller_instance(load_settings(instance=args.instance)).database_url
    assert url is not None

    async def main() -> int:
        engine = create_async_engine(url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except IntegrityError as exc:  # e.g. the agent role for an account without a 工号
        print(f"error: refused by the database: {exc.orig}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: the database is not reachable ({exc}); is it running?", file=sys.stderr)
        return 1


def _offices(args: argparse.Namespace) -> frozenset[str]:
    """The office codes of the instance's work_orders.yaml (an office account names one)."""
    from hotline.instance import load_center

    settings = load_settings(instance=args.instance)
    return frozenset(load_center(settings.config_dir).work_orders.offices)


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """The new password and whether it was generated (then it is printed, once)."""
    if args.generate:
        return new_password(15), True
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    first = getpass.getpass("new password: ")
    if getpass.getpass("again: ") != first:
        raise AccountError("the two passwords differ")
    return first, False


def _roles(text: str) -> list[str]:
    return [r.strip() for r in text.split(",") if r.strip()]


def _show(rows: list[dict[str, Any]]) -> int:
    for row in rows:
        print(json.dumps(row, default=str, ensure_ascii=False))
    return 0


def cmd_accounts(args: argparse.Namespace) -> int:
    """add, list, disable, enable, roles, password."""
    who, action = _actor(), args.accounts_command
    password, generated = ("", False)
    try:
        if action in ("add", "password"):
            password, generated = _password(args)
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    offices = _offices(args) if action == "add" and args.office is not None else frozenset()

    async def work(engine: AsyncEngine) -> int:
        if action == "add":
            roles = _roles(args.role)
            await accounts.add(
                engine, args.name, password, roles, args.agent, who, args.office, offices
            )
        elif action == "list":
            return _show(await accounts.listing(engine))
        elif action in ("disable", "enable"):
            await accounts.set_disabled(engine, args.name, action == "disable", who)
        elif action == "roles":
            await accounts.set_roles(engine, args.name, _roles(args.role), args.agent, who)
        elif action == "password":
            await accounts.reset_password(engine, args.name, password, who)
        if generated:
            print(f"password of {args.name} (shown once): {password}")
        print(f"{action}: {args.name}", file=sys.stderr)
        return 0

    return _run(args, work)


def cmd_tokens(args: argparse.Namespace) -> int:
    """add (prints the token once), list, revoke."""
    who, action = _actor(), args.tokens_command

    async def work(engine: AsyncEngine) -> int:
        if action == "add":
            token = await tokens.add(engine, args.name, _roles(args.role), who, args.office)
            print(token)
            print(f"token of {args.name} (shown once; keep it secret)", file=sys.stderr)
        elif action == "revoke":
            await tokens.revoke(engine, args.name, who)
            print(f"revoked: {args.name}", file=sys.stderr)
        else:
            return _show(await tokens.listing(engine))
        return 0

    return _run(args, work)


def register(add: AddParser) -> None:
    """The two command groups, on the CLI's parser (`add` makes a sub-command)."""
    roles_help = f"comma-separated, among {', '.join(ROLES)}; or office (with --office)"
    group = add("accounts", "people's accounts: roles, passwords, lockouts")
    sub = group.add_subparsers(dest="accounts_command", required=True)
    for name, help_ in (
        ("add", "a new account (password prompted, or --generate)"),
        ("list", "every account"),
        ("disable", "refuse its logins, end its sessions"),
        ("enable", "allow its logins again"),
        ("roles", "replace its roles"),
        ("password", "a new password (also lifts a lockout)"),
    ):
        p = sub.add_parser(name, help=help_)
        # SUPPRESS: `hotline accounts --instance x add …` keeps x (a sub-parser's default
        # would overwrite it).
        p.add_argument("--instance", default=argparse.SUPPRESS)
        if name != "list":
            p.add_argument("name")
        if name in ("add", "roles"):
            p.add_argument("--role", required=True, help=roles_help)
            p.add_argument(
                "--agent",
                default=None,
                help="the 工号 of an agent account (a supervisor's: their desk phone)",
            )
        if name == "add":
            p.add_argument(
                "--office", default=None, help="the office code of work_orders.yaml (role office)"
            )
        if name in ("add", "password"):
            how = p.add_mutually_exclusive_group()
            how.add_argument("--generate", action="store_true", help="print a random one once")
            how.add_argument("--password-stdin", action="store_true", help="read one line")
        p.set_defaults(func=cmd_accounts)
    group = add("tokens", "API tokens for scripts and other machines")
    sub = group.add_subparsers(dest="tokens_command", required=True)
    for name, help_ in (
        ("add", "a new token for a client (printed once)"),
        ("list", "every token"),
        ("revoke", "the client's token stops working"),
    ):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--instance", default=argparse.SUPPRESS)
        if name != "list":
            p.add_argument("name")
        if name == "add":
            p.add_argument("--role", required=True, help=roles_help)
            p.add_argument("--office", default=None, help="the office code (role office)")
        p.set_defaults(func=cmd_tokens)
