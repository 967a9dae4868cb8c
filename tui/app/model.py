"""The view model: everything the screens show, folded from the event stream.

Rules this module keeps:

1. ``RunModel`` is a Reporter and does O(1) work per event (dict and deque
   updates, a bounded heap), so feeding it never slows the install. Screens
   never react to single events; the app polls the model at 10 Hz and redraws
   only when ``version`` moved (coalescing for free).
2. Every number derives from events and their ``at`` values, never from the
   wall clock: "now" is the latest event's ``at`` unless a driver (the live
   app, a replay) advances it. A replay therefore shows exactly what the
   install showed, and tests and screenshots are deterministic.
3. No Textual here: the model is plain data so tests can read it directly.
4. A phase the engine runs inside another has no phase events of its own:
   extraction runs in workers while tarballs download, within ``fetch``. It
   is shown as running from its first extract job, and done, spanning its
   first to last extraction, when ``fetch`` finishes.
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from dataclasses import dataclass, field

from weir.core import events as ev
from weir.core.resolve.decision import Decision
from weir.core.stats import Statistics, Tally
from weir.tui.report.plain import request_seconds

SLOW_S = 2.0
VERY_SLOW_S = 5.0
THROUGHPUT_BUCKET_S = 0.25
SLOWEST_KEPT = 20
LOG_KEPT = 1000
LEVELS = ("debug", "info", "warning", "error")


def slowness(seconds: float) -> str:
    """A word for a job's age: colour is never the only signal."""
    if seconds >= VERY_SLOW_S:
        return "very slow"
    if seconds >= SLOW_S:
        return "slow"
    return ""


@dataclass(slots=True)
class JobRow:
    job_id: int
    kind: str
    package: str
    lane: str
    state: str  # queued | connecting | waiting | receiving | running
    queued_at: float
    started_at: float | None = None
    bytes: int = 0
    total: int | None = None


@dataclass(slots=True)
class HostRow:
    host: str
    requests: int = 0
    retries: int = 0
    bytes: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    first_at: float | None = None
    last_at: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, in arrival order

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def throughput(self) -> float:
        span = self.last_at - (self.first_at or self.last_at)
        return self.bytes / span if span > 0 else 0.0


@dataclass(frozen=True, slots=True)
class SlowRequest:
    seconds: float
    package: str
    event: ev.RequestFinished


@dataclass(frozen=True, slots=True)
class LogEntry:
    at: float
    level: str
    message: str


