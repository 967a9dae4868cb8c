"""``run_why_tui``: the Why screen alone, for ``weir why`` on a terminal."""

from __future__ import annotations

from collections.abc import Sequence

from weir.core.decision import Decision
from weir.tui.app import WeirApp
from weir.tui.model import RunModel


def model_of(decisions: Sequence[Decision]) -> RunModel:
    model = RunModel()
    for d in decisions:
        model.decisions[f"{d.name}@{d.version}"] = d
    model.version += 1
    return model


def run_why_tui(decisions: Sequence[Decision]) -> int:
    app = WeirApp(model_of(decisions), mode="why", title="weir why")
    app.run()
    return app.exit_code
