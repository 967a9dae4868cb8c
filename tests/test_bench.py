"""The benchmark harness's own logic: arguments, statistics, the report, the mirror.

No installer runs here: the peers are only installed by ``python -m bench``.
"""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bench import measure, report, runner, stats
from bench.cli import parse_run_args
from bench.micro import run_micro
from bench.mirror import CORGI, Mirror, make_app
from bench.runner import Run
from bench.snapshot import locked_packages, packument_file, tarball_file

BASE_RUN = Run("p3", "weir", 1, True, 0, wall=1.0, user=0.5, sys=0.2, max_rss_kb=50_000,
               minor_faults=12_345, voluntary_switches=800, involuntary_switches=40,
               net_lo_rx=0, net_ext_rx=1_000_000, net_ext_tx=20_000, cache_bytes=10_000_000,
               cache_files=100, node_modules_bytes=5_000_000, node_modules_files=80,
               lockfile_bytes=130_000, caches_dropped=False, error="")


def runs_of(phase: str, tool: str, walls: list[float], failed: int = 0) -> list[Run]:
    ok = [replace(BASE_RUN, phase=phase, tool=tool, round=i + 1, wall=w) for i, w in enumerate(walls)]
    bad = [replace(BASE_RUN, phase=phase, tool=tool, ok=False, exit_code=4, wall=0.1,
                   error="npm error 404 Not Found - GET left-pad") for _ in range(failed)]
    return ok + bad


# arguments

def test_arguments_are_comma_lists_with_the_issue_defaults():
    args = parse_run_args(["--phases", "p1,p3", "--tools", "weir,npm,bun", "--fixtures", "medium",
                           "--rounds", "5", "--registry", "mirror", "--drop-caches"])
    assert args.phases == ["p1", "p3"]
    assert args.tools == ["weir", "npm", "bun"]
    assert args.fixtures == ["medium"]
    assert (args.rounds, args.registry, args.drop_caches) == (5, "mirror", True)
    defaults = parse_run_args([])
    assert defaults.phases == ["p0", "p1", "p2", "p3", "p4", "p5", "tui"]
    assert defaults.tools == ["weir", "npm", "pnpm", "bun", "utoo"]
    assert (defaults.rounds, defaults.registry, defaults.drop_caches) == (3, "public", False)


@pytest.mark.parametrize("argv", [["--tools", "weir,yarn"], ["--phases", "p9"], ["--rounds", "0"],
                                  ["--registry", "verdaccio"], ["--fixtures", "huge"]])
