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


# the seed's columns, p0, timeouts, scaling and the baseline (issue 17)

def test_summary_has_the_walls_spread_and_medians_of_the_seed_columns():
    runs = [replace(r, minor_faults=f, voluntary_switches=v, net_ext_tx=t, lockfile_bytes=lb)
            for r, f, v, t, lb in zip(runs_of("p0", "bun", [1.0, 2.0, 3.0]), [10, 30, 20],
                                      [5, 7, 6], [100, 300, 200], [9, 9, 9])]
    summary = stats.summarize(runs)[0]
    assert summary.wall_sd == pytest.approx(1.0)
    assert (summary.minor_faults, summary.voluntary_switches) == (20, 6)
    assert (summary.net_ext_tx, summary.lockfile_bytes) == (200, 9)
    assert stats.summarize(runs_of("p0", "bun", [1.0]))[0].wall_sd is None, "no spread from one run"


def test_markdown_details_every_phase_with_the_seed_columns():
    runs = runs_of("p0", "weir", [2.0, 4.0]) + runs_of("p0", "bun", [1.0, 1.0])
    text = report.markdown(meta(phases=["p0"], tools=["weir", "bun"]), runs)
    assert "| p0 | 3.000 | 1.000 |" in text, "compact table of medians first"
    assert "| p0 | 3.00× |" in text
    assert "## p0: full install from nothing: no lockfile, no cache, no node_modules" in text
    assert ("| tool | wall s ±σ (min–max) | user | sys | peak RSS MB | minor faults "
            "| ctx switches vol / invol | net ext MB rx / tx | net lo MB | cache MB / files "
            "| node_modules MB / files | lockfile KB | ok |") in text
    assert ("| weir | 3.000 ±1.414 (2.000–4.000) | 0.500 | 0.200 | 50.0 | 12.3K | 800 / 40 "
            "| 1.0 / 0.0 | 0.0 | 10.0 / 100 | 5.0 / 80 | 130 | 2/2 |") in text


def scale_doc(fixture: str, packages: int, walls: dict[str, float], rss_kb: float) -> dict:
    runs = [r for tool, wall in walls.items()
            for r in runs_of("p1", tool, [wall])]
    runs = [replace(r, max_rss_kb=int(rss_kb)) for r in runs]
    return report.document(meta(fixture=fixture, packages=packages, phases=["p1"],
                                tools=list(walls)), runs)


def test_scale_table_gives_time_and_memory_per_package_from_fixture_to_fixture():
    docs = [scale_doc("xl", 3000, {"weir": 9.0, "bun": 1.5}, 300_000),
            scale_doc("medium", 250, {"weir": 0.5, "bun": 0.25}, 50_000)]
    text = report.scale_markdown(docs)
    assert "medium → xl (mirror registry)" in text, "fixtures ordered by size"
    assert "| tool | phase | medium (250 pkgs) | xl (3000 pkgs) | growth |" in text
    assert "| weir | p1 | 2.00 · 200 | 3.00 · 100 | 1.50× |" in text
    assert "| bun | p1 | 1.00 · 200 | 0.50 · 100 | 0.50× |" in text
    assert text.index("| weir |") < text.index("| bun |"), "weir first"


def test_scale_subcommand_builds_the_table_from_json_reports(tmp_path, capsys):
    from bench.cli import main
    paths = []
    for doc in (scale_doc("medium", 250, {"weir": 0.5}, 50_000),
                scale_doc("large", 1000, {"weir": 2.5}, 100_000)):
        path = tmp_path / f"{doc['fixture']}.json"
        path.write_text(json.dumps(doc))
        paths.append(str(path))
    assert main(["scale", *paths]) == 0
    assert "| weir | p1 | 2.00 · 200 | 2.50 · 100 | 1.25× |" in capsys.readouterr().out
    assert main(["scale", str(tmp_path / "missing.json")]) == 2
    assert "cannot read a report" in capsys.readouterr().err


