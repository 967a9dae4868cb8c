"""The phase stepper: resolve ▸ fetch ▸ extract ▸ link ▸ scripts, with time per phase.

Each phase carries a mark *and* a word-free shape (✓ done, ● running, ○ not
started) so the state reads without colour.
"""

from __future__ import annotations

from rich.text import Text

from weir.core.events import PHASES
from weir.tui.model import RunModel
from weir.tui.widgets.readout import Readout


def stepper_text(model: RunModel) -> Text:
    text = Text()
    for i, phase in enumerate(PHASES):
        if i:
            text.append(" ▸ ", style="dim")
        seconds = model.phase_time(phase)
        if phase in model.phase_elapsed:
            text.append(f"✓ {phase} {seconds:.1f}s", style="green")
        elif seconds is not None:
            text.append(f"● {phase} {seconds:.1f}s", style="bold yellow")
        else:
            text.append(f"○ {phase}", style="dim")
    if model.finished is not None:
        verdict = "done" if model.finished.ok else f"failed (exit {model.finished.exit_code})"
        text.append(f"   {verdict} in {model.finished.elapsed:.1f}s", style="bold" if model.finished.ok else "bold red")
    return text


class PhaseStepper(Readout):
    DEFAULT_CSS = "PhaseStepper { height: 1; }"

    def show(self, model: RunModel) -> None:
        self.show_text(stepper_text(model))
