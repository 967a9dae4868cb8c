"""The live view on a real pseudo-terminal: `weir install` as a user at a terminal runs it.

The view runs the install as a child process and reads its event stream;
these tests drive the real command under a pty against the loopback registry.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from loopback import LoopbackRegistry


class Terminal:
    """A child process on a 120x36 pseudo-terminal whose screen output is collected."""

    opened: list[Terminal] = []  # noqa: RUF012 - closed after each test by close_terminals

    def __init__(self, args: list[str], cwd: Path, wrapper: tuple[str, ...] = ()) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR")}
        env.update(TERM="xterm-256color", COLUMNS="120", LINES="36")
        self.proc = subprocess.Popen(
            [*wrapper, sys.executable, "-m", "weir.tui.cli.main", *args],
            cwd=cwd,
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),  # the pty is its controlling terminal, as in a real one
        )
        os.close(slave)
        Terminal.opened.append(self)
        self.master = master
        self.output = bytearray()
        self._hung_up = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._hung_up.is_set():
            if not select.select([self.master], [], [], 0.05)[0]:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output.extend(chunk)

    def wait_for(self, text: bytes, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            assert self.proc.poll() is None or text in self.output, f"exited before {text!r}:\n{self.text()[-2000:]}"
            assert time.monotonic() < deadline, f"never saw {text!r}:\n{self.text()[-2000:]}"
            time.sleep(0.05)

    def press(self, key: bytes) -> None:
        os.write(self.master, key)

    def hang_up(self) -> None:
        """What closing the terminal window does: the pty goes away and the kernel sends SIGHUP."""
        self._hung_up.set()
        self._reader.join(5)  # a read blocked on the master would keep the pty open
        os.close(self.master)  # the kernel hangs up the terminal's session: SIGHUP
        self.master = -1

    def finish(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        if self.master >= 0:
            os.close(self.master)
        return code

    def text(self) -> str:
        return self.output.decode(errors="replace")


@pytest.fixture(autouse=True)
def close_terminals() -> Iterator[None]:
    """A failed test must not leave a dashboard (and its engine) running: hang up as a closed window does."""
    yield
    while Terminal.opened:
        proc = Terminal.opened.pop().proc
        if proc.poll() is None:
            proc.send_signal(signal.SIGHUP)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def app(small_graph: LoopbackRegistry, project: Callable[..., Path]) -> Path:
    return project({"name": "app", "version": "1.0.0", "dependencies": {"a": "^1.0.0", "tool": "^1.0.0"}})


def _flags(registry: LoopbackRegistry, cache: Path) -> list[str]:
    return ["--registry", registry.url, "--cache", str(cache)]


def test_full_dashboard_installs_then_stays_open_until_q(app: Path, cache_dir: Path, small_graph: LoopbackRegistry) -> None:
    term = Terminal(["install", "--tui", *_flags(small_graph, cache_dir)], app)
    term.wait_for(b"Where to look next")  # the Summary screen: the install is done, the view stays
    assert term.proc.poll() is None
    assert (app / "node_modules" / ".package-lock.json").is_file()
    term.press(b"q")
    assert term.finish() == 0
    lock = json.loads((app / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/b/node_modules/c"]["version"] == "1.1.0"


def test_inline_view_exits_with_the_install_and_leaves_a_summary(app: Path, cache_dir: Path, small_graph: LoopbackRegistry) -> None:
    term = Terminal(["install", *_flags(small_graph, cache_dir)], app)
    assert term.finish() == 0, term.text()[-2000:]
    assert "linked 6 (" in term.text()
    assert (app / "node_modules" / "a" / "package.json").is_file()


@pytest.mark.parametrize("key", [b"q", b"\x03"], ids=["q", "ctrl-c"])
def test_quitting_mid_install_interrupts_it_and_loses_nothing(app: Path, cache_dir: Path, small_graph: LoopbackRegistry, key: bytes) -> None:
    small_graph.fault(lambda r: r.path.endswith(".tgz"), "delay", seconds=30, times=None)
    term = Terminal(["install", "--tui", *_flags(small_graph, cache_dir)], app)
    term.wait_for(b"tarball")  # a download in the jobs table, held by the registry
    term.press(key)
    assert term.finish() == 130
    assert "package-lock.json is unchanged" in term.text()
    assert not (app / "package-lock.json").exists()
    assert not (app / "node_modules" / ".package-lock.json").exists()


def test_ctrl_c_in_the_inline_panel_interrupts_and_gives_the_terminal_back(app: Path, cache_dir: Path, small_graph: LoopbackRegistry) -> None:
    """The panel keeps the terminal's own Ctrl-C (no raw mode): the view interrupts the engine,
    and typed keys echo again afterwards, with the cursor shown."""
    small_graph.fault(lambda r: r.path.endswith(".tgz"), "delay", seconds=30, times=None)
    term = Terminal(["install", *_flags(small_graph, cache_dir)], app)
    term.wait_for(b"tarball")  # a download in the panel's jobs, held by the registry
    assert not termios.tcgetattr(term.master)[3] & termios.ECHO  # keys typed now would scroll the panel
    term.press(b"\x03")
    term.proc.wait(60)
    assert termios.tcgetattr(term.master)[3] & termios.ECHO  # typed keys echo again
    assert term.finish() == 130
    assert "package-lock.json is unchanged" in term.text()
    assert term.output.rfind(b"\x1b[?25h") > term.output.rfind(b"\x1b[?25l")  # the cursor is back
    assert not (app / "package-lock.json").exists()


# A job-control shell in miniature: it owns the terminal's foreground and runs its command
# in a process group of its own, as `weir install &` runs.
BACKGROUND_JOB = (
    sys.executable,
    "-c",
    "import os, subprocess, sys; sys.exit(subprocess.Popen(sys.argv[1:], preexec_fn=lambda: os.setpgid(0, 0)).wait())",
)


def test_the_inline_panel_in_a_background_job_runs_to_the_end(app: Path, cache_dir: Path, small_graph: LoopbackRegistry) -> None:
    """Changing the terminal's settings from outside its foreground would get weir stopped
    (SIGTTOU) until the user brings it back with `fg`; the panel leaves them alone there."""
    term = Terminal(["install", *_flags(small_graph, cache_dir)], app, wrapper=BACKGROUND_JOB)
    assert term.finish(timeout=30) == 0, term.text()[-2000:]
    assert "linked 6 (" in term.text()
    assert (app / "node_modules" / ".package-lock.json").is_file()


def test_closing_the_terminal_mid_install_interrupts_it_and_loses_nothing(app: Path, cache_dir: Path, small_graph: LoopbackRegistry) -> None:
    small_graph.fault(lambda r: r.path.endswith(".tgz"), "delay", seconds=30, times=None)
    term = Terminal(["install", "--tui", *_flags(small_graph, cache_dir)], app)
    term.wait_for(b"tarball")
    engines = subprocess.run(["pgrep", "-P", str(term.proc.pid)], capture_output=True, text=True).stdout.split()
    assert len(engines) == 1
    term.hang_up()
    assert term.finish() == 130
    assert not Path("/proc", engines[0]).exists()  # the engine was interrupted and waited for, not orphaned
    assert not (app / "package-lock.json").exists()
    assert not (app / "node_modules" / ".package-lock.json").exists()


def test_an_install_error_is_printed_after_the_view_closes(project: Callable[..., Path], cache_dir: Path, registry: LoopbackRegistry) -> None:
    app = project({"name": "app", "version": "1.0.0", "dependencies": {"missing-pkg": "^1.0.0"}})
    term = Terminal(["install", *_flags(registry, cache_dir)], app)
    assert term.finish() == 4
    assert "missing-pkg" in term.text()
    assert "E404" in term.text()


def test_a_trace_under_the_dashboard_records_the_whole_install(app: Path, cache_dir: Path, small_graph: LoopbackRegistry) -> None:
    trace = app / "install.ndjson"
    term = Terminal(["install", "--tui", "--trace", str(trace), *_flags(small_graph, cache_dir)], app)
    term.wait_for(b"Where to look next")
    term.press(b"q")
    assert term.finish() == 0
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    assert events[0]["type"] == "RunStarted"
    assert events[-1] == {**events[-1], "type": "RunFinished", "ok": True, "exit_code": 0}
    assert sum(e["type"] == "Linked" for e in events) == 6


def test_an_install_script_s_output_shows_while_it_runs_and_q_stops_it(
    project: Callable[..., Path], cache_dir: Path, small_graph: LoopbackRegistry
) -> None:
    """A long root postinstall: its output is in the log as it prints (the engine's loop is
    blocked while a script runs, so no flush timer could send it), and q stops the script
    at once, as Ctrl-C at a terminal would, instead of waiting for it to end."""
    app = project(
        {
            "name": "app",
            "version": "1.0.0",
            "dependencies": {"a": "^1.0.0"},
            "scripts": {"postinstall": "echo compiling-the-native-addon; sleep 120"},
        }
    )
    term = Terminal(["install", "--tui", *_flags(small_graph, cache_dir)], app)
    term.wait_for(b"compiling-the-native-addon", timeout=30)
    term.press(b"q")
    assert term.finish(timeout=20) == 130
    assert "package-lock.json is unchanged" in term.text()
    assert not (app / "package-lock.json").exists()
    assert not (app / "node_modules" / ".package-lock.json").exists()
