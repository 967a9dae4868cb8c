"""The Textual app: one RunModel, four screens (modes), fed by a driver coroutine.

Rules this module keeps:

1. Events never touch widgets. The reporter handed to the engine is an
   ``Inbox``: ``event()`` appends to a deque (thread-safe, O(1)), and a 10 Hz
   timer drains it into the RunModel and redraws the visible screen once.
   However fast the engine emits, the UI redraws at most ten times a second,
   and at most twice (``REDRAW_S``) while an install runs.
2. The driver (an install job, or a trace replay) runs as a Textual worker on
   the app's own event loop; its return value is the exit code.
3. Elapsed times come from the model's event clock; the live driver supplies
   ``time.perf_counter`` (the clock events are stamped with), a replay its
   scaled trace time, tests nothing at all.
4. The redraw that shows the run's end happens as soon as the model holds
   ``RunFinished``, whatever the redraw cap: the install is complete then
   (Live turns into its summary), and the engine process's own exit (worker
   pools, interpreter teardown) need not delay it. The exit code still
   comes from the driver.
5. Screens a user opens by key (Why, Network) are imported when first
   opened: the live view starts while the install runs, and every module it
   imports is CPU the install does not get (Network's doctor alone pulls in
   the HTTP stack, 0.3 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from textual.app import App
from textual.binding import Binding
from textual.message import Message

from weir.core import events as ev
from weir.core.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK
from weir.tui.app.inbox import Inbox
from weir.tui.app.model import RunModel
from weir.tui.app.screens.base import ModelScreen
from weir.tui.app.screens.live import LiveScreen
from weir.tui.app.screens.summary import SummaryScreen

if TYPE_CHECKING:
    from weir.core.why import Copy  # the Why screen's answers; imported there, not at the app's start

POLL_S = 0.1
REDRAW_S = 0.5  # at most two redraws a second while the install runs (one costs ~60 ms of CPU)
Driver = Callable[[ev.Reporter], Awaitable[int]]


def _why_screen() -> ModelScreen:
    from weir.tui.app.screens.why import WhyScreen

    return WhyScreen()


def _network_screen() -> ModelScreen:
    from weir.tui.app.screens.network import NetworkScreen

    return NetworkScreen()


class WeirApp(App[int]):
    MODES = {  # noqa: RUF012 - Textual's class-level declaration
        "live": LiveScreen,
        "why": _why_screen,
        "network": _network_screen,
        "summary": SummaryScreen,
    }
    BINDINGS = [  # noqa: RUF012
        Binding("l", "switch_mode('live')", "Live"),
        Binding("w", "switch_mode('why')", "Why"),
        Binding("n", "switch_mode('network')", "Network"),
        Binding("s", "switch_mode('summary')", "Summary"),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", show=False),  # as in every installer (Textual's default only hints at q); a focused input still copies
    ]

    def __init__(
        self,
        model: RunModel | None = None,
        *,
        driver: Driver | None = None,
        mode: str = "live",
        clock: Callable[[], float] | None = None,
        title: str = "weir",
        inbox: Inbox | None = None,
    ) -> None:
        super().__init__()
        self.model = model or RunModel()
        self.inbox = inbox or Inbox()
        self.clock = clock
        self.why_target: str | None = None
        self.why_copies: dict[str, Copy] = {}  # `weir why --tui`: the answers with lockfile facts, by name@version
        self.exit_code = EXIT_OK if driver is None else EXIT_INTERRUPTED  # until the driver returns
        self.error: BaseException | None = None
        self.done = driver is None
        self._job = driver
        self._start_mode = mode
        self._seen = -1
        self._shown_at = 0.0
        self._ended = False  # RunFinished drawn (rule 4)
        self.title = title

    def on_mount(self) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):  # no SIGHUP here (Windows)
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.exit)  # the terminal closed: as q
        self.switch_mode(self._start_mode)
        self.set_interval(POLL_S, self.poll)
        self.inbox.wake = self._wake
        if self._job is not None:
            self.run_worker(self._drive(self._job), exclusive=True, exit_on_error=False)

    class Wake(Message):
        """Another thread asks for a poll now (the engine's reader, on the run's last event)."""

    def _wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # the app is gone and its loop closed
            self.post_message(self.Wake())

    def on_weir_app_wake(self, _message: Wake) -> None:
        self.poll()

    async def _drive(self, driver: Driver) -> None:
        try:
            self.exit_code = await driver(self.inbox)
        except Exception as exc:  # handed back to the caller of run_live, which reports it
            self.error = exc
            self.exit_code = getattr(exc, "exit_code", EXIT_INTERNAL)
            self.exit(self.exit_code)
            return
        self.done = True
        self.poll()

    def poll(self) -> None:
        """Drain the inbox, advance the clock, redraw the visible screen if anything moved.

        While the install runs, redraws are capped at ``REDRAW_S`` apart: a redraw
        re-lays out the screen, and on a 2-core machine every millisecond the view
        spends is one the install does not get.
        """
        self.inbox.drain_into(self.model)
        ending = self.model.finished is not None and not self._ended
        self._ended = self.model.finished is not None
        if self.clock is not None and not self.done:
            self.model.now = max(self.model.now, self.clock())
            now = time.monotonic()
            if now - self._shown_at < REDRAW_S and not ending:  # rule 4
                return
            self._shown_at = now
        elif self.model.version == self._seen:
            return
        screen = self.screen
        if not isinstance(screen, ModelScreen) or not screen.is_mounted:
            return  # not composed yet (a quick install can end first): it draws itself on resume
        self._seen = self.model.version
        screen.show(self.model)

    def open_why(self, package: str) -> None:
        """Enter on a package anywhere: show its Decision in Why."""
        from weir.tui.app.screens.why import WhyScreen

        self.why_target = package
        if self.current_mode == "why" and isinstance(self.screen, WhyScreen):
            self.screen.show(self.model)
        else:
            self.switch_mode("why")
