"""The phase stepper: resolve ▸ fetch ▸ extract ▸ link ▸ scripts, with time per phase
(its text: ``weir.tui.app.progress_text.stepper_text``)."""

from __future__ import annotations

from weir.tui.app.model import RunModel
from weir.tui.app.progress_text import stepper_text
from weir.tui.app.widgets.readout import Readout


class PhaseStepper(Readout):
    DEFAULT_CSS = "PhaseStepper { height: 1; }"

    def show(self, model: RunModel) -> None:
        self.show_text(stepper_text(model))
