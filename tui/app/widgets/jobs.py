"""The in-flight jobs table: one text line per job under a header, a cursor, Enter opens Why.

Slow jobs say so in the ``note`` column ("slow" past 2 s, "very slow" past
5 s) and are coloured as well.

It draws its own lines instead of being a DataTable: while an install runs,
every row's elapsed time changes each redraw, and a DataTable re-measures
and re-renders its cells for every change; it was the costliest part of the
live screen's redraws, which take CPU from the install on a small machine.
Here a redraw formats at most ``SHOWN`` lines, and nothing when they did not
change.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from weir.tui.app.model import JobRow, RunModel, slowness
from weir.tui.report.plain import human_bytes
from weir.tui.app.progress_text import SLOW_STYLE

COLUMNS = ("kind", "package", "note", "state", "elapsed", "bytes", "lane")
RIGHT = frozenset({"elapsed", "bytes"})
WIDEST = 40  # a longer cell (a scoped package name) is cut with an ellipsis
STATE_WORDS = {"waiting": "waiting for first byte", "running": "running", "queued": "queued",
               "connecting": "connecting", "receiving": "receiving"}
HEADER_STYLE = Style(bold=True)
SLOW_STYLES = {note: Style.parse(style) for note, style in SLOW_STYLE.items()}  # as the inline panel colours them
SHOWN = 20


def column_widths(rows: list[tuple[str, ...]]) -> tuple[int, ...]:
    """Each column as wide as its widest cell or its name, like a DataTable's auto width."""
    return tuple(min(WIDEST, max([len(name), *(len(row[i]) for row in rows)])) for i, name in enumerate(COLUMNS))


def format_line(cells: tuple[str, ...], widths: tuple[int, ...]) -> str:
    out = []
    for name, value, width in zip(COLUMNS, cells, widths, strict=True):
        if len(value) > width:
            value = value[: width - 1] + "…"
        out.append(value.rjust(width) if name in RIGHT else value.ljust(width))
    return " " + "  ".join(out)


def job_cells(job: JobRow, now: float) -> tuple[str, ...]:
    age = now - job.started_at if job.started_at is not None else 0.0
    size = ""
    if job.bytes or job.total:
        size = human_bytes(job.bytes) + (f" / {human_bytes(job.total)}" if job.total else "")
    return (job.kind, job.package, slowness(age), STATE_WORDS.get(job.state, job.state),
            f"{age:.1f}s" if job.started_at is not None else "", size, job.lane)


class JobsTable(Widget, can_focus=True):
    DEFAULT_CSS = """
    JobsTable { height: 1fr; }
    JobsTable > .jobs--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    """
    COMPONENT_CLASSES = {"jobs--cursor"}  # noqa: RUF012 - Textual's class-level declaration
    BINDINGS = [  # noqa: RUF012
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("enter", "select", "Why", show=False),
    ]

    class Selected(Message):
        """Enter (or a click) on a job: its package."""

        def __init__(self, package: str) -> None:
            super().__init__()
            self.package = package

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.rows: list[tuple[str, ...]] = []  # the cells on screen, one tuple per job
        self.cursor = 0
        self._widths = column_widths([])

    def show(self, model: RunModel) -> None:
        rows = [job_cells(job, model.now) for job in model.in_flight()[:SHOWN]]
        if rows != self.rows:
            self.rows = rows
            self._widths = column_widths(rows)
            self.cursor = min(self.cursor, max(0, len(rows) - 1))
            self.refresh()

    def selected_package(self) -> str | None:
        return self.rows[self.cursor][1] if self.rows else None

    def _first_shown(self) -> int:
        """The first row on screen: the cursor's row stays visible below the header."""
        return max(0, self.cursor - max(1, self.size.height - 1) + 1)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        style = self.rich_style
        if y == 0:
            line, style = format_line(COLUMNS, self._widths), style + HEADER_STYLE
        else:
            index = self._first_shown() + y - 1
            if index >= len(self.rows):
                return Strip.blank(width, style)
            cells = self.rows[index]
            line = format_line(cells, self._widths)
            if cells[2]:
                style += SLOW_STYLES[cells[2]]
            if index == self.cursor and self.has_focus:
                style += self.get_component_rich_style("jobs--cursor")
        return Strip([Segment(line, style)]).adjust_cell_length(width, style)

    def action_move(self, step: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, self.cursor + step))
            self.refresh()

    def action_select(self) -> None:
        package = self.selected_package()
        if package:
            self.post_message(self.Selected(package))

    def on_click(self, event: events.Click) -> None:
        index = self._first_shown() + event.y - 1
        if event.y >= 1 and index < len(self.rows):
            self.cursor = index
            self.refresh()
            self.action_select()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
