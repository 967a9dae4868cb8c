"""``run_live``: the install job inside the live view (inline panel, or the full app with --tui)."""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable

from weir.core.events import Reporter
from weir.tui.app import WeirApp
from weir.tui.plain import summary


def run_live(job: Callable[[Reporter], Awaitable[int]], *, full: bool, title: str) -> int:
    """Run ``job`` with a reporter that feeds the view; return the job's exit code.

    ``full=False``: an inline panel that exits with the job and leaves the
    summary line in the scrollback. ``full=True``: the full-screen app, which
    stays open on the Summary screen when the job ends (q quits). An exception
    from the job is re-raised here, after the terminal is restored.
    """
    app = WeirApp(
        driver=job,
        mode="live" if full else "compact",
        exit_when_done=not full,
        clock=time.perf_counter,
        title=title,
    )
    app.run(inline=not full)
    if app.error is not None:
        raise app.error
    if not full and app.done:
        print(summary(app.model.statistics(), app.model.elapsed), file=sys.stdout, flush=True)
    return app.exit_code
