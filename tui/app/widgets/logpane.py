"""The log pane: appends only new entries; changing the level rewrites it from the model."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from weir.tui.app.model import LEVELS, LogEntry, RunModel

LEVEL_STYLE = {"debug": "dim", "info": "", "warning": "yellow", "error": "bold red"}


class LogPane(RichLog):
    DEFAULT_CSS = "LogPane { height: 7; border-top: solid $primary-darken-2; }"

    def __init__(self, **kwargs: object) -> None:
        super().__init__(wrap=False, markup=False, **kwargs)  # type: ignore[arg-type]
        self.level = "info"
        self._written = 0

    def _line(self, entry: LogEntry, start: float) -> Text:
        text = Text(f"+{entry.at - start:6.2f}s ", style="dim")
        text.append(f"{entry.level:<7} ", style=LEVEL_STYLE[entry.level])
        text.append(entry.message)
        return text

    def show(self, model: RunModel) -> None:
        new = model.log_total - self._written
        if new <= 0:
            return
        start = model.started_at or 0.0
        floor = LEVELS.index(self.level)
        for entry in list(model.log)[-new:]:
            if LEVELS.index(entry.level) >= floor:
                self.write(self._line(entry, start))
        self._written = model.log_total
        self.border_title = f"log ≥ {self.level} (v to change)"

    def cycle_level(self, model: RunModel) -> None:
        self.level = LEVELS[(LEVELS.index(self.level) + 1) % len(LEVELS)]
        self.clear()
        self._written = model.log_total - len(model.log)
        self.show(model)
        self.border_title = f"log ≥ {self.level} (v to change)"
