"""Phases, rounds and each tool's workspace: what state a timed run starts from.

Rules:
- Phases: p0 full install from nothing (no lockfile, no cache, no
  node_modules: the seed's benchmark), p1 resolve (no lockfile, empty cache), p2 warm resolve (no
  lockfile, metadata cache warm), p3 cold install (lockfile, empty cache, no
  node_modules), p4 warm link (lockfile, warm cache, no node_modules), p5 no-op
  (everything present), and ``tui`` (weir only: a cold install, p3's state,
  under a pseudo-terminal, ``--reporter plain`` against ``--tui`` and
  against the inline panel a terminal gets by default; for ``--tui`` the
  time until the finished install's summary is on screen, for the others
  until the command exits).
- A workspace remembers what its cache has seen. A warm phase whose state is
  missing (its phase not selected, or the run before it failed) gets an
  untimed priming run first; a failed priming is that run's failure.
- One warm-up round is run and thrown away (unless the plan skips it: the
  xl fixture's slow peers), then N rounds; the tool order is reversed every
  other round so no tool always runs right after another.
- A failure is recorded with its exit code and output tail, never raised:
  the other tools go on. So is a run past the plan's timeout (killed).
- p0 leaves a tree of the tool's own fresh resolution, not the fixture
  lockfile's: it warms the metadata cache (p2) but counts neither as the
  installed state p5 needs nor as the tarballs p4 needs.
- Every timed run starts after ``sync``: no run pays for the writeback of
  the one before it (a 1 GB p4 of one tool otherwise slows the next tool).
- p5 is a no-op on a tree in use: an untimed no-op runs first, so the page
  cache holds the tool's node_modules. Without it bun, which reads every
  installed package.json in a no-op, was timed reading them from disk after
  the other tools' p4 had dropped the page cache (0.25 s on large against
  0.03 s on a warm tree; it asks the registry for nothing either way).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import measure
from .tools import Context, Tool, make_lockfile

PHASES = ("p0", "p1", "p2", "p3", "p4", "p5", "tui")
DESCRIPTIONS = {
    "p0": "full install from nothing: no lockfile, no cache, no node_modules",
    "p1": "resolve: no lockfile, empty cache (lockfile-only mode)",
    "p2": "warm resolve: no lockfile, warm metadata cache (lockfile-only mode)",
    "p3": "cold install: lockfile, empty cache, no node_modules",
    "p4": "warm link: lockfile, warm cache, no node_modules",
    "p5": "no-op: lockfile, cache and node_modules all present",
    "tui": "weir live-view overhead: a cold install (p3) under a pseudo-terminal, --reporter plain vs --tui (until its summary shows) and vs the default inline panel (until it exits)",
}
RESOLVE_PHASES = ("p1", "p2")
DROP_PHASES = ("p0", "p3", "p4")
TUI_VARIANTS = ("weir plain", "weir --tui", "weir inline")
TUI_DONE_MARKER = b"Where to look next"  # in the summary the Live screen shows at the end; it stays open until q


@dataclass(frozen=True, slots=True)
class Run:
    phase: str
    tool: str
    round: int
    ok: bool
    exit_code: int
    wall: float
    user: float
    sys: float
    max_rss_kb: int
    minor_faults: int
    voluntary_switches: int
    involuntary_switches: int
    net_lo_rx: int
    net_ext_rx: int
    net_ext_tx: int
    cache_bytes: int
    cache_files: int
    node_modules_bytes: int
    node_modules_files: int
    lockfile_bytes: int
    caches_dropped: bool
    error: str  # output tail when not ok


def failed_run(phase: str, tool: str, rnd: int, dropped: bool, error: str) -> Run:
    """A run that never started (its priming failed)."""
    return Run(phase, tool, rnd, False, -1, 0.0, 0.0, 0.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
               dropped, error)


@dataclass(slots=True)
class Workspace:
    """One tool's project and cache folders for one fixture and registry."""

    tool: Tool
    root: Path
    ctx: Context
    lockfiles: Path  # package.json + the tool's lockfile, made in setup
    timeout: float = 1800.0  # seconds before a run is killed and counted as failed
    seen: set[str] = field(default_factory=set)  # "resolve" / "install" since the cache was wiped
    installed: bool = False

    @property
    def project(self) -> Path:
        return self.root / "project"

    def wipe_cache(self) -> None:
        measure.remove(self.ctx.cache)
        self.ctx.cache.mkdir(parents=True)
        self.seen.clear()

    def bare_project(self) -> None:
        measure.remove(self.project)
        self.project.mkdir(parents=True)
        shutil.copy(self.lockfiles / "package.json", self.project / "package.json")
        self.installed = False

    def locked_project(self) -> None:
        measure.remove(self.project)
        shutil.copytree(self.lockfiles, self.project)
        self.installed = False

    def command(self, phase: str, variant: str = "") -> list[str]:
        if phase == "p0":
            return self.tool.full(self.ctx)
        if phase in RESOLVE_PHASES:
            return self.tool.resolve(self.ctx)
        cmd = self.tool.install(self.ctx)
        if variant in ("weir --tui", "weir inline"):
            cmd = [arg for arg in cmd if arg not in ("--reporter", "plain")]
        return (cmd + ["--tui"]) if variant == "weir --tui" else cmd

    def execute(self, phase: str, variant: str = "", pty: bool = False) -> measure.Measured:
        env = self.tool.env(self.ctx)
        if pty:
            env.update(TERM="xterm-256color", COLUMNS="120", LINES="40")
            env.pop("CI", None)  # CI=true would turn the inline panel into plain lines
        quit_on = TUI_DONE_MARKER if variant == "weir --tui" else None
        return measure.run(self.command(phase, variant), self.project, env, pty=pty,
                           quit_on=quit_on, timeout=min(300, self.timeout) if pty else self.timeout)

    def settle(self, phase: str, ok: bool) -> None:
        if not ok:
            self.seen.clear()
            self.installed = False
        elif phase in RESOLVE_PHASES or phase == "p0":
            self.seen.add("resolve")
        else:
            self.seen.add("install")
            self.installed = True

    def prepare(self, phase: str) -> str | None:
        """Bring the workspace to ``phase``'s starting state; a priming failure's text."""
        if phase in ("p0", "p1"):
            self.wipe_cache()
            self.bare_project()
        elif phase == "p2":
            if "resolve" not in self.seen:
                failure = self._prime("p1")
                if failure:
                    return failure
            self.bare_project()
        elif phase in ("p3", "tui"):
            self.wipe_cache()
            self.locked_project()
        elif phase == "p4":
            if "install" not in self.seen:
                failure = self._prime("p3")
                if failure:
                    return failure
            self.locked_project()
        elif phase == "p5":
            if not self.installed:
                failure = self._prime("p3")
                if failure:
                    return failure
            return self._warm_noop()
        return None

    def _warm_noop(self) -> str | None:
        result = self.execute("p5")
        if result.exit_code != 0:
            self.settle("p5", False)
            return f"untimed no-op before p5 failed, exit {result.exit_code}: {result.output_tail}"
        return None

    def _prime(self, phase: str) -> str | None:
        self.prepare(phase)
        result = self.execute(phase)
        self.settle(phase, result.exit_code == 0)
        if result.exit_code != 0:
            return f"priming ({phase}) failed, exit {result.exit_code}: {result.output_tail}"
        return None


