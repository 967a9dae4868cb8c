"""The plain and ndjson reporters on the committed synthetic trace."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import anyio
import pytest

from weir.core import events as ev
from weir.core.stats import Statistics, Tally
from weir.core.errors import ResolveError
from weir.tui.report import ndjson
from weir.tui.report.ndjson import open_trace, stdout_reporter
from weir.tui.report.plain import PlainReporter, summary

TRACE = Path(__file__).parent / "fixtures" / "traces" / "install.ndjson"


@pytest.fixture(scope="module")
def events() -> list[ev.Event]:
    with TRACE.open("rb") as stream:
        return list(ev.read_trace(stream))


def plain_output(events: list[ev.Event]) -> list[str]:
    out = io.StringIO()
    reporter = PlainReporter(out)
    for e in events:
        reporter.event(e)
    return out.getvalue().splitlines()


def test_plain_ends_with_the_summary_line(events: list[ev.Event]) -> None:
    last = plain_output(events)[-1]
    assert last.startswith("resolved 49 (31 hit, 1 stale, 9 revalidated, 1 updated, 7 miss)")
    assert "downloaded 6.7 MB" in last
    assert "linked 49 (hardlink)" in last
    assert "1 retry" in last and "4 warnings" in last
    assert last.endswith("in 11.6 s")


def test_plain_prints_phases_warnings_and_slow_requests_only(events: list[ev.Event]) -> None:
    lines = plain_output(events)
    assert [line for line in lines if line.endswith("…")] == ["resolve…", "fetch…", "extract…", "link…", "scripts…"]
    slow = [line for line in lines if line.startswith("slow request")]
    assert len(slow) == 4  # typescript, qs, get-intrinsic manifests; iconv-lite's tarball
    assert any("typescript took 5.3 s on registry.npmjs.org" in line and "first byte 5300 ms" in line for line in slow)
    assert any("iconv-lite-0.4.24.tgz" in line and "body 5400 ms" in line for line in slow)
    assert "warn deprecated inflight@1.0.6: This module is not supported, and leaks memory. Use lru-cache instead." in lines
    assert any(line.startswith("warn optional-skipped fsevents@2.3.3") for line in lines)
    at = lines.index("1 package has install scripts that did not run (not in allowScripts):")
    assert lines[at + 1 : at + 3] == [
        "  esbuild@0.23.1 (postinstall)",
        "review them, then run `weir approve-scripts esbuild` to allow (or `weir install-scripts deny NAME`)",
    ]
    assert lines[at + 3].startswith("resolved ")  # the list ends the install, right before the summary
    assert any(line.startswith("retry https://registry.npmjs.org/mime-db: 503") for line in lines)
    assert len(lines) < 25  # no per-package chatter


def test_summary_omits_empty_parts() -> None:
    line = summary(Statistics(resolved=3, hit=3, linked=3, tarballs_cached=3, link_mode="copy", bytes_downloaded=0), 0.42)
    assert line == "resolved 3 (3 hit) · downloaded 0 B · linked 3 (copy) in 0.4 s"


def test_a_failed_job_is_not_an_error_until_the_engine_says_so() -> None:
    """An optional dependency's 404 fails its manifest job, but the install goes on:
    the user sees the skip warning, not an error line, and the summary counts no error."""
    out = io.StringIO()
    plain = PlainReporter(out)
    plain.event(ev.JobFinished(job_id=1, kind="manifest", package="fsevents", ok=False, elapsed=0.1, error="E404"))
    plain.event(ev.Warned(code="optional-skipped", message="skipping optional fsevents@^2 (E404)", package="fsevents"))
    plain.event(ev.RunFinished(ok=True, exit_code=0, elapsed=0.2))
    lines = out.getvalue().splitlines()
    assert not any(line.startswith("error") for line in lines)
    assert any("skipping optional fsevents" in line for line in lines)
    assert "error" not in lines[-1]


def test_trace_file_round_trips_every_event(events: list[ev.Event], tmp_path: Path) -> None:
    path = tmp_path / "t.ndjson"
    with open_trace(path) as writer:
        for e in events:
            writer.event(e)
    with path.open("rb") as stream:
        assert list(ev.read_trace(stream)) == events


def test_stdout_reporter_writes_one_json_line_per_event(events: list[ev.Event], monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(buffer))
    reporter = stdout_reporter()
    for e in events[:50]:
        reporter.event(e)
    reporter.flush()
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 50
    assert [ev.from_json(line) for line in lines] == events[:50]


def test_ndjson_on_stdout_reaches_a_reader_while_the_install_runs(events: list[ev.Event], monkeypatch: pytest.MonkeyPatch) -> None:
    """Flushed on a timer, not per event: a reader of the pipe (the live view) still sees
    an event well before the install ends, and every event once it has."""
    received = io.BytesIO()

    class Pipe(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: bytes) -> int:  # type: ignore[override]
            return received.write(data)

    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BufferedWriter(Pipe())))
    seen_mid_run: list[bytes] = []

    async def job(reporter: ev.Reporter) -> int:
        reporter.event(events[0])
        await anyio.sleep(ndjson.FLUSH_S * 3)
        seen_mid_run.append(received.getvalue())
        for e in events[1:]:
            reporter.event(e)
        return 7

    assert anyio.run(ndjson.report_to_stdout, job) == 7
    assert [ev.from_json(line) for line in seen_mid_run[0].splitlines()] == events[:1]
    assert [ev.from_json(line) for line in received.getvalue().splitlines()] == events


def test_ndjson_on_stdout_keeps_the_engine_s_own_error(events: list[ev.Event], monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI maps a WeirError to its exit code; it must arrive as itself, every event before it written."""
    buffer = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(buffer))

    async def job(reporter: ev.Reporter) -> int:
        reporter.event(events[0])
        raise ResolveError("no matching version", package="left-pad", spec="^9")

    with pytest.raises(ResolveError) as raised:
        anyio.run(ndjson.report_to_stdout, job)
    assert raised.value.package == "left-pad"
    assert [ev.from_json(line) for line in buffer.getvalue().splitlines()] == events[:1]


