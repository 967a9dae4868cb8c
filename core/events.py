"""Events: everything the engine does, as data.

Rules this module holds (DESIGN.md rule 6):

1. An event is a frozen, slotted, keyword-only dataclass with an ``at``
   timestamp (``time.perf_counter()`` seconds; only differences mean
   anything). Events never hold live objects: only str, int, float, bool,
   None, tuples of those, and other registered records (see rule 4).
2. The engine calls ``Reporter.event(ev)`` for each one. ``Reporter`` is a
   no-op base class (as in resolvelib): a consumer overrides what it needs.
   A reporter must not raise and must return quickly; high-rate counters are
   pulled from ``statistics()`` snapshots instead of being pushed.
3. The TUI, the plain reporter and the ndjson trace writer consume the same
   stream; ``to_json``/``from_json`` round-trip every event type exactly, so
   a recorded trace replays into the TUI.
4. Nested records (a resolver Decision, say) are registered with
   ``@record`` so the trace reader can rebuild them by type name.
5. Records compare, hash and print by their fields through ``Record``, written
   once here: each class is declared with ``eq=False, repr=False`` so the
   dataclass machinery does not compile those three methods again for every
   class (a dataclass compiles each generated method with its own ``exec``;
   they were a third of this module's import time, which every install pays).
   ``Record``'s methods behave as the generated ones would.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Literal, TypeVar

import orjson

Phase = Literal["resolve", "fetch", "extract", "link", "scripts"]
PHASES: tuple[Phase, ...] = ("resolve", "fetch", "extract", "link", "scripts")

JobKind = Literal["manifest", "tarball", "extract", "link", "script"]
Lane = Literal["demand", "prefetch"]
# npm's cache-status words, plus "offline" for a stored copy used without asking.
CacheStatus = Literal["hit", "stale", "revalidated", "updated", "miss"]
RequestState = Literal["queued", "connecting", "waiting", "receiving"]

_REGISTRY: dict[str, type] = {}
_T = TypeVar("_T")


def record(cls: type[_T]) -> type[_T]:
    """Register a dataclass so traces can rebuild it by its type name."""
    _REGISTRY[cls.__name__] = cls
    return cls


def _now() -> float:
    return time.perf_counter()


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _values(obj: object) -> tuple[Any, ...]:
    return tuple(getattr(obj, n) for n in _names(type(obj)))


class Record:
    """Equality, hash and repr by fields, as a frozen dataclass would generate them (rule 5)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _values(self) == _values(other)

    def __hash__(self) -> int:
        return hash(_values(self))

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in _names(type(self)))
        return f"{type(self).__qualname__}({inner})"


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class Event(Record):
    at: float = field(default_factory=_now)


# -- the run --------------------------------------------------------------------------


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class RunStarted(Event):
    command: str
    project: str
    registry: str
    cache_dir: str
    started_epoch: float = field(default_factory=time.time)


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class PhaseStarted(Event):
    phase: Phase


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class PhaseFinished(Event):
    phase: Phase
    elapsed: float


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class RunFinished(Event):
    ok: bool
    exit_code: int
    elapsed: float
    summary: str = ""


# -- jobs (manifest, tarball, extract, link, script) ---------------------------------


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class JobQueued(Event):
    job_id: int
    kind: JobKind
    package: str
    lane: Lane = "demand"


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class JobPromoted(Event):
    """A prefetch job that the loop now waits on moved to the demand lane."""

    job_id: int
    package: str


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class JobStarted(Event):
    job_id: int
    kind: JobKind
    package: str


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class JobFinished(Event):
    job_id: int
    kind: JobKind
    package: str
    ok: bool
    elapsed: float
    cache_status: CacheStatus | None = None
    bytes: int = 0
    retries: int = 0
    error: str | None = None