@dataclass(slots=True)
class Plan:
    phases: list[str]
    tools: list[str]
    rounds: int
    drop_caches: bool
    warnings: list[str] = field(default_factory=list)
    timeout: float = 1800.0
    warmup: bool = True


def setup_workspaces(tools: list[Tool], fixture: Path, work: Path, registry: str,
                     timeout: float = 1800.0) -> dict[str, Workspace]:
    """Fresh folders for each tool, and each tool's lockfile made once."""
    spaces: dict[str, Workspace] = {}
    for tool in tools:
        name = tool.name
        root = work / name
        measure.remove(root)
        ctx = Context(registry=registry, cache=root / "cache", home=root / "home")
        ctx.home.mkdir(parents=True)
        space = Workspace(tool, root, ctx, root / "lockfile", timeout)
        try:
            make_lockfile(tool, fixture, space.lockfiles, Context(registry, root / "setup-cache", ctx.home),
                          timeout)
        except RuntimeError as exc:  # the tool still runs p1/p2; p3-p5 will fail visibly
            print(f"bench: {exc}", file=sys.stderr)
        measure.remove(root / "setup-cache")
        spaces[name] = space
    return spaces


def _timed(space: Workspace, phase: str, label: str, rnd: int, drop: bool, plan: Plan) -> Run:
    failure = space.prepare(phase)
    dropped = False
    os.sync()
    if failure is None and drop:
        reason = measure.drop_caches()
        dropped = reason is None
        if reason and reason not in plan.warnings:
            plan.warnings.append(reason)
            print(f"bench: {reason}", file=sys.stderr)
    if failure is not None:
        return failed_run(phase, label, rnd, dropped, failure)
    variant = label if phase == "tui" else ""
    result = space.execute(phase, variant, pty=phase == "tui")
    ok = result.exit_code == 0
    space.settle(phase, ok)
    cache = measure.disk_use(space.ctx.cache)
    modules = measure.disk_use(space.project / "node_modules")
    lockfile = space.project / space.tool.lockfile
    cpu, net = result.cpu, result.net
    return Run(phase, label, rnd, ok, result.exit_code, result.wall, cpu.user, cpu.sys,
               cpu.max_rss_kb, cpu.minor_faults, cpu.voluntary_switches, cpu.involuntary_switches,
               net.lo_rx, net.ext_rx, net.ext_tx, cache.bytes, cache.files, modules.bytes,
               modules.files, lockfile.stat().st_size if lockfile.is_file() else 0, dropped,
               "" if ok else result.output_tail)


def run_plan(plan: Plan, spaces: dict[str, Workspace],
             progress: Callable[[Run], None] = lambda run: None) -> list[Run]:
    """The warm-up round (discarded) and the measured rounds, interleaved."""
    runs: list[Run] = []
    for rnd in range(0 if plan.warmup else 1, plan.rounds + 1):
        order = plan.tools if rnd % 2 == 0 else plan.tools[::-1]
        for phase in plan.phases:
            if phase == "tui":
                if "weir" not in spaces:
                    continue
                labels = list(TUI_VARIANTS if rnd % 2 == 0 else TUI_VARIANTS[::-1])
                pairs = [(spaces["weir"], label) for label in labels]
            else:
                pairs = [(spaces[name], name) for name in order]
            for space, label in pairs:
                run = _timed(space, phase, label, rnd, plan.drop_caches and phase in DROP_PHASES,
                             plan)
                progress(run)
                if rnd > 0:
                    runs.append(run)
    return runs
