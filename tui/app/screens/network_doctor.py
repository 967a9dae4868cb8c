"""Doctor: the `weir doctor` report over the Network screen, opened with ``d``.

The Network screen shows what one install saw; the doctor says why a
registry is slow in general (no revalidation, ignored abbreviated documents,
a slow first byte). It probes the registries configured for the current
folder, in a worker so the dashboard keeps drawing, and shows the same text
as the command line.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static
from weir.core.config import load_config
from weir.core.registry.doctor import probe_all
from weir.core.errors import WeirError
from weir.tui.cli.doctor_cli import report

_LEVEL_STYLES = {"ok ": "green", "warn": "yellow", "BAD": "bold red"}


class DoctorScreen(ModalScreen[None]):
    CSS_PATH = "network_doctor.tcss"
    BINDINGS = [Binding("escape", "dismiss", "Close")]  # noqa: RUF012 - Textual's class-level declaration

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="doctor"):
            yield Static("Registry doctor (Esc: close)", classes="title")
            yield Static("probing the configured registries…", id="report")

    def on_mount(self) -> None:
        self.run_worker(self._probe(), exclusive=True, exit_on_error=False)

    async def _probe(self) -> None:
        try:
            config = load_config(Path.cwd())
            text = config.redact(report(await probe_all(config)))
        except WeirError as err:
            text = f"doctor failed: {err}"
        shown = Text(text)
        for mark, style in _LEVEL_STYLES.items():
            shown.highlight_words([f"    {mark}"], style=style)
        self.query_one("#report", Static).update(shown)
