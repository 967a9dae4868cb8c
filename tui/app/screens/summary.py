"""Summary: totals per phase, the slowest packages, warnings, and where to look next."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from weir.core.events import PHASES
from weir.tui.app.model import RunModel
from weir.tui.report.plain import approve_command, summary
from weir.tui.app.screens.base import ModelScreen
from weir.tui.app.widgets.keybar import KeyBar


def next_steps(model: RunModel) -> list[str]:
    steps: list[str] = []
    slow = model.slowest_requests()
    if slow and slow[0].seconds >= 2:
        e = slow[0].event
        steps.append(f"n  Network: the slowest request was {slow[0].package} on {e.host} ({slow[0].seconds:.1f} s)")
    if model.blocked:
        names = ", ".join(b.package for b in model.blocked)
        steps.append(f"   install scripts were blocked for {names}; if you trust them: {approve_command(model.blocked)}")
    if any(w.code == "deprecated" for w in model.warnings):
        steps.append("w  Why: see which dependent pulls in each deprecated package")
    steps.append("w  Why: pick any package to see the rule, the requirements and the rejected versions")
    return steps


def summary_view(model: RunModel) -> RenderableType:
    stats = model.statistics()
    head = Text(summary(stats, model.elapsed), style="bold")
    phases = Table(title="Phases", title_justify="left", box=None, padding=(0, 2))
    phases.add_column("phase")
    phases.add_column("time", justify="right")
    for phase in PHASES:
        seconds = model.phase_time(phase)
        phases.add_row(phase, "not run" if seconds is None else f"{seconds:.2f} s")
    slow = Table(title="Slowest packages", title_justify="left", box=None, padding=(0, 2))
    slow.add_column("package")
    slow.add_column("time", justify="right")
    for package, seconds in model.slowest_packages(8):
        slow.add_row(package, f"{seconds:.2f} s")
    top = Table.grid(padding=(0, 4))
    top.add_row(phases, slow)
    grouped: dict[str, list[str]] = defaultdict(list)
    for w in model.warnings:
        grouped[w.code].append(f"{w.package}: {w.message}" if w.package else w.message)
    warns: list[RenderableType] = [Text(f"Warnings ({len(model.warnings)})", style="bold")]
    for code, lines in sorted(grouped.items()):
        warns.append(Text(f"  {code}", style="yellow"))
        warns += [Text(f"    {line}") for line in lines]
    for f in model.failures:
        warns.append(Text(f"  error {f.code}: {f.message}", style="bold red"))
    steps = [Text("Where to look next", style="bold")] + [Text(f"  {s}") for s in next_steps(model)]
    return Group(head, Text(), top, Text(), *warns, Text(), *steps)


class SummaryScreen(ModelScreen):
    CSS_PATH = "summary.tcss"

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="summary")
        yield KeyBar()

    def show(self, model: RunModel) -> None:
        self.query_one("#summary", Static).update(summary_view(model))
