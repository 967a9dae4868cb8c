"""The inline panel: `weir install` on a terminal (the default live view).

A handful of lines (phases, counters, the oldest jobs in flight) redrawn in
place under the prompt, then replaced by the one-line summary. It is plain
ANSI drawn from the engine's event stream, not a Textual app: Textual's
import and first frame (~0.3 s of CPU) and its exit (its input thread takes
0.1-0.2 s to notice it should stop) made the default view cost 7-10% of a
cold install's wall time on a 2-core machine; the panel needs no input.

Rules this module keeps:

1. Redraws happen at most every ``REDRAW_S``. The run's last event (the
   reader wakes the panel for it) ends the panel at once; the summary line
   takes its place when the engine has exited.
2. Every line drawn is cut to the terminal's width, so moving the cursor up
   by the number of lines drawn always lands on the panel's first line; the
   width is read again at each redraw (a resize takes effect at the next).
3. Keys typed meanwhile are not echoed (they would scroll the panel away);
   the terminal's settings and cursor are restored on every way out,
   Ctrl-C included (which ``run_live`` turns into interrupting the engine).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import termios
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from rich.console import Console

from weir.tui.app.model import RunModel
from weir.tui.app.progress_text import panel_lines

if TYPE_CHECKING:
    from rich.text import Text

    from weir.tui.app.live import EngineProcess

REDRAW_S = 0.5
EXIT_POLL_S = 0.005
HIDE_CURSOR, SHOW_CURSOR, ERASE_BELOW = "\x1b[?25l", "\x1b[?25h", "\x1b[J"


class Panel:
    """Draws lines in place on ``out``: each frame replaces the previous one."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.drawn = 0  # lines of the current frame; the cursor sits below them

    def draw(self, lines: list[Text], width: int) -> None:
        console = Console(file=io.StringIO(), force_terminal=True, width=max(10, width - 1), no_color="NO_COLOR" in os.environ)
        for line in lines:
            console.print(line, no_wrap=True, overflow="ellipsis", crop=True)
        frame = console.file.getvalue()  # type: ignore[attr-defined]
        self.out.write(self._up() + ERASE_BELOW + frame)
        self.out.flush()
        self.drawn = len(lines)

    def clear(self) -> None:
        self.out.write(self._up() + ERASE_BELOW)
        self.out.flush()
        self.drawn = 0

    def _up(self) -> str:
        return f"\r\x1b[{self.drawn}A" if self.drawn else "\r"


def show_panel(child: EngineProcess) -> RunModel:
    """Draw ``child``'s progress on stdout until it exits; its model (for the summary) once it has."""
    out = sys.stdout
    model = RunModel()
    woken = threading.Event()
    child.inbox.wake = woken.set
    panel = Panel(out)
    with _quiet_terminal(out):
        try:
            while not child.exited():
                child.inbox.drain_into(model)
                model.now = max(model.now, time.perf_counter())  # the engine's clock (CLOCK_MONOTONIC)
                if model.finished is None:
                    panel.draw(panel_lines(model), _width())
                    woken.wait(REDRAW_S)  # rule 1
                    woken.clear()
                else:  # the install is over: only the engine's own exit is left to wait for
                    time.sleep(EXIT_POLL_S)
        finally:
            panel.clear()
    child.inbox.drain_into(model)
    return model


def _width() -> int:
    return shutil.get_terminal_size().columns  # $COLUMNS, else the terminal's, else 80


@contextlib.contextmanager
def _quiet_terminal(out: TextIO) -> Iterator[None]:
    """Rule 3: no echo of typed keys and no cursor while the panel is up.

    Only in the terminal's foreground: a background job (`weir install &`) that
    changed the terminal's settings would be stopped by SIGTTOU.
    """
    saved = None
    with contextlib.suppress(termios.error, OSError, ValueError):
        if sys.stdin.isatty() and os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp():
            saved = termios.tcgetattr(sys.stdin.fileno())
            quiet = list(saved)
            quiet[3] &= ~termios.ECHO
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSANOW, quiet)
    out.write(HIDE_CURSOR)
    try:
        yield
    finally:
        out.write(SHOW_CURSOR)
        out.flush()
        if saved is not None:
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(sys.stdin.fileno(), termios.TCSANOW, saved)
