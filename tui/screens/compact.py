"""The compact panel shown inline (the default on a terminal): phases, counters, the oldest jobs."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from weir.tui.model import RunModel, slowness
from weir.tui.plain import human_bytes
from weir.tui.screens.base import ModelScreen
from weir.tui.widgets.stepper import PhaseStepper

JOBS_SHOWN = 5


def compact_lines(model: RunModel) -> Group:
    s = model.statistics()
    counts = Text(
        f"resolved {s.resolved} ({s.hit} hit, {s.revalidated} revalidated, {s.miss} miss) · "
        f"downloaded {human_bytes(s.bytes_downloaded)} · linked {s.linked}/{s.resolved}"
        + (f" · retries {s.retries}" if s.retries else "")
        + (f" · errors {s.errors}" if s.errors else "")
    )
    lines = [counts]
    for job in model.in_flight()[:JOBS_SHOWN]:
        age = model.now - job.started_at if job.started_at is not None else 0.0
        note = slowness(age)
        style = {"slow": "yellow", "very slow": "bold red"}.get(note, "dim")
        lines.append(Text(f"  {job.kind:<8} {job.package:<32} {job.state:<10} {age:5.1f}s {note}", style=style))
    return Group(*lines)


class CompactScreen(ModelScreen):
    CSS_PATH = "compact.tcss"

    def compose(self) -> ComposeResult:
        yield PhaseStepper()
        yield Static(id="compact")

    def show(self, model: RunModel) -> None:
        self.query_one(PhaseStepper).show(model)
        self.query_one("#compact", Static).update(compact_lines(model))
