"""Run one command and measure it: wall, user, sys, peak RSS, network, disk.

Rules:
- CPU time and peak RSS come from GNU time (``/usr/bin/time -v``); without it
  the harness refuses to run and says how to get it (Debian package ``time``).
- Wall time is the harness's own monotonic clock around the child.
- Network bytes are the /proc/net/dev receive deltas: loopback apart from the
  rest, so a tool that bypasses the mirror shows up. They are machine-wide:
  other processes' traffic counts too.
- Disk use counts each inode once (pnpm/bun hardlink out of their stores).
- With a pseudo-terminal the child's stdin/stdout/stderr are the pty's slave
  and its output is drained and dropped, as a terminal would show it. A
  full-screen app that stays open when done is quit by typing ``q`` the
  moment its ``quit_on`` marker appears on the screen.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import struct
import subprocess
import tempfile
import termios
import threading
import time
from dataclasses import dataclass
from pathlib import Path

GNU_TIME = Path("/usr/bin/time")
DROP_CACHES = Path("/proc/sys/vm/drop_caches")
STDERR_TAIL = 2000


class MissingGnuTime(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Measured:
    exit_code: int
    wall: float
    user: float
    sys: float
    max_rss_kb: int
    net_lo_rx: int
    net_ext_rx: int
    output_tail: str  # last characters of stdout+stderr, for failures


@dataclass(frozen=True, slots=True)
class DiskUse:
    bytes: int
    files: int


def require_gnu_time() -> None:
    if not GNU_TIME.is_file():
        raise MissingGnuTime(
            f"{GNU_TIME} is missing: the benchmark needs GNU time for CPU time and peak RSS. "
            "Install it with: apt-get update && apt-get install -y time"
        )


def net_rx() -> tuple[int, int]:
    """(loopback, everything else) bytes received so far, from /proc/net/dev."""
    lo = ext = 0
    for line in Path("/proc/net/dev").read_text().splitlines()[2:]:
        iface, _, counters = line.partition(":")
        received = int(counters.split()[0])
        if iface.strip() == "lo":
            lo += received
        else:
            ext += received
    return lo, ext


def parse_gnu_time(text: str) -> tuple[float, float, int]:
    """(user s, sys s, max RSS KiB) from ``time -v`` output."""

    def field(label: str) -> str:
        match = re.search(rf"^\s*{re.escape(label)}: (.+)$", text, re.MULTILINE)
        if match is None:
            raise ValueError(f"GNU time output has no {label!r}")
        return match.group(1).strip()

    return (
        float(field("User time (seconds)")),
        float(field("System time (seconds)")),
        int(field("Maximum resident set size (kbytes)")),
    )


def drop_caches() -> str | None:
    """Flush and drop the page cache; the reason it could not, else None."""
    os.sync()
    try:
        DROP_CACHES.write_text("3\n")
    except OSError as exc:
        return f"{DROP_CACHES} is not writable ({exc.strerror}); page cache NOT dropped"
    return None


def _drain(fd: int, sink: bytearray, quit_on: bytes | None, seen_at: list[float]) -> None:
    window = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO once the last slave closes
            return
        if not chunk:
            return
        sink.extend(chunk)
        del sink[:-STDERR_TAIL]
        if quit_on is not None:
            window = window[-len(quit_on):] + chunk
            if quit_on in window:
                seen_at.append(time.perf_counter())
                os.write(fd, b"q")
                quit_on = None


def run(cmd: list[str], cwd: Path, env: dict[str, str], pty: bool = False,
        quit_on: bytes | None = None, timeout: float = 1800) -> Measured:
    """One measured run. With ``quit_on`` (a view that stays open when the work is
    done), ``wall`` is the time until that text appeared, then ``q`` is typed."""
    require_gnu_time()
    with tempfile.NamedTemporaryFile("r", prefix="bench-time-", suffix=".txt") as report:
        full = [str(GNU_TIME), "-v", "-o", report.name, *cmd]
        output = bytearray()
        lo0, ext0 = net_rx()
        start = time.perf_counter()
        if pty:
            master, slave = os.openpty()
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
            proc = subprocess.Popen(full, cwd=cwd, env=env, stdin=slave, stdout=slave,
                                    stderr=slave, start_new_session=True)
            os.close(slave)
            seen_at: list[float] = []
            reader = threading.Thread(target=_drain, args=(master, output, quit_on, seen_at),
                                      daemon=True)
            reader.start()
            try:
                code = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            wall = time.perf_counter() - start
            reader.join(5)
            os.close(master)
            if seen_at:  # a view that stays open: the install ended when its summary showed
                wall = seen_at[0] - start
        else:
            try:
                done = subprocess.run(full, check=False, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      timeout=timeout)
                code, output[:] = done.returncode, done.stdout[-STDERR_TAIL:]
            except subprocess.TimeoutExpired as exc:
                code, output[:] = -9, (exc.output or b"")[-STDERR_TAIL:] + b"\n(timed out)"
            wall = time.perf_counter() - start
        lo1, ext1 = net_rx()
        try:
            user, sys_, rss = parse_gnu_time(Path(report.name).read_text())
        except ValueError:
            user, sys_, rss = 0.0, 0.0, 0
    return Measured(code, wall, user, sys_, rss, lo1 - lo0, ext1 - ext0,
                    output.decode(errors="replace"))


def disk_use(root: Path) -> DiskUse:
    """Allocated bytes and regular files under ``root``, each inode once."""
    seen: set[tuple[int, int]] = set()
    total = files = 0
    stack = [root]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
                continue
            st = entry.stat(follow_symlinks=False)
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
            files += entry.is_file(follow_symlinks=False)
    return DiskUse(total, files)


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
