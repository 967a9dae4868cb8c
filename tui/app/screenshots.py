"""Regenerate the SVG screenshots in ``screenshots/`` from the committed synthetic trace.

Run from the repository root: ``python -m weir.tui.app.screenshots``

Every shot is drawn from trace events at a fixed cut (never the wall clock),
at 120x36, so re-running it only changes the SVGs when the view changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from textual.pilot import Pilot

from weir.core import events as ev
from weir.tui.app.app import WeirApp
from weir.tui.app.model import RunModel
from weir.tui.app.replay import load_trace

ROOT = Path(__file__).resolve().parents[2]
TRACE = ROOT / "tests" / "fixtures" / "traces" / "install.ndjson"
OUT = ROOT / "screenshots"
SIZE = (120, 36)
MID_INSTALL_AT = 1005.2  # trace time: typescript's packument past 5 s, get-intrinsic's past 2 s
WHY_PACKAGE = "debug@2.6.9"


def model_until(events: Sequence[ev.Event], until: float | None = None) -> RunModel:
    """The model as it stood at trace time ``until`` (the whole trace when None)."""
    model = RunModel()
    for e in events:
        if until is not None and e.at > until:
            break
        model.event(e)
    if until is not None:
        model.now = until
    return model


async def _why_not(pilot: Pilot[int]) -> None:
    pilot.app.open_why(WHY_PACKAGE)  # type: ignore[attr-defined]
    await pilot.pause()
    await pilot.click("#whynot")
    await pilot.press(*"2.6.8", "enter")


async def _why(pilot: Pilot[int]) -> None:
    pilot.app.open_why(WHY_PACKAGE)  # type: ignore[attr-defined]


def shots(events: Sequence[ev.Event]) -> dict[str, tuple[RunModel, str, Callable[[Pilot[int]], Awaitable[None]] | None]]:
    done = model_until(events)
    return {
        "live-mid-install": (model_until(events, MID_INSTALL_AT), "live", None),
        "live-finished": (model_until(events), "live", None),
        "summary": (done, "summary", None),
        "why": (done, "why", _why),
        "why-not": (model_until(events), "why", _why_not),
        "network": (done, "network", None),
    }


async def shoot(name: str, model: RunModel, mode: str, action: Callable[[Pilot[int]], Awaitable[None]] | None,
                out: Path, title: str = "weir") -> Path:
    app = WeirApp(model, mode=mode, title=title)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.pause()  # a DataTable sizes its columns one refresh after its rows arrive
        if action is not None:
            await action(pilot)
            await pilot.pause()
        await pilot.wait_for_scheduled_animations()  # the log pane scrolls to its end after a refresh
        await pilot.pause()
        app.save_screenshot(filename=f"{name}.svg", path=str(out))
    return out / f"{name}.svg"


async def replay_shot(events: Sequence[ev.Event], out: Path) -> Path:
    """The replay app itself, fed the whole trace instantly: Live, showing the summary."""
    from weir.tui.app.replay import replay_app

    app = replay_app(events, speed=0)
    async with app.run_test(size=SIZE) as pilot:
        while not app.done:
            await pilot.pause(0.05)
        await pilot.pause()
        app.save_screenshot(filename="replay.svg", path=str(out))
    return out / "replay.svg"


async def main_async(trace: Path = TRACE, out: Path = OUT) -> list[Path]:
    out.mkdir(exist_ok=True)
    events = load_trace(trace)
    written = [await shoot(name, *spec, out) for name, spec in shots(events).items()]
    written.append(await replay_shot(events, out))
    return written


def main() -> None:
    for path in asyncio.run(main_async()):
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