# -- HTTP requests (the network view and `weir doctor` read these) -------------------


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class RequestStarted(Event):
    request_id: int
    job_id: int | None
    method: str
    url: str  # already redacted: never carries credentials
    host: str
    attempt: int


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class RequestProgress(Event):
    request_id: int
    state: RequestState
    bytes: int = 0
    total: int | None = None


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class RequestFinished(Event):
    """One HTTP exchange, with the time spent in each part of it (milliseconds)."""

    request_id: int
    job_id: int | None
    url: str
    host: str
    status: int | None  # None when no response arrived
    attempt: int
    http_version: str = ""
    queued_ms: float = 0.0
    connect_ms: float = 0.0
    tls_ms: float = 0.0
    first_byte_ms: float = 0.0
    body_ms: float = 0.0
    bytes: int = 0
    cache_status: CacheStatus | None = None
    error: str | None = None


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class RequestRetried(Event):
    request_id: int
    url: str
    host: str
    attempt: int  # the attempt that failed
    reason: str
    delay: float  # seconds before the next attempt


# -- resolution -----------------------------------------------------------------------


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class VersionPinned(Event):
    """The loop chose a version; ``decision`` is the full why-record (a registered record)."""

    name: str
    version: str
    spec: str
    path: tuple[str, ...]  # dependent path, outermost first
    rule: str
    decision: Any = None


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class DecisionRecorded(Event):
    """The finished why-record of one install path, sent once resolution is done.

    Requirements are only complete when the whole tree is known, so the loop
    sends the final Decision here rather than inside ``VersionPinned``.
    """

    location: str
    decision: Any


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class QueueDepth(Event):
    """Sampled by the loop when its queue changes much; the live view also polls statistics()."""

    demand: int
    prefetch: int
    in_flight: int


# -- install --------------------------------------------------------------------------


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class TarballFetched(Event):
    package: str
    version: str
    bytes: int
    elapsed: float
    from_cache: bool


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class Extracted(Event):
    package: str
    version: str
    files: int
    bytes: int
    elapsed: float


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class LinkPlanned(Event):
    """How many packages the link step will place (new or changed ones; kept, omitted and
    platform-skipped packages are not among them): the total a link progress bar counts to."""

    packages: int


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class Linked(Event):
    package: str
    version: str
    location: str  # e.g. node_modules/a/node_modules/b
    files: int
    mode: str  # clone | hardlink | copy | symlink


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class Removed(Event):
    location: str


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class ScriptRan(Event):
    package: str
    event: str  # preinstall, install, postinstall, prepare
    exit_code: int
    elapsed: float


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class ScriptsBlocked(Event):
    """A dependency wanted to run install scripts and is not trusted."""

    package: str
    events: tuple[str, ...]


# -- messages -------------------------------------------------------------------------


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class Warned(Event):
    code: str  # deprecated, optional-skipped, bin-dropped, peer-missing, ...
    message: str
    package: str | None = None


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class Failed(Event):
    code: str
    message: str
    package: str | None = None
    exit_code: int = 1


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class LogLine(Event):
    level: Literal["debug", "info", "warning", "error"]
    message: str


class JobIds:
    """The job ids of one run: every job (manifest, tarball, the installer's own packument
    reads) takes ``next()`` from the one allocator of its run, so no two jobs share an id.
    The live view keys a job's row on it: a shared id would merge two jobs into one row."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        """A fresh id (1, 2, 3, …); no other job of the run ever gets it."""
        self._last += 1
        return self._last


class Reporter:
    """The engine's only outlet. The base class ignores everything."""

    def event(self, ev: Event) -> None:
        """Called for every event, on the engine's thread; must be quick and must not raise."""


class Fanout(Reporter):
    """Sends each event to several reporters (e.g. the TUI plus a --trace file)."""

    def __init__(self, *reporters: Reporter) -> None:
        self.reporters = reporters

    def event(self, ev: Event) -> None:
        for reporter in self.reporters:
            reporter.event(ev)


