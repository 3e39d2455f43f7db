"""A hung test fails with its stacks and the run goes on; the run ends only as a last resort.

pytest-timeout's own methods do not fit an asyncio suite: "thread" ends the whole run, and
"signal" raises its failure in whatever the event loop is running when the alarm comes, which
is usually some other task's callback (a media consumer, a transport): that task dies, the
exception is swallowed, and the test runs on past every limit. So this module takes over
pytest-timeout's timer (its `pytest_timeout_set_timer` hook) and, at the deadline:

1. collects every thread's stack, and the test's own task stack when the test is a coroutine;
2. cancels the test's task on its event loop: the test's `finally` blocks and fixtures
   tear down as usual, and the test fails with the stacks (`TestTimedOut`);
3. a synchronous test, an async fixture, or a loop that does not run the cancellation within
   `LOOP_STUCK_S` (blocked in one call) gets pytest-timeout's behaviour: a SIGALRM whose
   handler fails the test in the main thread, interrupting a blocking call.

The watchdog stays as the last resort, for a test that still has not finished its setup, call
and teardown `WATCHDOG_GRACE_S` after its deadline (a loop blocked in a C call, a teardown
that never returns): it prints the stacks, kills every server the suite started
(`tests.processes`) and ends the run.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import inspect
import io
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests import processes

# How long past its deadline a test may take to fail and tear down before the run is ended.
WATCHDOG_GRACE_S = 90.0
# How long a cancelled test's event loop may take to run the cancellation before the main
# thread is interrupted instead (a loop blocked in one call, which no cancellation reaches).
LOOP_STUCK_S = 10.0


class TestTimedOut(Exception):
    """The test outlived its timeout; the message holds the stacks at the deadline."""

    __test__ = False  # not a test class, despite the name


def thread_stacks() -> str:
    """Every thread's stack, identical stacks folded into one (a dozen decoder threads)."""
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    groups: dict[str, list[str]] = collections.defaultdict(list)
    for ident, frame in sys._current_frames().items():
        stack = "".join(traceback.format_stack(frame, limit=25))
        groups[stack].append(names.get(ident, str(ident)))
    parts = []
    for stack, threads in sorted(groups.items(), key=lambda item: len(item[1])):
        shown = ", ".join(threads[:4]) + (
            f" and {len(threads) - 4} more" if len(threads) > 4 else ""
        )
        parts.append(f"--- {len(threads)} thread(s): {shown}\n{stack}")
    return "\n".join(parts)


def _task_stacks(loop: asyncio.AbstractEventLoop, test_task: asyncio.Task[Any]) -> str:
    """The test task's stack and a census of the loop's other tasks (run on the loop)."""
    out = io.StringIO()
    out.write("--- the test's task, awaiting:\n")
    # Task.print_stack shows only the outermost coroutine; follow the awaits down instead.
    awaited: Any = test_task.get_coro()
    while awaited is not None:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "ag_frame", None)
        if frame is not None:
            out.write(f'  File "{frame.f_code.co_filename}", line {frame.f_lineno}, ')
            out.write(f"in {frame.f_code.co_name}\n")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "ag_await", None)
        if awaited is not None and not hasattr(awaited, "cr_frame"):
            out.write(f"  awaiting {awaited!r:.200}\n")
            break
    census = collections.Counter(
        getattr(task.get_coro(), "__qualname__", repr(task.get_coro()))
        for task in asyncio.all_tasks(loop)
        if task is not test_task
    )
    out.write("--- other tasks: ")
    out.write(", ".join(f"{name} x{count}" for name, count in census.most_common(15)))
    out.write("\n")
    return out.getvalue()


@dataclass
class _Running:
    """What the guard knows about the test that is running now."""

    nodeid: str
    timeout: float
    loop: asyncio.AbstractEventLoop | None = None
    task: asyncio.Task[Any] | None = None
    stacks: str = ""
    timed_out: bool = False
    cancel_ran: bool = False
    alarmed: bool = False
    timer: threading.Timer | None = field(default=None, repr=False)


