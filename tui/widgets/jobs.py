"""The in-flight jobs table, updated in place so the cursor survives each poll.

Slow jobs say so in the ``note`` column ("slow" past 2 s, "very slow" past
5 s) and are coloured as well; Enter on a row opens the package in Why.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from weir.tui.model import JobRow, RunModel, slowness
from weir.tui.plain import human_bytes

COLUMNS = ("kind", "package", "note", "state", "elapsed", "bytes", "lane")
STATE_WORDS = {"waiting": "waiting for first byte", "running": "running", "queued": "queued",
               "connecting": "connecting", "receiving": "receiving"}
SHOWN = 20


def _cells(job: JobRow, now: float) -> tuple[object, ...]:
    age = now - job.started_at if job.started_at is not None else 0.0
    note = slowness(age)
    style = {"slow": "yellow", "very slow": "bold red"}.get(note, "")
    size = ""
    if job.bytes or job.total:
        size = human_bytes(job.bytes) + (f" / {human_bytes(job.total)}" if job.total else "")
    return (job.kind, Text(job.package, style=style), Text(note, style=style), STATE_WORDS.get(job.state, job.state),
            f"{age:.1f}s" if job.started_at is not None else "", size, job.lane)


class JobsTable(DataTable[object]):
    DEFAULT_CSS = "JobsTable { height: 1fr; }"

    def on_mount(self) -> None:
        self._shown: dict[str, tuple[object, ...]] = {}  # the cells last drawn, by row key
        self.cursor_type = "row"
        for name in COLUMNS:
            self.add_column(name, key=name)

    def show(self, model: RunModel) -> None:
        """Update in place, touching only the cells whose text changed (each touch costs a redraw)."""
        wanted = {str(job.job_id): job for job in model.in_flight()[:SHOWN]}
        shown = self._shown
        for key in [k.value for k in self.rows if k.value not in wanted]:
            self.remove_row(key)
            shown.pop(key, None)
        for key, job in wanted.items():
            cells = _cells(job, model.now)
            before = shown.get(key)
            if before is None:
                self.add_row(*cells, key=key)
            else:
                for name, old, cell in zip(COLUMNS, before, cells, strict=True):
                    if old != cell:
                        self.update_cell(key, name, cell)
            shown[key] = cells

    def selected_package(self) -> str | None:
        if not self.row_count:
            return None
        return str(self.get_row_at(self.cursor_row)[1])