class RunModel(ev.Reporter):
    """Folds events into what the screens read. See the module rules."""

    def __init__(self) -> None:
        self.tally = Tally()
        self.version = 0
        self.started_at: float | None = None
        self.now = 0.0
        self.run: ev.RunStarted | None = None
        self.finished: ev.RunFinished | None = None
        self.phase_started: dict[str, float] = {}
        self.phase_elapsed: dict[str, float] = {}
        self.jobs: dict[int, JobRow] = {}
        self._request_job: dict[int, int] = {}
        self._request_host: dict[int, str] = {}
        self.hosts: dict[str, HostRow] = {}
        self._slowest: list[tuple[float, int, SlowRequest]] = []
        self.decisions: dict[str, Decision] = {}
        self.job_time: Counter[str] = Counter()  # package -> seconds across its jobs
        self.warnings: list[ev.Warned] = []
        self.failures: list[ev.Failed] = []
        self.blocked: list[ev.ScriptsBlocked] = []
        self.log: deque[LogEntry] = deque(maxlen=LOG_KEPT)
        self.log_total = 0  # entries ever logged, so a pane can append only what is new
        self.throughput: dict[int, int] = {}  # bucket index -> bytes
        self.pins: dict[int, int] = {}  # whole second -> pins
        self.queue = (0, 0, 0)
        self.to_link: int | None = None  # the link step's plan, once it has one
        self._extract_from_jobs = False  # rule 4
        self._extract_end: float | None = None

    # -- feeding ----------------------------------------------------------------------

    def event(self, e: ev.Event) -> None:  # noqa: C901 - one branch per event type
        self.tally.event(e)
        self.version += 1
        if self.started_at is None:
            self.started_at = e.at
        self.now = max(self.now, e.at)
        if isinstance(e, ev.RunStarted):
            self.run = e
        elif isinstance(e, ev.RunFinished):
            self.finished = e
        elif isinstance(e, ev.PhaseStarted):
            self.phase_started[e.phase] = e.at
            self._log(e.at, "info", f"{e.phase} started")
        elif isinstance(e, ev.PhaseFinished):
            self.phase_elapsed[e.phase] = e.elapsed
            if e.phase == "fetch" and self._extract_from_jobs and "extract" not in self.phase_elapsed:
                self.phase_elapsed["extract"] = (self._extract_end or e.at) - self.phase_started["extract"]
        elif isinstance(e, ev.JobQueued):
            self.jobs[e.job_id] = JobRow(e.job_id, e.kind, e.package, e.lane, "queued", e.at)
        elif isinstance(e, ev.JobPromoted):
            if row := self.jobs.get(e.job_id):
                row.lane = "demand"
        elif isinstance(e, ev.JobStarted):
            row = self.jobs.get(e.job_id)
            if row is None:
                row = self.jobs[e.job_id] = JobRow(e.job_id, e.kind, e.package, "demand", "queued", e.at)
            row.state, row.started_at = "running", e.at
            if e.kind == "extract" and "extract" not in self.phase_started:
                self.phase_started["extract"], self._extract_from_jobs = e.at, True
        elif isinstance(e, ev.JobFinished):
            self.jobs.pop(e.job_id, None)
            if e.kind == "extract":
                self._extract_end = e.at
            self.job_time[e.package.rsplit("@", 1)[0] if e.package.rfind("@") > 0 else e.package] += e.elapsed
            if not e.ok:
                self._log(e.at, "error", f"{e.kind} {e.package}: {e.error or 'failed'}")
        elif isinstance(e, ev.RequestStarted):
            self._request_host[e.request_id] = e.host
            if e.job_id is not None:
                self._request_job[e.request_id] = e.job_id
            host = self._host(e.host)
            host.in_flight += 1
            host.max_in_flight = max(host.max_in_flight, host.in_flight)
            if host.first_at is None:
                host.first_at = e.at
        elif isinstance(e, ev.RequestProgress):
            job = self.jobs.get(self._request_job.get(e.request_id, -1))
            if job is not None:
                job.state, job.bytes, job.total = e.state, e.bytes, e.total
        elif isinstance(e, ev.RequestFinished):
            self._request_finished(e)
        elif isinstance(e, ev.RequestRetried):
            self._host(e.host).retries += 1
            self._log(e.at, "warning", f"retry {e.url}: {e.reason} (attempt {e.attempt})")
        elif isinstance(e, ev.VersionPinned):
            if isinstance(e.decision, Decision):
                self.decisions[f"{e.name}@{e.version}"] = e.decision
            second = int(e.at - self.started_at)
            self.pins[second] = self.pins.get(second, 0) + 1
        elif isinstance(e, ev.DecisionRecorded):
            if isinstance(e.decision, Decision):
                self.decisions[f"{e.decision.name}@{e.decision.version}"] = e.decision
        elif isinstance(e, ev.Extracted):
            self._extract_end = e.at
        elif isinstance(e, ev.LinkPlanned):
            self.to_link = e.packages
        elif isinstance(e, ev.QueueDepth):
            self.queue = (e.demand, e.prefetch, e.in_flight)
        elif isinstance(e, ev.Warned):
            self.warnings.append(e)
            self._log(e.at, "warning", f"{e.code}" + (f" {e.package}" if e.package else "") + f": {e.message}")
        elif isinstance(e, ev.Failed):
            self.failures.append(e)
            self._log(e.at, "error", f"{e.code}" + (f" {e.package}" if e.package else "") + f": {e.message}")
        elif isinstance(e, ev.ScriptsBlocked):
            self.blocked.append(e)
        elif isinstance(e, ev.ScriptRan):
            self._log(e.at, "info", f"{e.package} {e.event} exited {e.exit_code} in {e.elapsed:.1f} s")
        elif isinstance(e, ev.LogLine):
            self._log(e.at, e.level, e.message)

    def _host(self, name: str) -> HostRow:
        if name not in self.hosts:
            self.hosts[name] = HostRow(name)
        return self.hosts[name]

    def _log(self, at: float, level: str, message: str) -> None:
        self.log.append(LogEntry(at, level, message))
        self.log_total += 1

    def _request_finished(self, e: ev.RequestFinished) -> None:
        host = self._host(e.host)
        host.in_flight = max(0, host.in_flight - 1)
        host.requests += 1
        host.bytes += e.bytes
        host.last_at = e.at
        host.statuses[str(e.status) if e.status is not None else "no answer"] += 1
        seconds = request_seconds(e)
        host.latencies.append(seconds)
        job = self.jobs.get(self._request_job.pop(e.request_id, -1))
        self._request_host.pop(e.request_id, None)
        bucket = int((e.at - (self.started_at or e.at)) / THROUGHPUT_BUCKET_S)
        self.throughput[bucket] = self.throughput.get(bucket, 0) + e.bytes
        slow = SlowRequest(seconds, job.package if job else e.url.rsplit("/", 1)[-1], e)
        item = (seconds, e.request_id, slow)
        if len(self._slowest) < SLOWEST_KEPT:
            heapq.heappush(self._slowest, item)
        elif item > self._slowest[0]:
            heapq.heapreplace(self._slowest, item)

    # -- reading ----------------------------------------------------------------------

    def statistics(self) -> Statistics:
        return self.tally.statistics()

    @property
    def elapsed(self) -> float:
        if self.finished is not None:
            return self.finished.elapsed
        return self.now - self.started_at if self.started_at is not None else 0.0

    def phase_time(self, phase: str) -> float | None:
        """Seconds spent in ``phase``: final once finished, running time while it runs."""
        if phase in self.phase_elapsed:
            return self.phase_elapsed[phase]
        if phase in self.phase_started:
            return self.now - self.phase_started[phase]
        return None

    def link_progress(self) -> tuple[int, int]:
        """(packages linked, packages to link): the link step's own plan once it has one, so
        packages skipped for this platform, omitted or already in place are not waited for;
        before it, every resolved package."""
        s = self.statistics()
        return s.linked, s.resolved if self.to_link is None else self.to_link

    def in_flight(self) -> list[JobRow]:
        """Running jobs oldest first, then queued ones (what a user waits on is on top)."""
        running = sorted((j for j in self.jobs.values() if j.started_at is not None), key=lambda j: j.started_at or 0)
        queued = sorted((j for j in self.jobs.values() if j.started_at is None), key=lambda j: j.queued_at)
        return running + queued

    def slowest_requests(self) -> list[SlowRequest]:
        return [item[2] for item in sorted(self._slowest, reverse=True)]

    def throughput_series(self, buckets: int = 40) -> list[float]:
        """Bytes per second over the last ``buckets`` intervals of event time."""
        if self.started_at is None:
            return [0.0]
        last = int((self.now - self.started_at) / THROUGHPUT_BUCKET_S)
        first = max(0, last - buckets + 1)
        return [self.throughput.get(i, 0) / THROUGHPUT_BUCKET_S for i in range(first, last + 1)]

    def pins_per_second(self) -> float:
        """Pins per second over the last two whole seconds of event time (steadier than one)."""
        if self.started_at is None:
            return 0.0
        second = int(self.now - self.started_at)
        return (self.pins.get(second, 0) + self.pins.get(second - 1, 0)) / 2

    def find_decision(self, package: str) -> str | None:
        """The decision key for ``name`` or ``name@version`` (first pinned copy for a bare name)."""
        if package in self.decisions:
            return package
        return next((key for key, d in self.decisions.items() if d.name == package), None)

    def slowest_packages(self, count: int = 10) -> list[tuple[str, float]]:
        return self.job_time.most_common(count)
