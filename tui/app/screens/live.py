"""Live: phases, counters, throughput, queue, link progress, jobs in flight, log.

While the install runs, the jobs table is redrawn at most once a second
(``JOBS_EVERY_S``; every row's elapsed time changes each time); the rest at
the app's redraw rate.

When the run ends, the jobs table (empty by then) gives its place to the
summary; the counters above and the log below stay. The summary is composed
hidden with the rest of the screen, so the end of an install costs one
redraw, not a new screen: switching to a screen not shown before makes
Textual re-parse every stylesheet, ~0.2 s of CPU the user waits for.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import ProgressBar, Sparkline, Static

from weir.tui.app.model import RunModel
from weir.tui.report.plain import human_bytes
from weir.tui.app.screens.base import ModelScreen
from weir.tui.app.screens.summary import summary_view
from weir.tui.app.widgets.counters import Counters
from weir.tui.app.widgets.jobs import JobsTable
from weir.tui.app.widgets.logpane import LogPane
from weir.tui.app.widgets.readout import Readout
from weir.tui.app.widgets.stepper import PhaseStepper
from weir.tui.app.widgets.keybar import KeyBar

JOBS_EVERY_S = 1.0


def queue_text(model: RunModel) -> Text:
    demand, prefetch, in_flight = model.queue
    text = Text("queue ", style="bold")
    text.append(f"demand {demand} · prefetch {prefetch} · in flight {in_flight} · ")
    text.append(f"{model.pins_per_second():.0f} pins/s")
    return text


def link_text(model: RunModel) -> Text:
    s = model.statistics()
    linked, total = model.link_progress()
    text = Text("link ", style="bold")
    text.append(f"{linked}/{total} packages · {s.files_linked} files")
    text.append(f" · {s.link_mode}" if s.link_mode else " · mode not chosen yet")
    return text


class LiveScreen(ModelScreen):
    CSS_PATH = "live.tcss"
    AUTO_FOCUS = "#jobs"  # Enter on a job opens it in Why
    BINDINGS = [Binding("v", "cycle_level", "Log level")]

    def __init__(self) -> None:
        super().__init__()
        self._jobs_at = float("-inf")
        self._ended = False

    def compose(self) -> ComposeResult:
        yield PhaseStepper(id="stepper")
        with Horizontal(id="top"):
            yield Counters(id="counters")
            with Vertical(id="side"):
                yield Readout(id="spark-label")
                yield Sparkline([0.0], id="spark")
                yield Readout(id="queue")
                yield Readout(id="link")
                yield ProgressBar(total=1, show_eta=False, id="link-bar")
        yield JobsTable(id="jobs")
        with VerticalScroll(id="final"):
            yield Static(id="final-summary")
        yield LogPane(id="log")
        yield KeyBar()

    def show(self, model: RunModel) -> None:
        self.query_one(PhaseStepper).show(model)
        self.query_one(Counters).show(model)
        series = model.throughput_series()
        recent = series[-4:]
        self.query_one("#spark-label", Readout).show_text(
            Text(f"throughput {human_bytes(sum(recent) / len(recent))}/s · last 10 s:")
        )
        self.query_one("#spark", Sparkline).data = series
        self.query_one("#queue", Readout).show_text(queue_text(model))
        self.query_one("#link", Readout).show_text(link_text(model))
        linked, total = model.link_progress()
        self.query_one("#link-bar", ProgressBar).update(total=max(1, total), progress=linked if total else 1)
        if model.finished is not None:
            self._show_summary(model)
            return
        now = time.monotonic()
        if self.weir.done or now - self._jobs_at >= JOBS_EVERY_S:
            self._jobs_at = now
            self.query_one(JobsTable).show(model)
        self.query_one(LogPane).show(model)

    def _show_summary(self, model: RunModel) -> None:
        final = self.query_one("#final", VerticalScroll)
        if not self._ended:
            self._ended = True
            self.query_one(JobsTable).display = False
            final.display = True
            final.focus()
        self.query_one("#final-summary", Static).update(summary_view(model))
        self.query_one(LogPane).show(model)

    def action_cycle_level(self) -> None:
        self.query_one(LogPane).cycle_level(self.model)

    def on_jobs_table_selected(self, event: JobsTable.Selected) -> None:
        self.weir.open_why(event.package)
