"""Machine output: ``--reporter ndjson`` (events on stdout) and ``--trace FILE`` (events in a file).

Both are core's ``NdjsonWriter``; this module decides where the bytes go and
when they are flushed:

1. A trace file is opened for writing here and closed by the caller (the CLI
   wraps the install in ``with open_trace(path) as writer``), so an
   interrupted install still leaves every event written so far, one
   complete line each.
2. Stdout is flushed every ``FLUSH_S`` while the install runs, and at once
   when it ends, not after every event: a reader (the live view's pipe, a
   script) sees each event within 0.1 s, and a cold install's ~2,700 events
   cost a few dozen writes instead of one write, and one wake-up of the
   reader, each. The run's milestones (a phase, a log line, the end) the
   writer sends at once itself (``weir.core.events.NdjsonWriter``).
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import anyio

from weir.core.events import Fanout, NdjsonWriter, Reporter

FLUSH_S = 0.1


def stdout_reporter() -> NdjsonWriter:
    """Every event as one JSON line on stdout (binary, so orjson's bytes go straight out)."""
    return NdjsonWriter(sys.stdout.buffer)


@contextmanager
def open_trace(path: Path) -> Iterator[NdjsonWriter]:
    """Record events beside any other reporter; flushes and closes on exit, even on error."""
    with path.open("wb") as stream:
        writer = NdjsonWriter(stream)
        try:
            yield writer
        finally:
            writer.flush()


async def report_to_stdout(job: Callable[[Reporter], Awaitable[int]], extra: Sequence[Reporter] = ()) -> int:
    """Run ``job`` reporting ndjson on stdout (and to ``extra``), flushed as rule 2 says."""
    writer = stdout_reporter()
    failure: Exception | None = None
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_flush_every, writer)
            try:
                code = await job(Fanout(writer, *extra))
            except Exception as exc:  # re-raised as itself below: out of a task group it would come wrapped in an ExceptionGroup
                failure = exc
            tasks.cancel_scope.cancel()
    finally:
        writer.flush()
    if failure is not None:
        raise failure
    return code


async def _flush_every(writer: NdjsonWriter) -> None:
    while True:
        await anyio.sleep(FLUSH_S)
        writer.flush()
