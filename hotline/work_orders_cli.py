"""`hotline workorders list|show|escalations`: work orders from the host's command line
(JSON lines, ID numbers masked), for supervisors and ops without the web console."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from acd.work_orders import Status, escalations
from hotline import work_orders_store as store
from hotline.work_orders_web import escalation_row


def register(add: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """The `workorders` command group, on the CLI's parser."""
    group = add("workorders", "work orders (deferred answers): list, show, 督办 escalations")
    sub = group.add_subparsers(dest="workorders_command", required=True)
    listing = sub.add_parser("list", help="orders, soonest due first")
    show = sub.add_parser("show", help="one order with its history")
    show.add_argument("number")
    due = sub.add_parser("escalations", help="overdue, near due and ownerless orders")
    for p in (listing, show, due):
        p.add_argument("--instance", default=argparse.SUPPRESS)
        p.set_defaults(func=cmd_workorders)
    listing.add_argument("--status", choices=[s.value for s in Status], default=None)
    listing.add_argument("--office", default=None)
    listing.add_argument("--owner", default=None, help="the owner's 工号")
    listing.add_argument("--open", action="store_true", help="not closed")
    listing.add_argument("--limit", type=int, default=200)


def _print(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        print(json.dumps(row, ensure_ascii=False, default=str))


def cmd_workorders(args: argparse.Namespace) -> int:
    """Read the instance's database and print JSON lines."""
    from hotline.instance import controller_instance
    from hotline.settings import load_settings

    instance = controller_instance(load_settings(instance=args.instance))
    center = instance.center

    async def work(engine: AsyncEngine) -> int:
        if args.workorders_command == "list":
            query = store.Filter(args.status, args.office, args.owner, None, args.open, args.limit)
            _print([o.public() for o in await store.listing(engine, query)])
        elif args.workorders_command == "show":
            order = await store.find(engine, args.number)
            if order is None:
                print(f"error: no work order {args.number}", file=sys.stderr)
                return 1
            _print([order.public()])
        else:
            agents = frozenset(a.number for a in center.roster.agents)
            found = escalations(
                await store.unfinished(engine),
                dt.datetime.now(dt.UTC),
                center.hours,
                center.work_orders.policy(),
                agents,
            )
            _print([escalation_row(e) for e in found])
        return 0

    return _run(instance.database_url or "", work)


def _run(url: str, work: Callable[[AsyncEngine], Awaitable[int]]) -> int:
    async def main() -> int:
        engine = create_async_engine(url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except (SQLAlchemyError, OSError) as exc:
        print(
            f"error: the database is not reachable ({type(exc).__name__}); is the instance "
            "running (`hotline status`)?",
            file=sys.stderr,
        )
        return 1
