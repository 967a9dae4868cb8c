"""``python -m bench``: arguments, the mirror's lifetime, one report per fixture.

Commands:
  python -m bench [--phases p1,p3] [--tools weir,npm,bun] [--fixtures medium]
                  [--rounds 3] [--registry public|mirror] [--drop-caches]
  python -m bench record [--fixtures medium,large]   record the mirror snapshot
  python -m bench mirror [--port 0]                   serve it (the harness starts it itself)
  python -m bench micro                               run the hot-path micro-benchmarks

Rules: bad arguments exit 2 with the reason; a tool that fails is reported,
not fatal; the large fixture always drops the page cache before p3/p4 (large
installs on 2 cores otherwise slow down run after run in kernel time).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from . import machine, measure, peers, report, runner, tools
from .micro import run_micro
from .snapshot import BENCH, DEFAULT_SNAPSHOT, FIXTURES, PUBLIC_REGISTRY
from .tools import PEERS, TOOLS

WORK = BENCH / ".work"
RESULTS = BENCH / "results"
ALWAYS_DROP = ("large",)


@dataclass(frozen=True, slots=True)
class RunArgs:
    phases: list[str]
    tools: list[str]
    fixtures: list[str]
    rounds: int
    registry: str
    drop_caches: bool
    snapshot: Path


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


def parse_run_args(argv: list[str]) -> RunArgs:
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description="Phase benchmark: weir against npm, pnpm, bun, utoo.")
    parser.add_argument("--phases", type=_choices(runner.PHASES), default=list(runner.PHASES))
    parser.add_argument("--tools", type=_choices(TOOLS), default=list(TOOLS))
    parser.add_argument("--fixtures", type=_choices(fixture_names()), default=["medium"])
    parser.add_argument("--rounds", type=_rounds, default=3)
    parser.add_argument("--registry", choices=("public", "mirror"), default="public")
    parser.add_argument("--drop-caches", action="store_true",
                        help="drop the page cache before every p3/p4 run (root; always on for large)")
    parser.add_argument("--snapshot", type=Path, default=DEFAULT_SNAPSHOT,
                        help="recorded snapshot the mirror serves")
    ns = parser.parse_args(argv)
    return RunArgs(ns.phases, ns.tools, ns.fixtures, ns.rounds, ns.registry, ns.drop_caches,
                   ns.snapshot)


class MirrorProcess:
    """``python -m bench mirror`` in a child process, for the length of a benchmark."""

    def __init__(self, snapshot: Path, log: Path) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log
        self._log: IO[bytes] = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench", "mirror", "--snapshot", str(snapshot), "--port", "0"],
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
    versions = {tool: runner.ALL[tool].version() for tool in args.tools}
    mirror = None
    if args.registry == "mirror":
        if not (args.snapshot / "packuments").is_dir():
            print(f"bench: no snapshot in {args.snapshot}; record one first: "
                  f"python -m bench record --fixtures {','.join(args.fixtures)}", file=sys.stderr)
            return 2
        mirror = MirrorProcess(args.snapshot, WORK / "mirror.log")
        print(f"bench: mirror at {mirror.url}", flush=True)
    registry = mirror.url if mirror else PUBLIC_REGISTRY
    try:
        for fixture in args.fixtures:
            write_fixture(args, fixture, registry, versions, mirror)
    finally:
        if mirror:
            mirror.stop()
    return 0


def _progress(run: runner.Run) -> None:
    status = "ok" if run.ok else f"FAILED exit {run.exit_code}"
    label = "warm-up" if run.round == 0 else f"round {run.round}"
    print(f"  {label} {run.phase} {run.tool:<10} {run.wall:7.2f} s  {status}", flush=True)


def write_fixture(args: RunArgs, fixture: str, registry: str, versions: dict[str, str],
                  mirror: MirrorProcess | None) -> None:
    work = WORK / args.registry / fixture
    drop = args.drop_caches or fixture in ALWAYS_DROP
    plan = runner.Plan(args.phases, args.tools, args.rounds, drop)
    print(f"bench: {fixture} fixture, {args.registry} registry ({registry}), "
          f"{args.rounds} rounds + warm-up; drop caches before p3/p4: {drop}", flush=True)
    spaces = runner.setup_workspaces(args.tools, FIXTURES / fixture, work, registry)
    runs = runner.run_plan(plan, spaces, _progress)
    if mirror:
        plan.warnings += [f"mirror had no {path} (404)" for path in mirror.misses()]
    meta = {
        "date": datetime.date.today().isoformat(),
        "fixture": fixture,
        "registry": args.registry,
        "phases": args.phases,
        "tools": args.tools,
        "rounds": args.rounds,
        "drop_caches": drop,
        "versions": versions,
        "machine": machine.describe(WORK),
        "warnings": plan.warnings,
    }
    md, js = report.write(RESULTS, meta, runs)
    print(md.read_text())
    print(f"bench: wrote {md} and {js}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["record"]:
        from .record import record
        parser = argparse.ArgumentParser(prog="python -m bench record")
        parser.add_argument("--fixtures", type=_choices(fixture_names()), default=["medium", "large"])
        parser.add_argument("--snapshot", type=Path, default=DEFAULT_SNAPSHOT)
        ns = parser.parse_args(argv[1:])
        return record(ns.fixtures, ns.snapshot)
    if argv[:1] == ["mirror"]:
        from .mirror import serve
        parser = argparse.ArgumentParser(prog="python -m bench mirror")
        parser.add_argument("--snapshot", type=Path, default=DEFAULT_SNAPSHOT)
        parser.add_argument("--port", type=int, default=0)
        ns = parser.parse_args(argv[1:])
        try:
            asyncio.run(serve(ns.snapshot, ns.port))
        except KeyboardInterrupt:
            pass
        return 0
    if argv[:1] == ["micro"]:
        md, _ = run_micro(RESULTS, datetime.date.today().isoformat())
        print(md.read_text())
        return 0
    return run_benchmark(parse_run_args(argv))