def test_xl_is_a_fixture_with_its_npm_lockfile_and_drops_the_page_cache():
    from bench.cli import ALWAYS_DROP
    args = parse_run_args(["--fixtures", "medium,large,xl", "--rounds", "1", "--no-warmup",
                           "--timeout", "900", "--baseline", "main"])
    assert args.fixtures == ["medium", "large", "xl"]
    assert (args.warmup, args.timeout, args.baseline) == (False, 900.0, "main")
    assert parse_run_args([]).warmup is True
    assert report.fixture_packages("xl") > 3000
    assert "xl" in ALWAYS_DROP


def test_a_run_past_its_timeout_is_killed_with_its_children(tmp_path):
    pidfile = tmp_path / "child.pid"
    result = measure.run(["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"], tmp_path,
                         dict(os.environ), timeout=1)
    assert result.exit_code == -9
    assert "timed out after 1 s" in result.output_tail
    assert result.wall < 30
    child = int(pidfile.read_text())
    stat = Path(f"/proc/{child}/stat")
    assert not stat.exists() or stat.read_text().split()[2] == "Z", "the backgrounded sleep must die too"


FAKE_TOOL = r'''
import json, os, sys
from pathlib import Path
phase, log = sys.argv[1], Path(sys.argv[2])
cache = Path(sys.argv[3])
seen = {"phase": phase, "lockfile": Path("package-lock.json").exists(),
        "node_modules": Path("node_modules").exists(), "cache": any(cache.iterdir())}
with log.open("a") as out:
    out.write(json.dumps(seen) + "\n")
Path("node_modules/a").mkdir(parents=True, exist_ok=True)
Path("node_modules/a/index.js").write_text("x" * 5000)
(cache / "a.tgz").write_text("y" * 100)
if not Path("package-lock.json").exists():
    Path("package-lock.json").write_text("{}" * 50)
'''


def fake_workspace(tmp_path: Path) -> tuple[runner.Workspace, Path]:
    import sys

    from bench.tools import Context, Tool
    script, log = tmp_path / "fake.py", tmp_path / "calls.jsonl"
    script.write_text(FAKE_TOOL)

    def command(phase: str):
        return lambda c: [sys.executable, str(script), phase, str(log), str(c.cache)]

    tool = Tool("fake", "fake", "package-lock.json", command("full"), command("resolve"),
                command("install"), lambda: "1.0")
    root = tmp_path / "work"
    lockfiles = root / "lockfile"
    lockfiles.mkdir(parents=True)
    (lockfiles / "package.json").write_text("{}")
    (lockfiles / "package-lock.json").write_text("{}")
    ctx = Context("http://127.0.0.1:9/", root / "cache", root / "home")
    return runner.Workspace(tool, root, ctx, lockfiles), log


def test_p0_starts_from_nothing_and_p5_is_timed_on_a_tree_in_use(tmp_path):
    space, log = fake_workspace(tmp_path)
    plan = runner.Plan(["p0", "p5"], ["fake"], rounds=1, drop_caches=False, warmup=False)
    runs = runner.run_plan(plan, {"fake": space})
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls[0] == {"phase": "full", "lockfile": False, "node_modules": False, "cache": False}
    assert [c["phase"] for c in calls[1:]] == ["install", "install", "install"], \
        "p5 after p0: priming cold install, an untimed no-op, then the timed no-op"
    assert calls[1]["lockfile"] and not calls[1]["node_modules"] and not calls[1]["cache"]
    assert calls[3]["node_modules"] and calls[3]["cache"]
    assert [(r.phase, r.ok) for r in runs] == [("p0", True), ("p5", True)]
    p0 = runs[0]
    assert p0.lockfile_bytes == 100 and p0.node_modules_files == 1 and p0.cache_files == 1
    assert p0.minor_faults > 0 and p0.voluntary_switches + p0.involuntary_switches > 0


