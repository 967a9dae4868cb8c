"""Machine output: ``--reporter ndjson`` (events on stdout) and ``--trace FILE`` (events in a file).

Both are core's ``NdjsonWriter``; this module only decides where the bytes go.
A trace file is opened for writing here and closed by the caller (the CLI
wraps the install in ``with open_trace(path) as writer``), so an interrupted
install still leaves every event written so far, one complete line each.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from weir.core.events import NdjsonWriter


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
            writer.close()
