"""Plain-text reporter: what weir prints off a terminal, in CI, or with ``--reporter plain``.

Rules this module keeps:

1. One line per thing worth a human's attention: a phase starting, a warning,
   a request slower than ``SLOW_REQUEST_S``, a failure. Progress counters are
   not printed line by line (a log of 800 "fetched x" lines helps nobody);
   they appear once, in the summary line.
2. Lines carry words, never colour or cursor movement, so logs stay greppable.
3. ``summary`` is a pure function of a ``Statistics`` snapshot, so the live
   view can leave the same line in the scrollback.
"""

from __future__ import annotations

from typing import TextIO

from weir.core import events as ev
from weir.core.stats import Statistics, Tally

SLOW_REQUEST_S = 2.0


def human_bytes(n: float) -> str:
    """Decimal units, as npm and browsers show download sizes."""
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def request_seconds(e: ev.RequestFinished) -> float:
    return (e.queued_ms + e.connect_ms + e.tls_ms + e.first_byte_ms + e.body_ms) / 1000


def summary(stats: Statistics, elapsed: float, *, up_to_date: bool = False) -> str:
    """The final line: ``resolved 812 (700 hit, 90 revalidated, 22 miss) · downloaded 44 MB · ...``;
    ``up_to_date`` (node_modules needed no change) leads it with npm's words for that."""
    cache = ", ".join(
        f"{getattr(stats, word)} {word}"
        for word in ("hit", "stale", "revalidated", "updated", "miss")
        if getattr(stats, word)
    )
    parts = []
    if stats.resolved or cache:  # an install from package-lock.json resolves nothing
        parts.append(f"resolved {stats.resolved}" + (f" ({cache})" if cache else ""))
    parts.append(f"downloaded {human_bytes(stats.bytes_downloaded)}")
    if stats.linked or stats.tarballs_cached or stats.tarballs_downloaded:  # --lockfile-only links nothing
        parts.append(f"linked {stats.linked}" + (f" ({stats.link_mode})" if stats.link_mode else ""))
    if stats.removed:
        parts.append(f"removed {stats.removed}")
    if stats.retries:
        parts.append(f"{stats.retries} {'retry' if stats.retries == 1 else 'retries'}")
    if stats.warnings:
        parts.append(f"{stats.warnings} {'warning' if stats.warnings == 1 else 'warnings'}")
    if stats.errors:
        parts.append(f"{stats.errors} {'error' if stats.errors == 1 else 'errors'}")
    return ("up to date · " if up_to_date else "") + " · ".join(parts) + f" in {elapsed:.1f} s"


def approve_command(blocked: list[ev.ScriptsBlocked]) -> str:
    """The command that allows every blocked package (their names, without versions)."""
    names = dict.fromkeys(b.package.rpartition("@")[0] if b.package.rfind("@") > 0 else b.package for b in blocked)
    return "weir approve-scripts " + " ".join(names)


def blocked_lines(blocked: list[ev.ScriptsBlocked]) -> list[str]:
    """The end-of-install list of packages whose install scripts did not run, and how to allow them."""
    if not blocked:
        return []
    count = len(blocked)
    lines = [f"{count} {'package has' if count == 1 else 'packages have'} install scripts that did not run (not in allowScripts):"]
    lines += [f"  {b.package} ({', '.join(b.events)})" for b in blocked]
    lines.append(f"review them, then run `{approve_command(blocked)}` to allow (or `weir install-scripts deny NAME`)")
    return lines


class PlainReporter(ev.Reporter):
    """Writes plain lines to ``stream``; ends with the summary line when the run finishes."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tally = Tally()
        self.blocked: list[ev.ScriptsBlocked] = []
        self.link_changes: int | None = None  # from LinkPlanned; None when nothing was linked

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Print the blocked-scripts list once: at RunFinished for an install, or when a command
        with no RunFinished (``weir rebuild``) is done."""
        for line in blocked_lines(self.blocked):
            self._line(line)
        self.blocked.clear()

    def event(self, e: ev.Event) -> None:
        self.tally.event(e)
        if isinstance(e, ev.PhaseStarted):
            self._line(f"{e.phase}…")
        elif isinstance(e, ev.Warned):
            self._line(f"warn {e.code}" + (f" {e.package}" if e.package else "") + f": {e.message}")
        elif isinstance(e, ev.RequestFinished) and request_seconds(e) >= SLOW_REQUEST_S:
            self._line(
                f"slow request: {e.url} took {request_seconds(e):.1f} s on {e.host} "
                f"(connect {e.connect_ms:.0f} ms, TLS {e.tls_ms:.0f} ms, "
                f"first byte {e.first_byte_ms:.0f} ms, body {e.body_ms:.0f} ms)"
            )
        elif isinstance(e, ev.RequestRetried):
            self._line(f"retry {e.url}: {e.reason} (attempt {e.attempt}, next in {e.delay:.2f} s)")
        elif isinstance(e, ev.ScriptsBlocked):
            self.blocked.append(e)
        elif isinstance(e, ev.LinkPlanned):
            self.link_changes = e.packages
        # ev.Failed is not printed: the CLI prints every error once, whatever the reporter.
        elif isinstance(e, ev.LogLine) and e.level == "error":
            self._line(f"error: {e.message}")
        elif isinstance(e, ev.RunFinished):
            self.close()
            # a full install that changed nothing in node_modules says so, as npm's "up to date"
            stats = self.tally.statistics()
            self._line(summary(stats, e.elapsed, up_to_date=self.link_changes == 0 and not stats.removed))
