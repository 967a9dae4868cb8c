"""The counter block: npm's cache-status words, then resolve/fetch/link totals."""

from __future__ import annotations

from rich.table import Table
from textual.widgets import Static

from weir.tui.model import RunModel
from weir.tui.plain import human_bytes


def counters_table(model: RunModel) -> Table:
    s = model.statistics()
    grid = Table.grid(padding=(0, 1))
    for _ in range(3):
        grid.add_column(justify="right", style="bold")
        grid.add_column(style="dim")
    rows = [
        (s.hit, "hit", s.stale, "stale", s.revalidated, "revalidated"),
        (s.updated, "updated", s.miss, "miss", s.resolved, "resolved"),
        (s.tarballs_cached, "reused", s.tarballs_downloaded, "downloaded", human_bytes(s.bytes_downloaded), "bytes"),
        (s.linked, "linked", s.retries, "retries", s.errors, "errors"),
        (s.warnings, "warnings", s.requests, "requests", s.scripts_blocked, "scripts blocked"),
    ]
    for row in rows:
        grid.add_row(*(str(cell) for cell in row))
    return grid


class Counters(Static):
    DEFAULT_CSS = "Counters { height: auto; width: auto; padding: 0 1; }"

    def show(self, model: RunModel) -> None:
        self.update(counters_table(model))
