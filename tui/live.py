"""``run_live``: the install inside the live view (inline panel, or the full app with --tui).

Rules this module keeps:

1. The live view must not slow the install. The engine runs in a child
   process (the same `weir` command with ``--reporter ndjson``), started
   before Textual is even imported; the app reads its event stream from a
   pipe. Rendering then never competes with the engine for the GIL, and
   Textual's start-up overlaps the install instead of preceding it. The view
   is just another consumer of the ndjson stream, like a trace file. The
   view then lowers its own CPU priority, so on a busy machine the install
   gets the cores first. For that to hold, the engine stays in the view's
   session: Linux's autogroup scheduler gives every session an equal share
   whatever its processes' nice values, so an engine in a session of its
   own (setsid) would compete with the view as an equal. It leaves the
   terminal's process group and drops the controlling terminal instead.
2. Leaving the app before the install ends (q, Ctrl-C) sends the engine
   SIGINT and waits for it, so its own interruption rules apply (exit 130,
   lockfile unchanged). The engine's stderr (its error message, if any) is
   held while the app owns the terminal and printed once the app is gone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import termios
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio

from weir.core.errors import EXIT_INTERRUPTED
from weir.core.events import Reporter, from_json
from weir.tui.inbox import Inbox

if TYPE_CHECKING:
    from weir.tui.model import RunModel

FINISHED = b'"type":"RunFinished"'  # how the last event of a finished install starts, in core's ndjson
PIPE_BYTES = 1 << 20  # Linux's default pipe buffer is 64 KiB; /proc/sys/fs/pipe-max-size allows 1 MiB


def engine_argv(argv: Sequence[str]) -> list[str]:
    """The same command, minus the view flags, reporting ndjson on stdout."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--tui":
            continue
        if arg == "--reporter":
            skip = True
            continue
        if arg.startswith("--reporter="):
            continue
        out.append(arg)
    return [*out, "--reporter", "ndjson"]


def _engine_child() -> None:
    """In the engine child, before exec: interruptible by the view, and off the terminal.

    Python installs its SIGINT handler only when SIGINT is at its default at
    start-up, and a process started in the background (a CI runner, `cmd &`)
    inherits SIGINT ignored; the view interrupts its engine with SIGINT, so
    reset it. Dropping the controlling terminal (TIOCNOTTY, which unlike
    setsid keeps the session, see rule 1) means nothing the engine runs can
    read from or draw over the terminal the app owns.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    with contextlib.suppress(OSError):  # no controlling terminal to drop
        tty = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
        try:
            fcntl.ioctl(tty, termios.TIOCNOTTY)
        finally:
            os.close(tty)


class LineInbox(Inbox):
    """The engine's ndjson lines, queued raw by the pipe reader and decoded on the UI's timer.

    The reader thread does nothing but move bytes, so the pipe drains as fast
    as the engine writes: an engine blocked on a full pipe would be the view
    slowing the install, which rule 1 forbids.
    """

    def __init__(self) -> None:
        super().__init__()
        self.lines: deque[bytes] = deque()

    def drain_into(self, model: RunModel) -> None:
        lines = self.lines
        while lines:
            try:
                self.pending.append(from_json(lines.popleft()))
            except ValueError:
                continue  # not an event (cannot happen with our own child; never fatal)
        super().drain_into(model)


class EngineProcess:
    """`weir … --reporter ndjson` as a child; its events land in a LineInbox."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.inbox = LineInbox()
        self.stderr = bytearray()
        env = dict(os.environ)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "weir.tui.cli", *engine_argv(argv)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            process_group=0,  # the terminal's Ctrl-C goes to the app, which forwards it
            preexec_fn=_engine_child,
        )
        _yield_to_engine()  # before the reader threads start: they inherit it
        assert self.proc.stdout is not None
        with contextlib.suppress(OSError, AttributeError):  # Linux only: room for a large install's whole event stream
            fcntl.fcntl(self.proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        self._readers = [
            threading.Thread(target=self._read_events, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_events(self) -> None:
        assert self.proc.stdout is not None
        append = self.inbox.lines.append
        for line in self.proc.stdout:
            if line.strip():
                append(line)
                if FINISHED in line:  # the install is over: the summary need not wait for the next tick
                    self.inbox.wake()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for chunk in iter(lambda: self.proc.stderr.read1(65536), b""):  # type: ignore[union-attr]
            self.stderr.extend(chunk)

    async def wait(self, _reporter: Reporter) -> int:
        """The app's driver: resolves when the engine has exited and its stream is drained."""
        while self.proc.poll() is None or self._readers[0].is_alive():
            await anyio.sleep(0.02)
        return self.proc.returncode

    def interrupt_and_join(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        self.proc.wait()
        for reader in self._readers:
            reader.join(5)


def run_live(argv: Sequence[str], *, full: bool, title: str) -> int:
    """Run the install described by ``argv`` under the live view; return its exit code.

    ``full=False``: an inline panel that exits with the install and leaves the
    summary line in the scrollback. ``full=True``: the full-screen app, which
    stays open on the Summary screen when the install ends (q quits).
    """
    engine = EngineProcess(argv)
    from weir.tui.app import WeirApp  # after the engine started: Textual's import overlaps it
    from weir.tui.plain import summary

    app = WeirApp(
        driver=engine.wait,
        mode="live" if full else "compact",
        exit_when_done=not full,
        clock=time.perf_counter,  # the engine's event stamps: CLOCK_MONOTONIC, shared across processes
        title=title,
        inbox=engine.inbox,
    )
    try:
        app.run(inline=not full)
    finally:
        engine.interrupt_and_join()
        sys.stderr.write(engine.stderr.decode(errors="replace"))
        sys.stderr.flush()
    code = engine.proc.returncode
    if code < 0 or not app.done:
        return EXIT_INTERRUPTED
    if not full and code == 0:
        print(summary(app.model.statistics(), app.model.elapsed), file=sys.stdout, flush=True)
    return code


def _yield_to_engine() -> None:
    """Lower the view's own CPU priority (the engine, already started, keeps its own).

    On a machine with few cores the install and the view compete for CPU; the
    install is the work the user asked for, the view is best-effort. The view
    still gets every idle cycle, so it stays responsive. Linux applies nice to
    the calling thread and the threads it starts afterwards, so this runs
    before the view starts any.
    """
    try:
        os.nice(10)
    except OSError:
        pass
