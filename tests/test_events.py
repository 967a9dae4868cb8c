"""Events are data: every type round-trips through ndjson exactly, and the Reporter seam is a no-op."""

from __future__ import annotations

import dataclasses
import io
import sys
import threading

import pytest

from weir.core import events as ev
from weir.core.resolve.decision import Candidate, Decision, Metadata, Placement, Requirement
from weir.core.stats import Tally

DECISION = Decision(
    name="c",
    version="1.1.0",
    rule="highest-in-range",
    requirements=(Requirement(spec="^1.0.0", kind="prod", path=("app", "b@1.0.0")),),
    candidates=(Candidate(version="2.0.0", verdict="outside-range", detail="^1.0.0"), Candidate(version="1.1.0", verdict="chosen")),
    placement=Placement(location="node_modules/b/node_modules/c", hoisted=False, reason="nested: node_modules/c is c@2.0.0", blocker="node_modules/c"),
    metadata=Metadata(cache_status="revalidated", elapsed_ms=12.5, retries=1),
)

_SAMPLES: dict[str, object] = {
    "str": "x",
    "int": 3,
    "float": 1.5,
    "bool": True,
}


def _sample(f: dataclasses.Field[object]) -> object:
    hint = str(f.type)
    if f.name == "decision":
        return DECISION
    if hint.startswith("tuple"):
        return ("a", "b")
    for key, value in (("Phase", "link"), ("JobKind", "tarball"), ("Lane", "prefetch"), ("CacheStatus", "revalidated"), ("RequestState", "receiving"), ("Literal", "info")):
        if key in hint:
            return value
    for key, value in _SAMPLES.items():
        if hint.startswith(key):
            return value
    return "x"


def _instance(cls: type) -> ev.Event:
    kwargs = {f.name: _sample(f) for f in dataclasses.fields(cls) if f.name != "at"}
    return cls(at=12.25, **kwargs)


@pytest.mark.parametrize("cls", ev.event_types(), ids=lambda c: c.__name__)
def test_every_event_round_trips_through_ndjson(cls: type) -> None:
    event = _instance(cls)
    again = ev.from_json(ev.to_json(event))
    assert again == event
    assert type(again) is cls


def test_writer_and_reader_agree_on_a_stream() -> None:
    events = [_instance(cls) for cls in ev.event_types()]
    buf = io.BytesIO()
    writer = ev.NdjsonWriter(buf)
    for e in events:
        writer.event(e)
    writer.flush()
    lines = buf.getvalue().splitlines()
    assert len(lines) == len(events)
    assert list(ev.read_trace(lines + [b""])) == events


class _RawStream(io.RawIOBase):
    """An unbuffered stream (stdout under PYTHONUNBUFFERED) that records each write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.writes.append(bytes(data))
        return len(data)


def test_writer_batches_lines_even_on_an_unbuffered_stream() -> None:
    """Under PYTHONUNBUFFERED stdout is a raw file: one write per event would wake the live
    view's pipe reader ~2,700 times in a cold install. The writer holds lines until its
    buffer fills or it is flushed, and never splits a line."""
    events = [_instance(cls) for cls in ev.event_types() if cls not in ev.MILESTONES] * 100
    raw = _RawStream()
    writer = ev.NdjsonWriter(raw)
    for e in events:
        writer.event(e)
    before_flush = len(raw.writes)
    writer.flush()
    assert all(chunk.endswith(b"\n") for chunk in raw.writes)
    assert list(ev.read_trace(b"".join(raw.writes).splitlines())) == events
    assert len(raw.writes) <= len(b"".join(raw.writes)) // ev.NdjsonWriter.BUFFER_BYTES + 1
    assert before_flush < len(raw.writes)  # the tail waited for the flush


def test_writer_sends_milestones_at_once() -> None:
    """A phase starting, a log line, the end: a reader sees them without waiting for a flush
    (an install script blocks the loop that would run the flush timer), with every line
    held before them, in order."""
    raw = _RawStream()
    writer = ev.NdjsonWriter(raw)
    job = _instance(ev.JobQueued)
    writer.event(job)
    assert raw.writes == []
    for milestone in (ev.PhaseStarted(phase="scripts"), ev.LogLine(level="info", message="x postinstall: hello")):
        writer.event(milestone)
        assert list(ev.read_trace(b"".join(raw.writes).splitlines()))[-1] == milestone
    assert list(ev.read_trace(b"".join(raw.writes).splitlines()))[0] == job


def test_writer_loses_no_line_when_threads_report_at_once() -> None:
    """The linker reports from a worker thread while the loop's timer flushes."""
    buf = io.BytesIO()
    writer = ev.NdjsonWriter(buf)
    events = [_instance(cls) for cls in ev.event_types() if cls not in ev.MILESTONES]

    def report() -> None:
        for _ in range(300):
            for e in events:
                writer.event(e)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as CPython allows
    try:
        threads = [threading.Thread(target=report) for _ in range(4)]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            writer.flush()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    writer.flush()
    assert len(list(ev.read_trace(buf.getvalue().splitlines()))) == 4 * 300 * len(events)


def test_unknown_lines_are_rejected() -> None:
    with pytest.raises(ValueError, match="not a weir event"):
        ev.from_json(b'{"type": "Nope"}')


def test_events_are_frozen() -> None:
    event = ev.PhaseStarted(phase="resolve")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.phase = "link"  # type: ignore[misc]


def test_base_reporter_ignores_everything_and_fanout_reaches_all() -> None:
    ev.Reporter().event(ev.PhaseStarted(phase="resolve"))
    a, b = ev.Recorder(), ev.Recorder()
    ev.Fanout(a, b).event(ev.PhaseStarted(phase="fetch"))
    assert a.events == b.events and len(a.events) == 1


def test_statistics_snapshot_counts_cache_statuses_and_is_immutable() -> None:
    tally = Tally()
    for job, status in enumerate(("hit", "hit", "revalidated", "miss")):
        tally.event(ev.JobStarted(job_id=job, kind="manifest", package="p"))
        tally.event(ev.JobFinished(job_id=job, kind="manifest", package="p", ok=True, elapsed=0.1, cache_status=status))  # type: ignore[arg-type]
    tally.event(ev.Linked(package="p", version="1.0.0", location="node_modules/p", files=7, mode="hardlink"))
    snap = tally.statistics()
    assert (snap.hit, snap.revalidated, snap.miss) == (2, 1, 1)
    assert (snap.linked, snap.files_linked, snap.link_mode) == (1, 7, "hardlink")
    assert snap.jobs_in_flight == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.hit = 0  # type: ignore[misc]


def test_records_compare_hash_and_print_by_their_fields() -> None:
    a = ev.Linked(at=1.5, package="p", version="1.0.0", location="node_modules/p", files=3, mode="hardlink")
    same = ev.Linked(at=1.5, package="p", version="1.0.0", location="node_modules/p", files=3, mode="hardlink")
    assert a == same and hash(a) == hash(same) and len({a, same}) == 1
    assert a != dataclasses.replace(a, files=4)
    assert ev.PhaseStarted(at=1.0, phase="link") != ev.PhaseFinished(at=1.0, phase="link", elapsed=0.0)
    assert repr(a) == "Linked(at=1.5, package='p', version='1.0.0', location='node_modules/p', files=3, mode='hardlink')"
    assert repr(DECISION.candidates[1]) == "Candidate(version='1.1.0', verdict='chosen', detail='')"
    assert DECISION == dataclasses.replace(DECISION) and hash(DECISION) == hash(dataclasses.replace(DECISION))
