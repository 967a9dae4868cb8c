"""``weir replay FILE``: a recorded ndjson trace driven through the full app.

Events are released at their recorded pace divided by ``speed`` (0 = all at
once). The view reads the trace's own clock, so a replay at any speed ends
with the same counters and the same elapsed figures the install showed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import anyio

from weir.core import events as ev
from weir.core.errors import EXIT_OK
from weir.tui.app.app import Driver, WeirApp

BATCH = 200  # events fed between yields to the UI when replaying instantly


def load_trace(path: Path) -> list[ev.Event]:
    with path.open("rb") as stream:
        return list(ev.read_trace(stream))


class TraceClock:
    """The trace's own time, running ``speed`` times faster than the wall clock once started."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.origin: float | None = None
        self.wall = 0.0

    def start(self, origin: float) -> None:
        self.origin, self.wall = origin, time.perf_counter()

    def __call__(self) -> float:
        if self.origin is None:
            return 0.0
        return self.origin + (time.perf_counter() - self.wall) * self.speed


def replay_driver(events: Sequence[ev.Event], speed: float, clock: TraceClock) -> Driver:
    """Feed ``events`` into the reporter the app hands over, paced by their ``at`` deltas."""

    async def drive(reporter: ev.Reporter) -> int:
        if events:
            clock.start(events[0].at)
        for i, e in enumerate(events):
            if speed > 0:
                delay = (e.at - (clock.origin or e.at)) / speed - (time.perf_counter() - clock.wall)
                if delay > 0:
                    await anyio.sleep(delay)
            elif i % BATCH == 0:
                await anyio.sleep(0)
            reporter.event(e)
        finished = next((e for e in reversed(events) if isinstance(e, ev.RunFinished)), None)
        return finished.exit_code if finished is not None else EXIT_OK

    return drive


def replay_app(events: Sequence[ev.Event], *, speed: float) -> WeirApp:
    clock = TraceClock(speed)
    return WeirApp(driver=replay_driver(events, speed, clock), clock=clock if speed > 0 else None,
                   title="weir replay")


def run_replay(path: Path, *, speed: float) -> int:
    """Open the full app on a recorded trace; returns the recorded run's exit code once the user quits."""
    app = replay_app(load_trace(path), speed=speed)
    app.run()
    return app.exit_code
