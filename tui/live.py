"""``run_live``: the install job inside the live view (inline panel, or the full app with --tui).

Rules this module keeps:

1. The live view must not slow the install. The engine starts first, on its
   own thread and event loop, before Textual is imported; the app attaches
   to the engine's inbox once it is up. Textual's start-up, rendering and
   teardown overlap the install instead of preceding it.
2. Leaving the app before the install ends (q, Ctrl-C) cancels the engine
   and waits for it, so the engine's own "loses nothing" rules hold: the
   exit code is 130 and the previous state is intact.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Awaitable, Callable

import anyio
import anyio.from_thread
import anyio.lowlevel

from weir.core.errors import EXIT_INTERRUPTED
from weir.core.events import Reporter
from weir.tui.inbox import Inbox


class EngineThread:
    """One install job on a thread of its own, reporting into an Inbox."""

    def __init__(self, job: Callable[[Reporter], Awaitable[int]]) -> None:
        self.job = job
        self.inbox = Inbox()
        self.exit_code = EXIT_INTERRUPTED
        self.error: BaseException | None = None
        self._finished = threading.Event()
        self._scope: anyio.CancelScope | None = None
        self._token: object | None = None
        self._thread = threading.Thread(target=self._main, name="weir-engine", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _main(self) -> None:
        async def main() -> int:
            self._token = anyio.lowlevel.current_token()
            with anyio.CancelScope() as scope:
                self._scope = scope
                return await self.job(self.inbox)
            return EXIT_INTERRUPTED  # cancelled: the user left the view

        try:
            self.exit_code = anyio.run(main)
        except BaseException as exc:  # noqa: BLE001 - handed to the UI thread, re-raised there
            self.error = exc
        finally:
            self._finished.set()

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    async def wait(self, _reporter: Reporter) -> int:
        """The app's driver: resolves when the engine is done (the app already drains our inbox)."""
        while not self._finished.is_set():
            await anyio.sleep(0.02)
        if self.error is not None:
            raise self.error
        return self.exit_code

    def cancel_and_join(self) -> None:
        if not self._finished.is_set() and self._scope is not None and self._token is not None:
            try:
                anyio.from_thread.run_sync(self._scope.cancel, token=self._token)  # type: ignore[arg-type]
            except RuntimeError:
                pass  # the engine's loop closed in between: it is finishing anyway
        self._thread.join()


def run_live(job: Callable[[Reporter], Awaitable[int]], *, full: bool, title: str) -> int:
    """Run ``job`` with a reporter that feeds the view; return the job's exit code.

    ``full=False``: an inline panel that exits with the job and leaves the
    summary line in the scrollback. ``full=True``: the full-screen app, which
    stays open on the Summary screen when the job ends (q quits). An exception
    from the job is re-raised here, after the terminal is restored.
    """
    engine = EngineThread(job)
    engine.start()
    from weir.tui.app import WeirApp  # after the engine is running: Textual's import overlaps it
    from weir.tui.plain import summary

    app = WeirApp(
        driver=engine.wait,
        mode="live" if full else "compact",
        exit_when_done=not full,
        clock=time.perf_counter,
        title=title,
        inbox=engine.inbox,
    )
    try:
        app.run(inline=not full)
    finally:
        engine.cancel_and_join()
    if engine.error is not None:
        raise engine.error
    if not app.done:
        sys.stderr.write("weir: interrupted; package-lock.json is unchanged, and the next `weir install` repairs node_modules\n")
        return EXIT_INTERRUPTED
    if not full:
        print(summary(app.model.statistics(), app.model.elapsed), file=sys.stdout, flush=True)
    return engine.exit_code
