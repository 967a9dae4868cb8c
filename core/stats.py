"""Counters derived from the event stream, read as immutable snapshots.

Why a reporter and not counters sprinkled through the engine: the same tally
then works on a live install and on a replayed trace, so a replay ends with
exactly the counters the install had. Consumers poll ``statistics()`` at
their own rate (the live view at 10-20 Hz) instead of being pushed every
event (trio's ``statistics()`` idea).
"""

from __future__ import annotations

from dataclasses import dataclass

from weir.core import events as ev


@dataclass(frozen=True, slots=True)
class Statistics:
    resolved: int = 0
    hit: int = 0
    stale: int = 0
    revalidated: int = 0
    updated: int = 0
    miss: int = 0
    requests: int = 0
    retries: int = 0
    errors: int = 0
    warnings: int = 0
    bytes_downloaded: int = 0
    tarballs_downloaded: int = 0
    tarballs_cached: int = 0
    extracted: int = 0
    linked: int = 0
    files_linked: int = 0
    removed: int = 0
    scripts_ran: int = 0
    scripts_blocked: int = 0
    jobs_in_flight: int = 0
    queue_demand: int = 0
    queue_prefetch: int = 0
    link_mode: str = ""
    phase: str = ""
    elapsed: float = 0.0


_CACHE_FIELDS = ("hit", "stale", "revalidated", "updated", "miss")


class Tally(ev.Reporter):
    """Counts events; ``statistics()`` returns a frozen snapshot."""

    def __init__(self) -> None:
        self._c: dict[str, int | float | str] = {f: getattr(Statistics(), f) for f in Statistics.__slots__}
        self._started: float | None = None
        self._in_flight: set[int] = set()

    def event(self, e: ev.Event) -> None:  # noqa: C901 - one branch per event type is the clearest form
        c = self._c
        if self._started is None:
            self._started = e.at
        c["elapsed"] = e.at - self._started
        if isinstance(e, ev.JobStarted):
            self._in_flight.add(e.job_id)
        elif isinstance(e, ev.JobFinished):
            self._in_flight.discard(e.job_id)
            if e.kind == "manifest" and e.cache_status in _CACHE_FIELDS:
                c[e.cache_status] = int(c[e.cache_status]) + 1
            # A failed job is not yet an error: an optional dependency's 404 is
            # skipped (a warning), a download is retried; errors count Failed only.
        elif isinstance(e, ev.RequestFinished):
            c["requests"] = int(c["requests"]) + 1
            c["bytes_downloaded"] = int(c["bytes_downloaded"]) + e.bytes
        elif isinstance(e, ev.RequestRetried):
            c["retries"] = int(c["retries"]) + 1
        elif isinstance(e, ev.VersionPinned):
            c["resolved"] = int(c["resolved"]) + 1
        elif isinstance(e, ev.TarballFetched):
            key = "tarballs_cached" if e.from_cache else "tarballs_downloaded"
            c[key] = int(c[key]) + 1
        elif isinstance(e, ev.Extracted):
            c["extracted"] = int(c["extracted"]) + 1
        elif isinstance(e, ev.Linked):
            c["linked"] = int(c["linked"]) + 1
            c["files_linked"] = int(c["files_linked"]) + e.files
            c["link_mode"] = e.mode if e.mode != "symlink" else c["link_mode"]
        elif isinstance(e, ev.Removed):
            c["removed"] = int(c["removed"]) + 1
        elif isinstance(e, ev.ScriptRan):
            c["scripts_ran"] = int(c["scripts_ran"]) + 1
        elif isinstance(e, ev.ScriptsBlocked):
            c["scripts_blocked"] = int(c["scripts_blocked"]) + 1
        elif isinstance(e, ev.Warned):
            c["warnings"] = int(c["warnings"]) + 1
        elif isinstance(e, ev.Failed):
            c["errors"] = int(c["errors"]) + 1
        elif isinstance(e, ev.QueueDepth):
            c["queue_demand"] = e.demand
            c["queue_prefetch"] = e.prefetch
        elif isinstance(e, ev.PhaseStarted):
            c["phase"] = e.phase
        c["jobs_in_flight"] = len(self._in_flight)

    def statistics(self) -> Statistics:
        return Statistics(**self._c)  # type: ignore[arg-type]
