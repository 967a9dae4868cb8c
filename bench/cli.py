"""``python -m bench``: arguments, the mirror's lifetime, one report per fixture.

Commands:
  python -m bench [--phases p0,p3] [--tools weir,npm,bun] [--fixtures medium,large,xl]
                  [--rounds 3] [--no-warmup] [--timeout 1800] [--baseline main]
                  [--registry public|mirror] [--drop-caches]
  python -m bench record [--fixtures medium,large,xl] record the mirror snapshot
  python -m bench record --misses [mirror.log]        add what a run's mirror answered 404 for
  python -m bench mirror [--port 0] [--log-requests]  serve it (the harness starts it itself)
  python -m bench scale results/*.json                per-package scaling from JSON reports
  python -m bench micro                               run the hot-path micro-benchmarks

Rules: bad arguments exit 2 with the reason; a tool that fails (or outlives
``--timeout``) is reported, not fatal; the large and xl fixtures always drop
the page cache before p0/p3/p4 (large installs on 2 cores otherwise slow
down run after run in kernel time). Several fixtures in one run also write
the scaling table.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from . import baseline, machine, measure, peers, report, runner, tools
from .micro import run_micro
from .snapshot import BENCH, DEFAULT_SNAPSHOT, FIXTURES, PUBLIC_REGISTRY
from .tools import ALL, PEERS, TOOLS, Tool

WORK = BENCH / ".work"
RESULTS = BENCH / "results"
ALWAYS_DROP = ("large", "xl")


@dataclass(frozen=True, slots=True)
class RunArgs:
    phases: list[str]
    tools: list[str]
    fixtures: list[str]
    rounds: int
    registry: str
    drop_caches: bool
    snapshot: Path
    warmup: bool
    timeout: float
    baseline: str | None


def _choices(allowed: tuple[str, ...]) -> Any:
    def parse(text: str) -> list[str]:
        items = [item.strip() for item in text.split(",") if item.strip()]
        unknown = [item for item in items if item not in allowed]
        if unknown or not items:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(unknown) or '(empty)'}; choose from {', '.join(allowed)}")
        return list(dict.fromkeys(items))
    return parse


def fixture_names() -> tuple[str, ...]:
    return tuple(sorted(p.name for p in FIXTURES.iterdir() if (p / "package.json").is_file()))


def _rounds(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("rounds must be at least 1")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("timeout must be a positive number of seconds")
    return value


def parse_run_args(argv: list[str]) -> RunArgs:
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description="Phase benchmark: weir against npm, pnpm, bun, utoo.")
    parser.add_argument("--phases", type=_choices(runner.PHASES), default=list(runner.PHASES))
    parser.add_argument("--tools", type=_choices(TOOLS), default=list(TOOLS))
    parser.add_argument("--fixtures", type=_choices(fixture_names()), default=["medium"])
    parser.add_argument("--rounds", type=_rounds, default=3)
    parser.add_argument("--registry", choices=("public", "mirror"), default="public")
    parser.add_argument("--drop-caches", action="store_true",
                        help="drop the page cache before every p0/p3/p4 run (root; always on for large, xl)")
    parser.add_argument("--snapshot", type=Path, default=DEFAULT_SNAPSHOT,
                        help="recorded snapshot the mirror serves")
    parser.add_argument("--no-warmup", dest="warmup", action="store_false",
                        help="skip the discarded warm-up round (xl: npm alone resolves for minutes)")
    parser.add_argument("--timeout", type=_seconds, default=1800.0,
                        help="seconds before one run is killed and counted as failed")
    parser.add_argument("--baseline", metavar="GIT_REF",
                        help="also run weir built at this commit, as the tool weir@<sha>")
    ns = parser.parse_args(argv)
    return RunArgs(ns.phases, ns.tools, ns.fixtures, ns.rounds, ns.registry, ns.drop_caches,
                   ns.snapshot, ns.warmup, ns.timeout, ns.baseline)


class MirrorProcess:
    """``python -m bench mirror`` in a child process, for the length of a benchmark."""

    def __init__(self, snapshot: Path, log: Path) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log
        self._log: IO[bytes] = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench", "mirror", "--snapshot", str(snapshot), "--port", "0",
             "--log-requests"],
            cwd=BENCH.parent, stdout=subprocess.PIPE, stderr=self._log, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on " not in line:
            self.stop()
            raise RuntimeError(f"mirror did not start; see {log}")
        self.url = line.split("listening on ", 1)[1].strip()

    def misses(self) -> list[str]:
        return sorted({line.split("404 ", 1)[1] for line in self.log_path.read_text().splitlines()
                       if "mirror: 404 " in line})

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self._log.close()


def run_benchmark(args: RunArgs) -> int:
    try:
        measure.require_gnu_time()
    except measure.MissingGnuTime as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    if any(tool in args.tools for tool in PEERS if tool != "npm"):
        peers.ensure_peers()
    if "weir" in args.tools:
        tools.compile_weir()
    try:
        chosen = _tools(args)
    except baseline.BaselineError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    versions = {tool.name: tool.version() for tool in chosen}
    mirror = None
    if args.registry == "mirror":
        if not (args.snapshot / "packuments").is_dir():
            print(f"bench: no snapshot in {args.snapshot}; record one first: "
                  f"python -m bench record --fixtures {','.join(args.fixtures)}", file=sys.stderr)
            return 2
        mirror = MirrorProcess(args.snapshot, WORK / "mirror.log")
        print(f"bench: mirror at {mirror.url}", flush=True)
    registry = mirror.url if mirror else PUBLIC_REGISTRY
    docs = []
    try:
        for fixture in args.fixtures:
            docs.append(write_fixture(args, fixture, chosen, registry, versions, mirror))
    finally:
        if mirror:
            mirror.stop()
    if len(docs) > 1:
        write_scale(docs, args)
    return 0


def _tools(args: RunArgs) -> list[Tool]:
    """The chosen tools, with the ``--baseline`` build of weir right after weir."""
    chosen = [ALL[name] for name in args.tools]
    if args.baseline:
        at = args.tools.index("weir") + 1 if "weir" in args.tools else 0
        chosen.insert(at, baseline.build(args.baseline, WORK))
    return chosen


def write_scale(docs: list[dict[str, Any]], args: RunArgs) -> None:
    stem = f"{docs[0]['date']}-scale-{args.registry}"
    if list(args.phases) != list(runner.PHASES):  # as report.write names a partial run
        stem += "-" + "+".join(args.phases)
    path = RESULTS / f"{stem}.md"
    report.write_atomic(path, report.scale_markdown(docs))
    print(path.read_text())
    print(f"bench: wrote {path}")


def _progress(run: runner.Run) -> None:
    status = "ok" if run.ok else f"FAILED exit {run.exit_code}"
    label = "warm-up" if run.round == 0 else f"round {run.round}"
    print(f"  {label} {run.phase} {run.tool:<14} {run.wall:7.2f} s  {status}", flush=True)


def write_fixture(args: RunArgs, fixture: str, chosen: list[Tool], registry: str,
                  versions: dict[str, str], mirror: MirrorProcess | None) -> dict[str, Any]:
    work = WORK / args.registry / fixture
    drop = args.drop_caches or fixture in ALWAYS_DROP
    names = [tool.name for tool in chosen]
    plan = runner.Plan(args.phases, names, args.rounds, drop, timeout=args.timeout,
                       warmup=args.warmup)
    print(f"bench: {fixture} fixture, {args.registry} registry ({registry}), "
          f"{args.rounds} rounds{' + warm-up' if args.warmup else ''}; "
          f"drop caches before p0/p3/p4: {drop}", flush=True)
    spaces = runner.setup_workspaces(chosen, FIXTURES / fixture, work, registry, args.timeout)
    runs = runner.run_plan(plan, spaces, _progress)
    if mirror:
        plan.warnings += [f"mirror had no {path} (404)" for path in mirror.misses()]
    meta = {
        "date": datetime.date.today().isoformat(),
        "fixture": fixture,
        "packages": report.fixture_packages(fixture),
        "registry": args.registry,
        "phases": args.phases,
        "tools": names,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "timeout": args.timeout,
        "drop_caches": drop,
        "versions": versions,
        "weir_commit": _head(),
        "machine": machine.describe(WORK),
        "warnings": plan.warnings,
    }
    md, js = report.write(RESULTS, meta, runs)
    print(md.read_text())
    print(f"bench: wrote {md} and {js}")
    return report.document(meta, runs)


def _head() -> str:
    """The commit weir is benchmarked at, ``+dirty`` with uncommitted changes."""
    def git(*cmd: str) -> str:
        return subprocess.run(["git", *cmd], cwd=BENCH.parent, capture_output=True, text=True,
                              check=False).stdout.strip()
    return git("rev-parse", "HEAD") + ("+dirty" if git("status", "--porcelain", "--", "core", "tui") else "")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["record"]:
        from .record import record, record_misses
        parser = argparse.ArgumentParser(prog="python -m bench record")
        parser.add_argument("--fixtures", type=_choices(fixture_names()),
                            default=["medium", "large", "xl"])
        parser.add_argument("--snapshot", type=Path, default=DEFAULT_SNAPSHOT)
        parser.add_argument("--misses", nargs="?", type=Path, const=WORK / "mirror.log",
                            help="instead, fetch what the last run's mirror answered 404 for")
        ns = parser.parse_args(argv[1:])
        if ns.misses:
            return record_misses(ns.misses, ns.snapshot)
        return record(ns.fixtures, ns.snapshot)
    if argv[:1] == ["mirror"]:
        from .mirror import serve
        parser = argparse.ArgumentParser(prog="python -m bench mirror")
        parser.add_argument("--snapshot", type=Path, default=DEFAULT_SNAPSHOT)
        parser.add_argument("--port", type=int, default=0)
        parser.add_argument("--log-requests", action="store_true",
                            help="one stderr line per request: status, Accept, path")
        ns = parser.parse_args(argv[1:])
        try:
            asyncio.run(serve(ns.snapshot, ns.port, ns.log_requests))
        except KeyboardInterrupt:
            pass
        return 0
    if argv[:1] == ["scale"]:
        parser = argparse.ArgumentParser(prog="python -m bench scale")
        parser.add_argument("reports", nargs="+", type=Path, help="JSON reports from bench/results/")
        ns = parser.parse_args(argv[1:])
        try:
            docs = [json.loads(path.read_text()) for path in ns.reports]
        except (OSError, ValueError) as exc:
            print(f"bench scale: cannot read a report: {exc}", file=sys.stderr)
            return 2
        print(report.scale_markdown(docs), end="")
        return 0
    if argv[:1] == ["micro"]:
        md, _ = run_micro(RESULTS, datetime.date.today().isoformat())
        print(md.read_text())
        return 0
    return run_benchmark(parse_run_args(argv))
