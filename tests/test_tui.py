"""Pilot tests of the Textual app, driven by the committed synthetic trace (no wall clock)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from textual.widget import Widget
from textual.widgets import DataTable, OptionList, Static

from weir.core import events as ev
from weir.core.stats import Tally
from weir.tui.app.app import WeirApp
from weir.tui.app.replay import load_trace, replay_app
from weir.tui.app.screens.live import LiveScreen
from weir.tui.app.widgets.jobs import JobsTable
from weir.tui.app.widgets.keybar import KeyBar
from weir.tui.app.screens.network import NetworkScreen
from weir.tui.app.screens.summary import SummaryScreen
from weir.tui.app.screens.why import WhyScreen
from weir.tui.app.screenshots import model_until
from weir.core.resolve.decision import Candidate, Decision, Requirement
from weir.tui.app.screens.why import why_not_text

TRACE = Path(__file__).parent / "fixtures" / "traces" / "install.ndjson"
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # Textual runs on asyncio


@pytest.fixture(scope="module")
def events() -> list[ev.Event]:
    return load_trace(TRACE)


def text_of(widget: Static) -> str:
    """What the widget shows, as plain text (wide enough that nothing wraps)."""
    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(widget.content)
    return " ".join(line.strip() for line in console.export_text().splitlines())


async def test_keys_move_between_screens(events: list[ev.Event]) -> None:
    app = WeirApp(model_until(events))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LiveScreen)
        for key, screen in (("w", WhyScreen), ("n", NetworkScreen), ("s", SummaryScreen), ("l", LiveScreen)):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, screen), key
        await pilot.press("q")
    assert app.return_code == 0


async def test_why_search_narrows_the_list(events: list[ev.Event]) -> None:
    app = WeirApp(model_until(events), mode="why")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        options = app.screen.query_one("#packages", OptionList)
        assert options.option_count == 49
        await pilot.press("slash", *"mime")
        await pilot.pause()
        assert [options.get_option_at_index(i).id for i in range(options.option_count)] == [
            "mime-db@1.52.0", "mime-types@2.1.35", "mime@1.6.0",
        ]


async def test_why_panel_shows_rule_requirement_rejections_and_nesting(events: list[ev.Event]) -> None:
    app = WeirApp(model_until(events), mode="why")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        app.open_why("express")
        await pilot.pause()
        detail = text_of(app.screen.query_one("#detail", Static))
        assert "express@4.21.2 (node_modules/express)" in detail and "chosen by: latest-in-range" in detail
        assert "my-app asks for express@^4.21.0" in detail
        # the candidates that carry information, in weir why's words; the prerelease is counted
        assert "5.0.1: a newer major, excluded by the project's ^4.21.0" in detail
        assert "4.21.1 (1 version inside the range): lower than 4.21.2" in detail
        assert "5.0.0-beta.3" not in detail and "1 more: outside the range or prereleases" in detail
        app.open_why("debug@2.6.9")
        await pilot.pause()
        detail = text_of(app.screen.query_one("#detail", Static))
        assert "node_modules/express/node_modules/debug" in detail
        assert "nested" in detail and "debug@4.3.7, required by my-app" in detail


async def test_why_not_names_the_requirement_that_excludes_a_version(events: list[ev.Event]) -> None:
    app = WeirApp(model_until(events), mode="why")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        app.open_why("debug@2.6.9")
        await pilot.pause()
        await pilot.click("#whynot")
        await pilot.press(*"3.0.0", "enter")
        await pilot.pause()
        answer = text_of(app.screen.query_one("#answer", Static))
        assert answer == (
            "debug@3.0.0 is not installed (installed: 2.6.9 at node_modules/express/node_modules/debug) "
            "node_modules/express/node_modules/debug (debug@2.6.9): debug@3.0.0 is excluded by: "
            "my-app > express@4.21.2 asks for debug@2.6.9"
        )


def test_why_not_reports_recorded_verdicts(events: list[ev.Event]) -> None:
    decisions = model_until(events).decisions
    assert why_not_text(decisions["semver@7.6.3"], "7.6.4").endswith(
        "every requirement allows semver@7.6.4, but it lost: its engines field rejects this node "
        "(engines: node >=22 (running 20.18.0)); semver@7.6.3 won: the highest version satisfying every range, "
        "after preferences"
    )
    assert why_not_text(decisions["express@4.21.2"], "4.21.2").startswith("express@4.21.2 is the chosen version")
    assert "every requirement allows express@4.21.0, but express@4.21.2 won" in why_not_text(
        decisions["express@4.21.2"], "4.21.0"
    )
    assert why_not_text(decisions["express@4.21.2"], "4.20.0").endswith(
        "express@4.20.0 is excluded by:\n    my-app asks for express@^4.21.0"
    )
    assert why_not_text(decisions["express@4.21.2"], "latest") == "'latest' is not a version or a range of express"


def test_the_screen_s_why_not_reads_aliases_and_ranges_as_weir_why_does() -> None:
    """One implementation: an alias requirement is read by its inner range, a range question is answered."""
    decision = Decision(
        name="c", version="1.1.0", rule="highest-in-range",
        requirements=(Requirement(spec="npm:c@^1.0.0", kind="prod", path=("app",)),),
        candidates=(
            Candidate(version="2.0.0", verdict="outside-range"),
            Candidate(version="1.2.0", verdict="deprecated", detail="use 1.1.0"),
            Candidate(version="1.1.0", verdict="chosen"),
        ),
    )
    assert "every requirement allows c@1.2.0, but it lost: deprecated (use 1.1.0)" in why_not_text(decision, "1.2.0")
    assert why_not_text(decision, "2.0.0").endswith("c@2.0.0 is excluded by:\n    app asks for c@npm:c@^1.0.0")
    assert why_not_text(decision, "^1.1").startswith("c@1.1.0 is the chosen version")
    assert "c@2.0.0 is excluded by:" in why_not_text(decision, "^2")


async def test_enter_on_a_slow_request_opens_why(events: list[ev.Event]) -> None:
    app = WeirApp(model_until(events), mode="network")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#slowest", DataTable)
        table.focus()
        await pilot.press("enter")  # the slowest: iconv-lite's tarball
        await pilot.pause()
        assert isinstance(app.screen, WhyScreen)
        assert app.screen.selected == "iconv-lite@0.4.24"


def screen_lines(widget: Widget) -> list[str]:
    return [widget.render_line(y).text for y in range(widget.size.height)]


async def test_live_marks_slow_jobs_in_words(events: list[ev.Event]) -> None:
    app = WeirApp(model_until(events, 1005.2))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        lines = screen_lines(app.screen.query_one("#jobs"))
        assert lines[0].split()[:4] == ["kind", "package", "note", "state"]
        typescript = next(line for line in lines if " typescript " in line)
        assert "very slow" in typescript and "waiting for first byte" in typescript
        assert any(" get-intrinsic " in line and " slow " in line and "very" not in line for line in lines)


async def test_enter_on_a_job_opens_why(events: list[ev.Event]) -> None:
    app = WeirApp(model_until(events, 1008))  # iconv-lite's tarball is still downloading
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        jobs = app.screen.query_one("#jobs", JobsTable)
        assert jobs.has_focus and jobs.selected_package() == "iconv-lite@0.4.24"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, WhyScreen)
        assert app.screen.selected == "iconv-lite@0.4.24"


async def test_the_key_bar_lists_each_screen_s_keys(events: list[ev.Event]) -> None:
    app = WeirApp(model_until(events))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        bar = text_of(app.screen.query_one(KeyBar))
        for key in ("v Log level", "l Live", "w Why", "n Network", "s Summary", "q Quit"):
            assert key in bar
        await pilot.press("n")
        await pilot.pause()
        bar = text_of(app.screen.query_one(KeyBar))
        assert "q Quit" in bar and "Log level" not in bar


async def test_arrow_keys_move_the_job_cursor(events: list[ev.Event]) -> None:
    app = WeirApp(model_until(events, 1005.2))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        jobs = app.screen.query_one("#jobs", JobsTable)
        assert jobs.selected_package() == "typescript"
        await pilot.press("down")
        assert jobs.selected_package() == "get-intrinsic"
        await pilot.press("down")  # the last row: the cursor stays
        assert jobs.selected_package() == "get-intrinsic"
        await pilot.press("up")
        assert jobs.selected_package() == "typescript"


async def test_log_level_changes_while_running(events: list[ev.Event]) -> None:
    app = WeirApp(model_until(events))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        log = app.screen.query_one("#log")
        info_lines = len(log.lines)
        await pilot.press("v", "v")  # info -> warning -> error
        await pilot.pause()
        assert log.level == "error" and len(log.lines) == 0
        await pilot.press("v")  # -> debug: everything, including the .bin line
        await pilot.pause()
        assert len(log.lines) > info_lines


async def test_replay_survives_resize_and_ends_with_the_traced_counters(events: list[ev.Event]) -> None:
    direct = Tally()
    for e in events:
        direct.event(e)
    app = replay_app(events, speed=40)  # the 11.6 s trace in about 0.3 s
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.1)
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.05)
        await pilot.resize_terminal(120, 36)
        while not app.done:
            await pilot.pause(0.05)
        await pilot.pause()
        assert isinstance(app.screen, LiveScreen)
        assert "Where to look next" in text_of(app.screen.query_one("#final-summary", Static))
        assert app.model.statistics() == direct.statistics()
        assert app.exit_code == 0
        await pilot.resize_terminal(80, 24)
        for key in "lwns":
            await pilot.press(key)
            await pilot.pause()


async def test_an_install_that_ends_before_the_screen_is_drawn_still_shows_its_summary(events: list[ev.Event]) -> None:
    async def instant(reporter: ev.Reporter) -> int:
        for e in events:
            reporter.event(e)
        return 0

    app = WeirApp(driver=instant, clock=lambda: events[-1].at)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert app.done
        assert isinstance(app.screen, LiveScreen)
        assert "Where to look next" in text_of(app.screen.query_one("#final-summary", Static))
        assert not app.screen.query_one("#jobs").display
