"""``run_why_tui``: the Why screen alone, for ``weir why --tui``."""

from __future__ import annotations

from collections.abc import Sequence

from weir.core.why import Copy
from weir.tui.app.app import WeirApp
from weir.tui.app.model import RunModel


def model_of(copies: Sequence[Copy]) -> RunModel:
    model = RunModel()
    for c in copies:
        model.decisions[f"{c.decision.name}@{c.decision.version}"] = c.decision
    model.version += 1
    return model


def why_app(copies: Sequence[Copy]) -> WeirApp:
    """The screen shows the same answers as ``weir why`` (flags, requirements as asked now, history)."""
    app = WeirApp(model_of(copies), mode="why", title="weir why")
    app.why_copies = {f"{c.decision.name}@{c.decision.version}": c for c in copies}
    return app


def run_why_tui(copies: Sequence[Copy]) -> int:
    app = why_app(copies)
    app.run()
    return app.exit_code