def test_trace_tally_counts(events: list[ev.Event]) -> None:
    tally = Tally()
    for e in events:
        tally.event(e)
    s = tally.statistics()
    assert (s.resolved, s.linked, s.retries, s.scripts_blocked, s.warnings) == (49, 49, 1, 1, 4)


def test_summary_says_only_what_happened() -> None:
    from_lockfile = summary(Statistics(linked=5, tarballs_cached=5, link_mode="hardlink", removed=1), 0.3)
    assert from_lockfile == "downloaded 0 B · linked 5 (hardlink) · removed 1 in 0.3 s"
    lockfile_only = summary(Statistics(resolved=4, miss=4, bytes_downloaded=2048), 1.0)
    assert lockfile_only == "resolved 4 (4 miss) · downloaded 2.0 kB in 1.0 s"


def test_a_full_install_that_changes_nothing_says_up_to_date_as_npm_does() -> None:
    """npm says "up to date" when its reify changed nothing, even after a full resolve (a
    committed lockfile with stale flags skips weir's quick no-op check): weir's summary too."""
    out = io.StringIO()
    plain = PlainReporter(out)
    plain.event(ev.LinkPlanned(packages=0))
    plain.event(ev.RunFinished(ok=True, exit_code=0, elapsed=0.2))
    assert out.getvalue().splitlines()[-1].startswith("up to date · ")
    changed = io.StringIO()
    plain = PlainReporter(changed)
    plain.event(ev.LinkPlanned(packages=2))
    plain.event(ev.RunFinished(ok=True, exit_code=0, elapsed=0.2))
    assert "up to date" not in changed.getvalue()
