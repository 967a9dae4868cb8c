"""SVG snapshots of every screen, drawn from the committed trace at fixed cuts (no clock).

Update after an intended change: ``pytest tests/test_tui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from weir.tui.app.app import WeirApp
from weir.tui.app.replay import load_trace
from weir.tui.app.screenshots import MID_INSTALL_AT, model_until

TRACE = Path(__file__).parent / "fixtures" / "traces" / "install.ndjson"
SIZE = (120, 36)
EVENTS = load_trace(TRACE)


def app(mode: str, until: float | None = None) -> WeirApp:
    return WeirApp(model_until(EVENTS, until), mode=mode)


async def settle(pilot: Pilot[int]) -> None:
    """Let the first redraw and the auto-focus land, so focus styling never depends on timing.

    The model is drawn explicitly instead of waiting for the app's 10 Hz timer,
    whose first tick may come before or after the snapshot on a busy machine.
    """
    await pilot.pause()
    pilot.app.poll()  # type: ignore[attr-defined]
    await pilot.pause()
    screen = pilot.app.screen
    if screen.AUTO_FOCUS:
        screen.query_one(screen.AUTO_FOCUS).focus()
    await pilot.wait_for_scheduled_animations()
    for _ in range(3):  # a DataTable sizes its columns one refresh after its rows arrive
        await pilot.pause()
    await pilot.wait_for_scheduled_animations()  # the log pane scrolls to its end after a refresh
    await pilot.pause()


async def open_debug(pilot: Pilot[int]) -> None:
    await settle(pilot)
    pilot.app.open_why("debug@2.6.9")  # type: ignore[attr-defined]
    await settle(pilot)


@pytest.mark.parametrize("mode", ["live", "summary", "network"])
def test_finished_screens(snap_compare: object, mode: str) -> None:
    assert snap_compare(app(mode), terminal_size=SIZE, run_before=settle)  # type: ignore[operator]


def test_live_mid_install(snap_compare: object) -> None:
    assert snap_compare(app("live", MID_INSTALL_AT), terminal_size=SIZE, run_before=settle)  # type: ignore[operator]


def test_live_at_80x24(snap_compare: object) -> None:
    assert snap_compare(app("live", MID_INSTALL_AT), terminal_size=(80, 24), run_before=settle)  # type: ignore[operator]


def test_why_nested_package(snap_compare: object) -> None:
    assert snap_compare(app("why"), terminal_size=SIZE, run_before=open_debug)  # type: ignore[operator]


def test_why_not(snap_compare: object) -> None:
    async def ask(pilot: Pilot[int]) -> None:
        await open_debug(pilot)
        await pilot.click("#whynot")
        await pilot.press(*"2.6.8", "enter")

    assert snap_compare(app("why"), terminal_size=SIZE, run_before=ask)  # type: ignore[operator]
