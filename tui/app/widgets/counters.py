"""The counter block: npm's cache-status words, then resolve/fetch/link totals."""

from __future__ import annotations

from rich.table import Table

from weir.tui.app.model import RunModel
from weir.tui.report.plain import human_bytes
from weir.tui.app.widgets.readout import Readout


def counter_rows(model: RunModel) -> list[tuple[str, ...]]:
    s = model.statistics()
    rows = [
        (s.hit, "hit", s.stale, "stale", s.revalidated, "revalidated"),
        (s.updated, "updated", s.miss, "miss", s.resolved, "resolved"),
        # Tarballs reused / fetched, then the bytes of every response (packuments too): a bytes
        # figure labelled "bytes" beside "0 downloaded" read as downloads that did not count.
        (s.tarballs_cached, "reused", s.tarballs_downloaded, "fetched", human_bytes(s.bytes_downloaded), "received"),
        (s.linked, "linked", s.retries, "retries", s.errors, "errors"),
        (s.warnings, "warnings", s.requests, "requests", s.scripts_blocked, "scripts blocked"),
    ]
    return [tuple(str(cell) for cell in row) for row in rows]


def counters_table(rows: list[tuple[str, ...]]) -> Table:
    grid = Table.grid(padding=(0, 1))
    for _ in range(3):
        grid.add_column(justify="right", style="bold")
        grid.add_column(style="dim")
    for row in rows:
        grid.add_row(*row)
    return grid


class Counters(Readout):
    DEFAULT_CSS = "Counters { height: auto; width: auto; padding: 0 1; }"

    def show(self, model: RunModel) -> None:
        rows = counter_rows(model)
        widths = tuple(max(len(row[i]) for row in rows) for i in range(len(rows[0])))  # the grid's size
        self.show_shaped(counters_table(rows), widths)
