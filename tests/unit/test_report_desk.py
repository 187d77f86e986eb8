"""Reports served by the controller take turns, in a thread of their own."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Executor

from hotline.report_render import ReportDesk
from hotline.reports import in_thread


def thread_name() -> str:
    return threading.current_thread().name


async def test_a_second_report_waits_for_the_first_and_both_run_in_the_reports_thread() -> None:
    desk = ReportDesk()
    steps: list[str] = []
    first_started, finish_first = asyncio.Event(), asyncio.Event()

    async def first(executor: Executor) -> str:
        steps.append("first starts")
        first_started.set()
        await finish_first.wait()
        name = await in_thread(executor, thread_name)
        steps.append("first ends")
        return name

    async def second(executor: Executor) -> str:
        steps.append("second starts")
        return await in_thread(executor, thread_name)

    try:
        one = asyncio.create_task(desk.run(first))
        await first_started.wait()
        two = asyncio.create_task(desk.run(second))
        for _ in range(10):  # every ready task gets its turns: the second does not start
            await asyncio.sleep(0)
        assert steps == ["first starts"]
        finish_first.set()
        names = await asyncio.gather(one, two)
        assert steps == ["first starts", "first ends", "second starts"]
        assert all(name.startswith("hotline-report") for name in names), names
        assert thread_name() not in names
    finally:
        desk.close()
