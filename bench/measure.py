"""Run one command and measure it: wall, CPU, memory, scheduling, network, disk.

Rules:
- CPU time, peak RSS, minor page faults and voluntary/involuntary context
  switches come from GNU time (``/usr/bin/time -v``, which sums the whole
  process tree); without it the harness refuses to run and says how to get
  it (Debian package ``time``).
- Wall time is the harness's own monotonic clock around the child.
- Network bytes are the /proc/net/dev deltas, received and sent: loopback
  apart from the rest, so a tool that bypasses the mirror shows up. They are
  machine-wide: other processes' traffic counts too.
- A run that outlives its timeout is killed with its whole process group
  (a package manager's workers must not go on loading the next run).
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
import signal
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
    cpu: CpuUse
    net: NetUse
    output_tail: str  # last characters of stdout+stderr, for failures


@dataclass(frozen=True, slots=True)
class CpuUse:
    """What GNU time reports for the process tree."""

    user: float
    sys: float
    max_rss_kb: int
    minor_faults: int
    voluntary_switches: int
    involuntary_switches: int


@dataclass(frozen=True, slots=True)
class NetUse:
    """Bytes through the network interfaces during one run (machine-wide)."""

    lo_rx: int
    ext_rx: int
    ext_tx: int


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


NO_CPU = CpuUse(0.0, 0.0, 0, 0, 0, 0)


def net_counters() -> NetUse:
    """Bytes received on loopback, and received and sent elsewhere, so far (/proc/net/dev)."""
    lo_rx = ext_rx = ext_tx = 0
    for line in Path("/proc/net/dev").read_text().splitlines()[2:]:
        iface, _, counters = line.partition(":")
        fields = counters.split()
        if iface.strip() == "lo":
            lo_rx += int(fields[0])
        else:
            ext_rx += int(fields[0])
            ext_tx += int(fields[8])
    return NetUse(lo_rx, ext_rx, ext_tx)


def net_delta(before: NetUse, after: NetUse) -> NetUse:
    return NetUse(after.lo_rx - before.lo_rx, after.ext_rx - before.ext_rx,
                  after.ext_tx - before.ext_tx)


def parse_gnu_time(text: str) -> CpuUse:
    """CPU, peak RSS, minor faults and context switches from ``time -v`` output."""

    def field(label: str) -> str:
        match = re.search(rf"^\s*{re.escape(label)}: (.+)$", text, re.MULTILINE)
        if match is None:
            raise ValueError(f"GNU time output has no {label!r}")
        return match.group(1).strip()

    return CpuUse(
        float(field("User time (seconds)")),
        float(field("System time (seconds)")),
        int(field("Maximum resident set size (kbytes)")),
        int(field("Minor (reclaiming a frame) page faults")),
        int(field("Voluntary context switches")),
        int(field("Involuntary context switches")),
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
        net0 = net_counters()
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
                os.killpg(proc.pid, signal.SIGKILL)
                code = proc.wait()
            wall = time.perf_counter() - start
            reader.join(5)
            os.close(master)
            if seen_at:  # a view that stays open: the install ended when its summary showed
                wall = seen_at[0] - start
        else:
            code, output[:] = _run_piped(full, cwd, env, timeout)
            wall = time.perf_counter() - start
        net = net_delta(net0, net_counters())
        try:
            cpu = parse_gnu_time(Path(report.name).read_text())
        except ValueError:
            cpu = NO_CPU
    return Measured(code, wall, cpu, net, output.decode(errors="replace"))


def _run_piped(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[int, bytes]:
    """(exit code, output tail); past ``timeout`` the whole process group is killed."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out[-STDERR_TAIL:]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return -9, out[-STDERR_TAIL:] + f"\n(timed out after {timeout:.0f} s; killed)".encode()


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
