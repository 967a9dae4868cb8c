"""What every screen shares: it redraws from the app's RunModel when polled or shown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

from weir.tui.app.model import RunModel

if TYPE_CHECKING:
    from weir.tui.app.app import WeirApp


class ModelScreen(Screen[None]):
    @property
    def model(self) -> RunModel:
        return self.weir.model

    @property
    def weir(self) -> WeirApp:
        return self.app  # type: ignore[return-value]

    def show(self, model: RunModel) -> None:
        """Redraw from the model; called at most at the app's poll rate."""

    def on_screen_resume(self) -> None:
        self.show(self.model)
