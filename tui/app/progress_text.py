"""Progress as rich Text: the phase stepper and the inline panel's lines.

Shared by the inline panel (``weir.tui.report.inline``, which must not import
Textual) and the Live screen's stepper widget. Each phase carries a mark *and*
a word-free shape (✓ done, ● running, ○ not started) so the state reads
without colour; slow jobs are marked in words as well as colour.
"""

from __future__ import annotations

from rich.text import Text

from weir.core.events import PHASES
from weir.tui.app.model import RunModel, slowness
from weir.tui.report.plain import human_bytes

JOBS_SHOWN = 5
SLOW_STYLE = {"slow": "yellow", "very slow": "bold red"}


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


def panel_lines(model: RunModel) -> list[Text]:
    """The inline panel: phases, the counters, the oldest jobs in flight."""
    s = model.statistics()
    linked, to_link = model.link_progress()
    counts = Text(
        f"resolved {s.resolved} ({s.hit} hit, {s.revalidated} revalidated, {s.miss} miss) · "
        f"downloaded {human_bytes(s.bytes_downloaded)} · linked {linked}/{to_link}"
        + (f" · retries {s.retries}" if s.retries else "")
        + (f" · errors {s.errors}" if s.errors else "")
    )
    lines = [stepper_text(model), counts]
    for job in model.in_flight()[:JOBS_SHOWN]:
        age = model.now - job.started_at if job.started_at is not None else 0.0
        note = slowness(age)
        lines.append(Text(f"  {job.kind:<8} {job.package:<32} {job.state:<10} {age:5.1f}s {note}", style=SLOW_STYLE.get(note, "dim")))
    return lines