def test_bad_arguments_exit_2_naming_the_problem(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_run_args(argv)
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err


# statistics and the report

def test_medians_ranges_and_failures_per_phase_and_tool():
    runs = runs_of("p3", "weir", [3.0, 1.0, 2.0]) + runs_of("p3", "npm", [8.0, 4.0], failed=1)
    by_tool = {s.tool: s for s in stats.summarize(runs)}
    assert (by_tool["weir"].wall, by_tool["weir"].wall_min, by_tool["weir"].wall_max) == (2.0, 1.0, 3.0)
    assert (by_tool["npm"].wall, by_tool["npm"].runs, by_tool["npm"].failures) == (6.0, 3, 1)


def test_ratios_against_every_peer_and_missing_when_a_tool_never_succeeded():
    runs = runs_of("p4", "weir", [1.0]) + runs_of("p4", "npm", [4.0]) + runs_of("p4", "bun", [0.5]) \
        + runs_of("p4", "pnpm", [], failed=2)
    table = stats.ratios(stats.summarize(runs), "p4")
    assert table["weir"]["npm"] == pytest.approx(0.25)
    assert table["weir"]["bun"] == pytest.approx(2.0)
    assert table["weir"]["pnpm"] is None


def meta(**extra):
    return {"date": "2026-01-02", "fixture": "medium", "registry": "mirror", "phases": ["p3", "tui"],
            "tools": ["weir", "npm"], "rounds": 3, "drop_caches": True,
            "versions": {"weir": "0.1.0", "npm": "11.0.0"},
            "machine": {"summary": "2 cores, ext4 (no reflink)"}, "warnings": [], **extra}


def test_markdown_has_the_summary_table_ratios_failures_and_tui_verdict():
    runs = runs_of("p3", "weir", [2.0, 2.0]) + runs_of("p3", "npm", [], failed=2) \
        + runs_of("tui", "weir plain", [1.0, 1.0]) + runs_of("tui", "weir --tui", [1.2, 1.2]) \
        + runs_of("tui", "weir inline", [1.02, 1.02])
    text = report.markdown(meta(warnings=["mirror had no left-pad (404)"]), runs)
    assert "| phase | weir | npm |" in text
    assert "| p3 | 2.000 | FAILED (2/2) |" in text
    assert "weir / npm" in text
    assert "- npm p3 (exit 4): `npm error 404 Not Found - GET left-pad`" in text
    assert "TUI overhead: +20.0% (OVER the 5% budget)" in text
    assert "Inline panel overhead: +2.0% (within the 5% budget)" in text
    assert "- mirror had no left-pad (404)" in text


def test_results_are_named_by_date_fixture_and_registry(tmp_path):
    md, js = report.write(tmp_path, meta(phases=list(runner.PHASES)), runs_of("p3", "weir", [1.5]))
    assert (md.name, js.name) == ("2026-01-02-medium-mirror.md", "2026-01-02-medium-mirror.json")
    partial, _ = report.write(tmp_path, meta(), runs_of("p3", "weir", [1.5]))
    assert partial.name == "2026-01-02-medium-mirror-p3+tui.md", "a partial run must not overwrite a full one"
    doc = json.loads(js.read_text())
    assert doc["versions"]["npm"] == "11.0.0"
    assert doc["summaries"][0]["wall"] == 1.5
    assert len(doc["runs"]) == 1


# measurement helpers

GNU_TIME_SAMPLE = """\tCommand being timed: "npm ci"
\tUser time (seconds): 12.34
\tSystem time (seconds): 5.60
\tPercent of CPU this job got: 95%
\tElapsed (wall clock) time (h:mm:ss or m:ss): 0:18.76
\tMaximum resident set size (kbytes): 412345
\tMajor (requiring I/O) page faults: 3
\tMinor (reclaiming a frame) page faults: 348321
\tVoluntary context switches: 14612
\tInvoluntary context switches: 19034
\tExit status: 0
"""


def test_gnu_time_report_gives_cpu_rss_faults_and_context_switches():
    assert measure.parse_gnu_time(GNU_TIME_SAMPLE) == measure.CpuUse(
        12.34, 5.60, 412345, 348321, 14612, 19034)


def test_disk_use_counts_a_hardlinked_file_once(tmp_path):
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "a.js").write_bytes(b"x" * 10_000)
    os.link(tmp_path / "store" / "a.js", tmp_path / "linked.js")
    (tmp_path / "b.js").write_bytes(b"y")
    use = measure.disk_use(tmp_path)
    assert use.files == 2
    assert use.bytes >= 10_001
    assert measure.disk_use(tmp_path / "missing") == measure.DiskUse(0, 0)


# the recorded snapshot and the loopback mirror

def test_lockfile_packages_keep_aliases_and_skip_links_and_root(tmp_path):
    lock = tmp_path / "package-lock.json"
    lock.write_text(json.dumps({"lockfileVersion": 3, "packages": {
        "": {"name": "root"},
        "node_modules/@s/a": {"version": "1.0.0",
                              "resolved": "https://registry.npmjs.org/@s/a/-/a-1.0.0.tgz"},
        "node_modules/alias": {"name": "b", "version": "2.0.0",
                               "resolved": "https://registry.npmjs.org/b/-/b-2.0.0.tgz"},
        "node_modules/local": {"resolved": "packages/local", "link": True},
    }}))
    assert [(p.name, p.resolved) for p in locked_packages(lock)] == [
        ("@s/a", "https://registry.npmjs.org/@s/a/-/a-1.0.0.tgz"),
        ("b", "https://registry.npmjs.org/b/-/b-2.0.0.tgz"),
    ]


