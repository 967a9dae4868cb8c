"""The reporter the live view hands to the engine: a deque drained on the UI's timer.

Kept apart from the Textual app so the engine can start reporting before
Textual is even imported (see ``weir.tui.app.live``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from weir.core import events as ev

if TYPE_CHECKING:
    from weir.tui.app.model import RunModel


class Inbox(ev.Reporter):
    """``event()`` appends (thread-safe, O(1)); the app drains into its model at 10 Hz.

    ``wake`` is set by the running app to a thread-safe call of its poll, for a
    feeder that knows a moment is worth more than the next tick (the run's end).
    """

    def __init__(self) -> None:
        self.pending: deque[ev.Event] = deque()
        self.wake: Callable[[], object] = lambda: None

    def event(self, e: ev.Event) -> None:
        self.pending.append(e)

    def drain_into(self, model: RunModel) -> None:
        pending = self.pending
        while pending:
            model.event(pending.popleft())
