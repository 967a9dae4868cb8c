"""Network: per registry host, and the slowest requests split into their parts.

It answers "which host, which package, which part of the request": connect,
TLS, first byte (the server thinking) or body (the transfer).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from weir.tui.app.model import RunModel, slowness
from weir.tui.report.plain import human_bytes
from weir.tui.app.screens.base import ModelScreen
from weir.tui.app.widgets.keybar import KeyBar

HOST_COLUMNS = ("host", "requests", "p50", "p95", "max", "statuses", "retries", "bytes", "throughput", "concurrency")
SLOW_COLUMNS = ("package", "host", "status", "try", "total", "note", "connect", "TLS", "1st byte", "body", "bytes",
                "cache")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


class NetworkScreen(ModelScreen):
    CSS_PATH = "network.tcss"
    BINDINGS = [Binding("d", "doctor", "Doctor")]  # noqa: RUF012 - Textual's class-level declaration

    def compose(self) -> ComposeResult:
        yield Static("Registry hosts", classes="title")
        yield DataTable(id="hosts", cursor_type="row")
        yield Static("Slowest requests (Enter: why this package)", classes="title")
        yield DataTable(id="slowest", cursor_type="row")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#hosts", DataTable).add_columns(*HOST_COLUMNS)
        self.query_one("#slowest", DataTable).add_columns(*SLOW_COLUMNS)

    def show(self, model: RunModel) -> None:
        hosts = self.query_one("#hosts", DataTable)
        hosts.clear()
        for h in sorted(model.hosts.values(), key=lambda h: -h.requests):
            statuses = " ".join(f"{code}×{n}" for code, n in sorted(h.statuses.items()))
            hosts.add_row(h.host, str(h.requests), _ms(h.percentile(0.5)), _ms(h.percentile(0.95)),
                          _ms(max(h.latencies, default=0.0)), statuses, str(h.retries), human_bytes(h.bytes),
                          f"{human_bytes(h.throughput())}/s", f"{h.in_flight} now / {h.max_in_flight} max")
        slowest = self.query_one("#slowest", DataTable)
        row = slowest.cursor_row
        slowest.clear()
        for s in model.slowest_requests():
            e = s.event
            note = slowness(s.seconds) or ("failed" if e.error else "")
            style = {"slow": "yellow", "very slow": "bold red", "failed": "red"}.get(note, "")
            slowest.add_row(Text(s.package, style=style), e.host, str(e.status or "-"), str(e.attempt),
                            Text(_ms(s.seconds), style=style), Text(note, style=style), f"{e.connect_ms:.0f}",
                            f"{e.tls_ms:.0f}", f"{e.first_byte_ms:.0f}", f"{e.body_ms:.0f}", human_bytes(e.bytes),
                            e.cache_status or "-")
        if slowest.row_count:
            slowest.move_cursor(row=min(row, slowest.row_count - 1))

    def action_doctor(self) -> None:
        from weir.tui.app.screens.network_doctor import DoctorScreen  # the HTTP stack, only when asked for

        self.app.push_screen(DoctorScreen())

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "slowest":
            self.weir.open_why(str(event.data_table.get_row_at(event.cursor_row)[0]))
