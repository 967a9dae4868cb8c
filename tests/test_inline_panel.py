"""The inline panel (`weir install` on a terminal): its lines, and how it redraws in place.

Drawn from the committed trace at the screenshots' mid-install cut; the panel's
behaviour on a real terminal is in test_live_view.py.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

from weir.tui.report.inline import Panel
from weir.tui.app.progress_text import JOBS_SHOWN, panel_lines
from weir.tui.app.replay import load_trace
from weir.tui.app.screenshots import MID_INSTALL_AT, model_until

TRACE = Path(__file__).parent / "fixtures" / "traces" / "install.ndjson"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _visible(frame: str) -> list[str]:
    return [ANSI.sub("", line) for line in frame.replace("\r", "").split("\n") if ANSI.sub("", line)]


def test_the_panel_shows_phases_counters_and_the_oldest_jobs_with_slow_ones_in_words() -> None:
    model = model_until(load_trace(TRACE), MID_INSTALL_AT)
    lines = [line.plain for line in panel_lines(model)]
    assert lines[0] == "● resolve 5.2s ▸ ○ fetch ▸ ○ extract ▸ ○ link ▸ ○ scripts"  # shapes, not only colour
    assert lines[1].startswith("resolved ") and " hit, " in lines[1] and "downloaded " in lines[1]
    jobs = lines[2:]
    assert 1 <= len(jobs) <= JOBS_SHOWN
    assert any("typescript" in job and job.endswith("very slow") for job in jobs)  # past 5 s at this cut
    assert any("get-intrinsic" in job and job.endswith(" slow") for job in jobs)  # past 2 s


def test_each_frame_replaces_the_last_and_no_line_wraps() -> None:
    """Lines are cut to the terminal's width, so moving up by the lines drawn always reaches
    the panel's top; the last clear leaves nothing of the panel behind."""
    model = model_until(load_trace(TRACE), MID_INSTALL_AT)
    out = io.StringIO()
    panel = Panel(out)
    panel.draw(panel_lines(model), width=40)
    first = out.getvalue()
    assert all(len(line) <= 39 for line in _visible(first))
    assert len(_visible(first)) == panel.drawn == len(panel_lines(model))
    panel.draw(panel_lines(model), width=40)
    second = out.getvalue()[len(first):]
    assert second.startswith(f"\r\x1b[{panel.drawn}A\x1b[J")
    panel.clear()
    assert out.getvalue().endswith(f"\r\x1b[{len(panel_lines(model))}A\x1b[J")
    assert panel.drawn == 0


def test_the_panel_does_not_load_textual() -> None:
    """The default view on a terminal must start and end as fast as plain output: Textual's
    import alone is ~0.2 s of CPU the install would compete with."""
    code = "import sys, weir.tui.app.live, weir.tui.report.inline; sys.exit('textual' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