TARBALL = gzip.compress(b"not really a tar, served verbatim")


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    url = "https://registry.npmjs.org/@s/a/-/a-1.0.0.tgz"
    doc = {"_id": "@s/a", "name": "@s/a", "dist-tags": {"latest": "1.0.0"},
           "time": {"created": "2024-01-01T00:00:00.000Z", "1.0.0": "2024-02-03T04:05:06.000Z"},
           "readme": "long text the install form drops",
           "versions": {"1.0.0": {"name": "@s/a", "version": "1.0.0", "description": "dropped",
                                  "dependencies": {"b": "^2.0.0"},
                                  "scripts": {"postinstall": "node x.js", "test": "t"},
                                  "dist": {"tarball": url, "integrity": "sha512-x"}}}}
    path = packument_file(tmp_path, "@s/a")
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    tarball_file(tmp_path, url).parent.mkdir(parents=True)
    tarball_file(tmp_path, url).write_bytes(TARBALL)
    return tmp_path


@pytest.mark.anyio
async def test_mirror_answers_like_npmjs_from_the_snapshot(snapshot):
    mirror = Mirror(snapshot)
    async with TestServer(make_app(mirror), host="127.0.0.1") as server, \
            aiohttp.ClientSession() as session:
        base = f"http://127.0.0.1:{server.port}/"
        async with session.get(base + "@s%2fa", headers={"Accept": CORGI}) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith(CORGI)
            assert response.headers["Content-Encoding"] == "gzip"
            assert response.headers["Cache-Control"] == "public, max-age=300"
            assert response.headers["Last-Modified"] == "Sat, 03 Feb 2024 04:05:06 GMT"
            etag = response.headers["ETag"]
            short = await response.json(content_type=None)
        version = short["versions"]["1.0.0"]
        assert "readme" not in short and "description" not in version and "scripts" not in version
        assert version["hasInstallScript"] is True
        assert version["dist"]["tarball"] == base + "@s/a/-/a-1.0.0.tgz"

        async with session.get(base + "@s/a", headers={"Accept": CORGI, "If-None-Match": etag}) as r:
            assert r.status == 304
            assert await r.read() == b""
        async with session.get(base + "@s/a", headers={"Accept": "application/json"}) as r:
            full = await r.json()
            assert full["readme"] == "long text the install form drops"
            assert r.headers["ETag"] != etag
        async with session.get(version["dist"]["tarball"]) as r:
            assert r.status == 200
            assert "Content-Encoding" not in r.headers
            assert await r.read() == TARBALL
        async with session.get(base + "left-pad") as r:
            assert r.status == 404
        async with session.get(base + "@s/a/-/../../../etc/passwd.tgz") as r:
            assert r.status == 404
    assert "left-pad" in mirror.misses


# micro-benchmarks

def test_micro_runs_the_scripts_that_exist_and_files_their_output(tmp_path):
    scripts = tmp_path / "bench"
    scripts.mkdir()
    (scripts / "semver_micro.py").write_text("print('satisfies: 0.8 us/op')\n")
    (scripts / "link_micro.py").write_text("import sys; print('no fixture'); sys.exit(3)\n")
    (scripts / "unrelated.py").write_text("raise SystemExit('must not run')\n")
    md, js = run_micro(tmp_path / "results", "2026-01-02", scripts)
    doc = json.loads(js.read_text())
    assert [(e["script"], e["exit_code"]) for e in doc["scripts"]] == [
        ("semver_micro.py", 0), ("link_micro.py", 3)]
    text = md.read_text()
    assert "## semver_micro.py: ok" in text and "satisfies: 0.8 us/op" in text
    assert "## link_micro.py: FAILED (exit 3)" in text
