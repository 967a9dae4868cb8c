"""The dashboard's progress figures (the Live screen and the inline panel) on a real install's events.

A real cold install, recorded with ``--reporter ndjson``: extraction runs in
workers during ``fetch`` and has no phase events of its own, and an optional
dependency for another platform is resolved but never linked.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from loopback import LoopbackRegistry
from rich.console import Console
from textual.widgets import ProgressBar, Static

from weir.core import events as ev
from weir.tui.app.app import WeirApp
from weir.tui.app.model import RunModel
from weir.tui.report.plain import human_bytes
from weir.tui.app.progress_text import panel_lines, stepper_text
from weir.tui.app.screens.live import LiveScreen, link_text
from weir.tui.app.screens.summary import summary_view
from weir.tui.app.widgets.counters import counter_rows


@pytest.fixture
def recorded(small_graph: LoopbackRegistry, project: Callable[..., Path], cache_dir: Path) -> list[ev.Event]:
    """The events of a cold install of six packages plus one optional package for win32 only."""
    small_graph.add("win-only", "1.0.0", os=["win32"])
    app = project(
        {
            "name": "app",
            "version": "1.0.0",
            "dependencies": {"a": "^1.0.0", "tool": "^1.0.0"},
            "optionalDependencies": {"win-only": "1.0.0"},
        }
    )
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    cmd = [sys.executable, "-m", "weir.tui.cli.main", "install", "--reporter", "ndjson"]
    cmd += ["--registry", small_graph.url, "--cache", str(cache_dir), "-C", str(app)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert not (app / "node_modules" / "win-only").exists()
    return [ev.from_json(line) for line in out.stdout.splitlines() if line.strip()]


def _model(events: list[ev.Event]) -> RunModel:
    model = RunModel()
    for e in events:
        model.event(e)
    return model


def _text(renderable: object) -> str:
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(renderable)
    return console.export_text()


def test_the_link_figures_reach_their_total_when_a_platform_skipped_package_was_resolved(
    recorded: list[ev.Event],
) -> None:
    model = _model(recorded)
    assert model.statistics().resolved == 7 and model.statistics().linked == 6
    assert model.link_progress() == (6, 6)
    assert "linked 6/6" in panel_lines(model)[1].plain
    assert link_text(model).plain.startswith("link 6/6 packages")


def test_extraction_inside_fetch_shows_as_a_phase_that_ran(recorded: list[ev.Event]) -> None:
    assert not any(isinstance(e, ev.PhaseStarted) and e.phase == "extract" for e in recorded)
    model = _model(recorded)
    extract = model.phase_time("extract")
    assert extract is not None and 0 < extract <= model.elapsed  # it overlaps resolve and fetch
    assert f"✓ extract {extract:.1f}s" in stepper_text(model).plain
    phases = _text(summary_view(model))
    assert "not run" not in phases
    assert f"extract    {extract:.2f} s" in phases


def test_extraction_shows_as_running_while_fetch_runs(recorded: list[ev.Event]) -> None:
    first_extract = next(i for i, e in enumerate(recorded) if isinstance(e, ev.JobStarted) and e.kind == "extract")
    model = _model(recorded[: first_extract + 1])
    assert "● extract" in stepper_text(model).plain


def test_the_counters_tell_tarballs_from_bytes_received() -> None:
    """Before: "0 downloaded 302.6 kB bytes" while only packuments had been received."""
    model = RunModel()
    model.event(ev.RequestFinished(request_id=1, job_id=1, url="http://r/a", host="r", status=200, attempt=1, bytes=302_600))
    assert counter_rows(model)[2] == ("0", "reused", "0", "fetched", human_bytes(302_600), "received")
    model.event(ev.TarballFetched(package="a", version="1.0.0", bytes=200, elapsed=0.1, from_cache=False))
    model.event(ev.TarballFetched(package="b", version="1.0.0", bytes=0, elapsed=0.0, from_cache=True))
    assert counter_rows(model)[2][:4] == ("1", "reused", "1", "fetched")


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_live_screens_link_bar_ends_full(recorded: list[ev.Event], anyio_backend: str) -> None:
    app = WeirApp(_model(recorded))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LiveScreen)
        assert app.screen.query_one("#link-bar", ProgressBar).percentage == 1.0
        assert "6/6 packages" in _text(app.screen.query_one("#link", Static).render())
        await pilot.press("q")


def test_an_old_trace_without_a_link_plan_still_counts_to_the_resolved_packages() -> None:
    model = RunModel()
    for name in ("a", "b"):
        model.event(ev.VersionPinned(name=name, version="1.0.0", spec="^1", path=("app",), rule="latest"))
    model.event(ev.Linked(package="a", version="1.0.0", location="node_modules/a", files=1, mode="copy"))
    assert model.link_progress() == (1, 2)


def test_a_recorded_plan_round_trips_through_ndjson() -> None:
    planned = ev.LinkPlanned(at=1.0, packages=6)
    assert ev.from_json(json.dumps({"type": "LinkPlanned", "at": 1.0, "packages": 6})) == planned