class HangGuard:
    """Per-test timer (instead of pytest-timeout's) plus the last-resort watchdog."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config
        # Re-entrant: the SIGALRM handler runs in the main thread, which may hold it.
        self._lock = threading.RLock()
        self._running: _Running | None = None
        self._deadline: float | None = None
        self._watched = ""
        threading.Thread(target=self._watch, name="test-watchdog", daemon=True).start()

    # ---- the per-test timer (pytest-timeout's hooks) --------------------------------------

    def set_timer(self, item: pytest.Item, timeout: float) -> None:
        running = _Running(item.nodeid, timeout)
        running.timer = threading.Timer(timeout, self._expired, (running,))
        running.timer.name = f"test-timeout {item.nodeid}"
        running.timer.daemon = True
        with self._lock:
            self._running = running
        running.timer.start()

    def cancel_timer(self) -> None:
        with self._lock:
            running, self._running = self._running, None
        if running is not None and running.timer is not None:
            running.timer.cancel()

    def guard_coroutine(
        self, function: Callable[..., Coroutine[Any, Any, Any]]
    ) -> Callable[..., Coroutine[Any, Any, Any]]:
        """Wrap an async test so that the timer can cancel it and fail it with the stacks."""

        @functools.wraps(function)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                running = self._running
                if running is not None:
                    running.loop = asyncio.get_running_loop()
                    running.task = asyncio.current_task()
            try:
                return await function(*args, **kwargs)
            except asyncio.CancelledError:
                if running is None or not running.timed_out:
                    raise
                raise TestTimedOut(
                    f"timed out after {running.timeout:g} s; stacks at the deadline:\n"
                    f"{running.stacks}"
                ) from None
            finally:
                # A deadline in the teardown that follows finds no task to cancel: SIGALRM.
                with self._lock:
                    if running is not None:
                        running.loop = running.task = None

        return guarded

    def _expired(self, running: _Running) -> None:
        with self._lock:
            if self._running is not running:
                return
            running.timed_out = True
            loop, task = running.loop, running.task
        running.stacks = thread_stacks()
        if loop is not None and task is not None and not loop.is_closed():

            def cancel() -> None:
                running.cancel_ran = True
                with contextlib.suppress(Exception):
                    running.stacks = _task_stacks(loop, task) + running.stacks
                task.cancel(f"timed out after {running.timeout:g} s")

            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(cancel)
                # A loop stuck in one blocking call never runs `cancel`: interrupt that call.
                later = threading.Timer(LOOP_STUCK_S, self._interrupt_if_stuck, (running,))
                later.daemon = True
                later.start()
                return
        self._interrupt(running)

    def _interrupt_if_stuck(self, running: _Running) -> None:
        with self._lock:
            stuck = self._running is running and not running.cancel_ran
        if stuck:
            self._interrupt(running)

    def _interrupt(self, running: _Running) -> None:
        """Fail the test in the main thread, as pytest-timeout's "signal" method does."""
        running.alarmed = True
        main = threading.main_thread().ident
        if main is not None:
            signal.pthread_kill(main, signal.SIGALRM)

    def on_alarm(self, signum: int, frame: object) -> None:
        with self._lock:
            running = self._running
        if running is None or not running.alarmed:
            return
        __tracebackhide__ = True
        pytest.fail(
            f"timed out after {running.timeout:g} s; stacks at the deadline:\n{running.stacks}",
            pytrace=False,
        )

    # ---- the last resort ------------------------------------------------------------------

    def arm(self, nodeid: str, seconds: float) -> None:
        with self._lock:
            self._watched, self._deadline = nodeid, time.monotonic() + seconds

    def disarm(self) -> None:
        with self._lock:
            self._deadline = None

    def _watch(self) -> None:
        while True:
            time.sleep(1.0)
            with self._lock:
                expired = self._deadline is not None and time.monotonic() > self._deadline
                nodeid = self._watched
            if expired:
                self._end_run(nodeid)

    def _end_run(self, nodeid: str) -> None:
        # pytest holds fd 2 for its output capture; give the terminal back first.
        capture = self._config.pluginmanager.getplugin("capturemanager")
        with contextlib.suppress(Exception):
            capture.suspend_global_capture(in_=False)
        err = sys.__stderr__
        assert err is not None
        err.write(
            f"\n\nwatchdog: {nodeid} did not finish {WATCHDOG_GRACE_S:g} s after its timeout "
            "(failing it did not end it); ending the run. Stacks of every thread:\n"
        )
        err.write(thread_stacks())
        killed = processes.stop_everything()
        err.write(f"\nwatchdog: killed what the suite had started: {', '.join(killed) or 'none'}\n")
        err.flush()
        os._exit(3)


def is_coroutine_test(item: pytest.Item) -> bool:
    return isinstance(item, pytest.Function) and inspect.iscoroutinefunction(item.obj)