def test_a_baseline_names_its_commit_and_reuses_a_finished_build(tmp_path):
    from bench import baseline
    from bench.tools import Context
    with pytest.raises(baseline.BaselineError, match="--baseline no-such-ref-xyz: not a commit"):
        baseline.build("no-such-ref-xyz", tmp_path)
    sha = baseline.resolve_ref("HEAD")
    ready = tmp_path / f"baseline-{sha}"
    (ready / "venv" / "bin").mkdir(parents=True)
    (ready / "ready").write_text(sha)
    tool = baseline.build("HEAD", tmp_path)
    assert tool.name == f"weir@{sha[:7]}" and tool.kind == "weir"
    ctx_cmd = tool.install(Context("http://127.0.0.1:9/", tmp_path / "c", tmp_path / "h"))
    assert ctx_cmd[0] == str(ready / "venv" / "bin" / "weir")


@pytest.mark.anyio
async def test_mirror_logs_every_request_when_asked(snapshot, capsys):
    async with TestServer(make_app(Mirror(snapshot), log_requests=True), host="127.0.0.1") as server, \
            aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{server.port}/@s/a",
                               headers={"Accept": CORGI}) as response:
            assert response.status == 200
    assert f"mirror: GET 200 {CORGI} /@s/a" in capsys.readouterr().err


BUN_LOCK = '''{
  "lockfileVersion": 1,
  "workspaces": {
    "": {
      "name": "fixture",
      "dependencies": { "@s/a": "^1.0.0", "wrap": "^2.0.0" },
    },
  },
  "packages": {
    "@s/a": ["@s/a@1.2.0", "", { "dependencies": { "b": "^2.0.0" } }, "sha512-x=="],

    "wrap-cjs": ["wrap@2.0.1", "", {}, "sha512-y=="],

    "@s/a/b": ["b@2.9.0", "", {}, "sha512-z=="],
  }
}
'''

PNPM_LOCK = '''lockfileVersion: '9.0'

importers:

  .:
    dependencies:
      '@s/a':
        specifier: ^1.0.0
        version: 1.2.0(react@19.0.0)

packages:

  '@s/a@1.2.0':
    resolution: {integrity: sha512-x==}

  wrap@2.0.1:
    resolution: {integrity: sha512-y==}

snapshots:

  '@s/a@1.2.0(react@19.0.0)':
    dependencies:
      wrap: 2.0.1
'''


def test_record_reads_the_versions_bun_and_pnpm_resolve_to_their_registry_tarballs():
    from bench.record import bun_lock_packages, pnpm_lock_packages
    base = "https://registry.npmjs.org/"
    assert [(p.name, p.resolved) for p in bun_lock_packages(BUN_LOCK)] == [
        ("@s/a", base + "@s/a/-/a-1.2.0.tgz"),
        ("wrap", base + "wrap/-/wrap-2.0.1.tgz"),
        ("b", base + "b/-/b-2.9.0.tgz"),
    ]
    assert [(p.name, p.resolved) for p in pnpm_lock_packages(PNPM_LOCK)] == [
        ("@s/a", base + "@s/a/-/a-1.2.0.tgz"),
        ("wrap", base + "wrap/-/wrap-2.0.1.tgz"),
    ]


def test_record_follows_peers_of_the_recorded_versions_and_of_peers_at_latest(tmp_path):
    from bench.record import peer_names, tarball_version
    for name, doc in {
        "@s/a": {"dist-tags": {"latest": "2.0.0"}, "versions": {
            "1.0.0": {"peerDependencies": {"vite": "*"}},
            "2.0.0": {"peerDependencies": {"never-asked": "*"}}}},
        "jsdom": {"dist-tags": {"latest": "26.0.0"}, "versions": {
            "26.0.0": {"peerDependencies": {"canvas": "^3"}}}},
    }.items():
        path = packument_file(tmp_path, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    assert tarball_version("@s/a", "https://registry.npmjs.org/@s/a/-/a-1.0.0.tgz") == "1.0.0"
    assert peer_names(tmp_path, {"@s/a": {"1.0.0"}, "missing": {"1.0.0"}}) == {"vite"}
    assert peer_names(tmp_path, {"jsdom": {"latest"}}) == {"canvas"}