class Recorder(Reporter):
    """Keeps every event in memory: for tests and for `weir why` right after a run."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def event(self, ev: Event) -> None:
        self.events.append(ev)

    def of(self, kind: type[_T]) -> list[_T]:
        return [ev for ev in self.events if isinstance(ev, kind)]


# -- ndjson ---------------------------------------------------------------------------


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _encode_record(value: Any) -> dict[str, Any]:
    """orjson's ``default`` for a record: its type name, then its fields in order.

    orjson walks everything else (tuples, dicts, strings) in C and calls this
    only for records, so encoding a large resolve's Decisions costs a fifth
    of a walk in Python (p2 large: 0.2 s of CPU before).
    """
    cls = type(value)
    names = _FIELD_NAMES.get(cls)
    if names is None:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__} is not JSON serializable")
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    out: dict[str, Any] = {"type": cls.__name__}
    for name in names:
        out[name] = getattr(value, name)
    return out


def dumps_records(value: Any) -> bytes:
    """``value`` as JSON, each record in it as ``_encode_record`` writes it."""
    return orjson.dumps(value, default=_encode_record, option=orjson.OPT_PASSTHROUGH_DATACLASS)


def _tupled(value: Any) -> Any:
    """JSON arrays come back as tuples (events hold tuples, never lists)."""
    if isinstance(value, list):
        return tuple(_tupled(v) for v in value)
    if isinstance(value, dict):
        if "type" in value and value["type"] in _REGISTRY:
            return _decode_record(value)
        return {k: _tupled(v) for k, v in value.items()}
    return value


def _decode_record(obj: dict[str, Any]) -> Any:
    cls = _REGISTRY[obj["type"]]
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {k: _tupled(v) for k, v in obj.items() if k in names}
    return cls(**kwargs)


def to_json(ev: Event) -> bytes:
    """One event as one JSON object (no newline)."""
    return dumps_records(ev)


def from_json(line: bytes | str) -> Event:
    """Rebuild an event written by ``to_json``; raises ValueError for an unknown type."""
    obj = orjson.loads(line)
    if not isinstance(obj, dict) or obj.get("type") not in _REGISTRY:
        raise ValueError(f"not a weir event: {str(line)[:80]!r}")
    return _decode_record(obj)


class NdjsonWriter(Reporter):
    """Writes each event as one JSON line: the `--reporter ndjson` and `--trace FILE` format.

    Lines are held here and written ``BUFFER_BYTES`` at a time, or on ``flush``,
    whoever owns ``stream`` deciding when a reader sees them. The writer keeps
    its own buffer rather than trusting the stream's: under ``python -u`` or
    ``PYTHONUNBUFFERED`` (common in containers) stdout is an unbuffered file,
    and a cold install's ~2,700 events became as many ``write`` calls and
    wake-ups of whoever reads the pipe (the live view: 5% of the install's
    wall time on a 2-core machine).

    The run's milestones (``MILESTONES``: phases, log lines, warnings, the
    end) are flushed at once with everything before them: they are few, and a
    reader must see them even while the engine's loop cannot run its flush
    timer (an install script runs synchronously for as long as it runs).
    ``event`` may be called from any thread (the linker reports from one).
    """

    BUFFER_BYTES = 1 << 16

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self._lines: list[bytes] = []
        self._held = 0
        self._lock = threading.Lock()

    def event(self, ev: Event) -> None:
        line = to_json(ev) + b"\n"
        with self._lock:
            self._lines.append(line)
            self._held += len(line)
            if type(ev) in MILESTONES:
                self._write()
                self.stream.flush()
            elif self._held >= self.BUFFER_BYTES:
                self._write()

    def flush(self) -> None:
        with self._lock:
            self._write()
            self.stream.flush()

    def _write(self) -> None:
        if self._lines:
            data = b"".join(self._lines)
            self._lines.clear()
            self._held = 0
            self.stream.write(data)


MILESTONES = frozenset({RunStarted, PhaseStarted, PhaseFinished, RunFinished, ScriptRan, ScriptsBlocked, Warned, Failed, LogLine})


def read_trace(lines: Iterable[bytes | str]) -> Iterator[Event]:
    """Events from an ndjson trace, skipping blank lines."""
    for line in lines:
        if line.strip():
            yield from_json(line)


def event_types() -> tuple[type, ...]:
    """Every registered event class (tests round-trip each one)."""
    return tuple(cls for cls in _REGISTRY.values() if issubclass(cls, Event))

