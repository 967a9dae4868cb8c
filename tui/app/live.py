"""``run_live``: the install inside the live view (inline panel, or the full app with --tui).

Rules this module keeps:

1. The live view must not slow the install. The engine runs in a child
   process forked before Textual is even imported, the command already
   parsed, so it starts as soon as a plain run would; it reports ndjson into
   a pipe exactly as ``--reporter ndjson`` does, and the app reads that
   stream. Rendering then never competes with the engine for the GIL, and
   Textual's start-up overlaps the install instead of preceding it. The view
   is just another consumer of the ndjson stream, like a trace file. The
   view then lowers its own CPU priority, so on a busy machine the install
   gets the cores first. For that to hold, the engine stays in the view's
   session: Linux's autogroup scheduler gives every session an equal share
   whatever its processes' nice values, so an engine in a session of its
   own (setsid) would compete with the view as an equal. It leaves the
   terminal's process group and drops the controlling terminal instead.
2. The fork happens while the process has no threads (the pipe readers
   start after it), and the child leaves through ``os._exit``: it never
   returns into the caller's stack or runs the view's exit handlers.
3. Leaving the app before the install ends (q, Ctrl-C, the terminal
   closing) sends SIGINT to the engine's process group and waits for the
   engine, so its own interruption rules apply (exit 130, lockfile
   unchanged). The group, as a terminal's Ctrl-C would: an install script
   the engine is running stops too (the engine waits for a script before it
   can act on the signal), and extraction workers ignore it. The engine's
   stderr (its error message, if any) is held while the app owns the
   terminal and printed once the app is gone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
import termios
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

import anyio

from weir.core.errors import EXIT_INTERNAL, EXIT_INTERRUPTED
from weir.core.events import Reporter, from_json
from weir.tui.app.inbox import Inbox

if TYPE_CHECKING:
    from weir.tui.app.model import RunModel

FINISHED = b'"type":"RunFinished"'  # how the last event of a finished install starts, in core's ndjson
PIPE_BYTES = 1 << 20  # Linux's default pipe buffer is 64 KiB; /proc/sys/fs/pipe-max-size allows 1 MiB


def _become_engine(out: int, err: int) -> None:
    """In the forked engine child: its own stdio, interruptible by the view, off the terminal.

    The view interrupts its engine with SIGINT, which must raise
    KeyboardInterrupt there even when weir itself was started with SIGINT
    ignored (in the background: a CI runner, `cmd &`). Its own process group
    keeps the terminal's Ctrl-C for the app, which forwards it. Dropping the
    controlling terminal (TIOCNOTTY, which unlike setsid keeps the session,
    see rule 1) means nothing the engine runs can read from or draw over the
    terminal the app owns.
    """
    os.setpgid(0, 0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    for fd, target in ((devnull, 0), (out, 1), (err, 2)):
        if fd != target:  # a pipe can get fd 0-2 when weir was started with them closed
            os.dup2(fd, target)
            os.close(fd)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with contextlib.suppress(OSError):  # no controlling terminal to drop
        tty = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
        try:
            fcntl.ioctl(tty, termios.TIOCNOTTY)
        finally:
            os.close(tty)


def _fork_engine(engine: Callable[[], int]) -> tuple[int, int, int]:
    """Fork a child that runs ``engine()`` and exits with its code; (pid, stdout fd, stderr fd)."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    with contextlib.suppress(OSError, AttributeError):  # Linux only: room for a large install's whole event stream
        fcntl.fcntl(out_w, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # rule 2
        code = EXIT_INTERNAL
        try:
            os.close(out_r)
            os.close(err_r)
            _become_engine(out_w, err_w)
            code = engine()
        except BaseException:  # noqa: BLE001 - the child must reach os._exit whatever happens
            traceback.print_exc()
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
    os.close(out_w)
    os.close(err_w)
    with contextlib.suppress(OSError):  # also set here: a Ctrl-C right after the fork must not reach it
        os.setpgid(pid, pid)
    return pid, out_r, err_r


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
    """The forked engine; its events land in a LineInbox, its stderr in a buffer."""

    def __init__(self, engine: Callable[[], int]) -> None:
        self.inbox = LineInbox()
        self.stderr = bytearray()
        self.returncode: int | None = None
        self.pid, out, err = _fork_engine(engine)
        _yield_to_engine()  # before the reader threads start: they inherit it
        self._readers = [
            threading.Thread(target=self._read_events, args=(os.fdopen(out, "rb"),), daemon=True),
            threading.Thread(target=self._read_stderr, args=(err,), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_events(self, stream: BinaryIO) -> None:
        append = self.inbox.lines.append
        with stream:
            for line in stream:
                if line.strip():
                    append(line)
                    if FINISHED in line:  # the install is over: the summary need not wait for the next tick
                        self.inbox.wake()

    def _read_stderr(self, fd: int) -> None:
        while chunk := os.read(fd, 65536):
            self.stderr.extend(chunk)
        os.close(fd)

    def poll(self) -> int | None:
        """The engine's exit code once it has exited (negative: the signal that ended it)."""
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def exited(self) -> bool:
        """Whether the engine has exited and its event stream is drained."""
        return self.poll() is not None and not self._readers[0].is_alive()

    async def wait(self, _reporter: Reporter) -> int:
        """The app's driver: resolves when the engine has exited and its stream is drained."""
        while not self.exited():
            await anyio.sleep(0.02)
        assert self.returncode is not None
        return self.returncode

    def interrupt_and_join(self) -> int:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # rule 3: as a terminal's Ctrl-C, to the engine's whole group
                os.killpg(self.pid, signal.SIGINT)
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        for reader in self._readers:
            reader.join(5)
        assert self.returncode is not None
        return self.returncode


def run_live(engine: Callable[[], int], *, full: bool, title: str) -> int:
    """Run ``engine`` (an install reporting ndjson on stdout) under the live view; its exit code.

    ``full=False``: the inline panel (``weir.tui.report.inline``), which gives way to
    the summary line when the install ends. ``full=True``: the full-screen
    app, which stays open when the install ends, its Live screen showing the
    summary (q quits).
    """
    child = EngineProcess(engine)
    signal.signal(signal.SIGHUP, signal.default_int_handler)  # the terminal closed: stop as on Ctrl-C
    model: RunModel | None = None  # once the view has seen the engine exit on its own
    try:
        model = _show_app(child, title) if full else _show_panel(child)
    except KeyboardInterrupt:
        pass  # Ctrl-C outside the app (the panel, or before the app owned the terminal): the engine is interrupted below, and says so
    finally:
        code = child.interrupt_and_join()
        with contextlib.suppress(OSError):  # no terminal left to print on
            sys.stderr.write(child.stderr.decode(errors="replace"))
            sys.stderr.flush()
    if model is None or code < 0:
        return EXIT_INTERRUPTED
    if not full and code == 0:
        from weir.tui.report.plain import summary

        print(summary(model.statistics(), model.elapsed), file=sys.stdout, flush=True)
    return code


def _show_app(child: EngineProcess, title: str) -> RunModel | None:
    """The full-screen app until q; its model if the engine had ended on its own by then."""
    from weir.tui.app.app import WeirApp  # after the engine started: Textual's import overlaps it

    app = WeirApp(
        driver=child.wait,
        clock=time.perf_counter,  # the engine's event stamps: CLOCK_MONOTONIC, shared across processes
        title=title,
        inbox=child.inbox,
    )
    app.run()
    return app.model if app.done else None


def _show_panel(child: EngineProcess) -> RunModel:
    from weir.tui.report.inline import show_panel  # after the engine started, as Textual: rich's import overlaps it

    return show_panel(child)


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
