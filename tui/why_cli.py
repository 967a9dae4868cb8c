"""``weir why NAME[@VERSION|RANGE]``: the recorded why of each installed copy, as text or JSON.

Rules this module holds:

1. Offline: it reads files only (``weir.core.why``); a registry is never asked.
2. Labels are words. Every line says what it is (``required by``,
   ``placement``, ``rejected``), so the output reads the same without colour
   and greps well.
3. Exit codes: 0 for any answer, including "why not" answers; 4 (ENOMATCH,
   a resolution error) when NAME is not installed at all, where npm's
   ``npm explain`` prints "No dependencies found matching NAME" and exits 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import IO

import orjson
from weir.core.config import load_config
from weir.core.decision import Decision, Requirement
from weir.core.errors import EXIT_OK
from weir.core.semver import satisfies
from weir.core.why import Answer, Copy, WhyNot, explain, rejected, requirement_range
from weir.tui.whynot import RULE_WORDS

SHOWN_CANDIDATES = 8

VERDICT_WORDS = {
    "outside-range": "outside the range",
    "prerelease": "a prerelease, which the range does not name",
    "deprecated": "deprecated",
    "engines": "its engines field rejects this node",
    "os-cpu": "built for another os/cpu",
    "dist-tag-preferred": "the dist-tag's version, passed over",
    "lockfile-pin-kept": "newer, but the lockfile's pin was kept",
    "override": "replaced by an override",
    "peer-conflict": "conflicts with a peer dependency",
    "lower": "lower than the chosen version",
    "not-published": "not published",
}


def run(args: argparse.Namespace, project: Path) -> int:
    cli = {k: v for k, v in (("registry", args.registry), ("cache", args.cache)) if v}
    config = load_config(project, cli=cli)
    answer = explain(project, config, args.package, within=_within(args, project))
    if args.tui:
        from weir.tui.why_screen import run_why_tui

        shown = answer if answer.copies else explain(project, config, answer.name)
        return run_why_tui([c.decision for c in shown.copies])
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(answer_json(answer), option=orjson.OPT_INDENT_2) + b"\n")
    else:
        write_text(answer, sys.stdout)
    return EXIT_OK


def _within(args: argparse.Namespace, project: Path) -> set[str] | None:
    """With -w/--workspaces (or inside a workspace folder): the install paths the selection reaches."""
    if not args.workspace and not args.workspaces:
        return None
    from weir.core.lockfile import read_lockfile
    from weir.core.package_json import read_package_json
    from weir.core.workspaces import reachable, select_workspaces, workspace_folders

    folders = workspace_folders(project, read_package_json(project / "package.json").workspaces)
    selected = select_workspaces(project, folders, args.workspace, every=args.workspaces)
    lock = read_lockfile(project)
    packages = {p: e.raw for p, e in lock.packages.items()} if lock is not None else {}
    return reachable(packages, selected, include_root=args.include_workspace_root)


def answer_json(answer: Answer) -> dict[str, object]:
    doc = dataclasses.asdict(answer)
    for copy in doc["copies"]:
        copy["rule_words"] = RULE_WORDS.get(copy["decision"]["rule"], copy["decision"]["rule"])
    return doc


# -- text --------------------------------------------------------------------------------


def asks(req: Requirement) -> str:
    """``app > a@1.0.0 (prod) asks for ^2.0.0`` (with the override, when one applied)."""
    who = " > ".join(req.path) if req.path else "(root)"
    spec = req.spec if req.override is None else f"{req.spec}, overridden to {req.override}"
    return f"{who} ({req.kind}) asks for {spec}"


def write_text(answer: Answer, out: IO[str]) -> None:
    if answer.why_not:
        _write_why_not(answer, out)
    else:
        for n, copy in enumerate(answer.copies):
            if n:
                out.write("\n")
            _write_copy(copy, out)
    if answer.source == "lockfile":
        out.write("\n(answered from package-lock.json: weir recorded no decisions for this lockfile)\n")


def _write_copy(copy: Copy, out: IO[str]) -> None:
    d: Decision = copy.decision
    out.write(f"{d.name}@{d.version} ({copy.location})\n")
    out.write(f"  chosen by: {d.rule}: {RULE_WORDS.get(d.rule, d.rule)}\n")
    if d.requirements:
        out.write("  required by:\n")
        for req in d.requirements:
            out.write(f"    {asks(req)}\n")
    else:
        out.write("  required by: nothing (extraneous)\n")
    if d.placement is not None:
        p = d.placement
        line = f"  placement: {'hoisted' if p.hoisted else 'nested'}: {p.reason.removeprefix('nested: ')}"
        if copy.blocker_requirements:
            line += "; that copy is required by " + "; ".join(asks(r) for r in copy.blocker_requirements)
        out.write(line + "\n")
    if d.metadata is not None:
        m = d.metadata
        retries = f"{m.retries} {'retry' if m.retries == 1 else 'retries'}"
        out.write(f"  packument: {m.cache_status}, {m.elapsed_ms:.0f} ms, {retries}\n")
    else:
        out.write("  packument: not recorded\n")
    shown, more = rejected(d, SHOWN_CANDIDATES)
    if shown:
        out.write("  rejected versions:\n")
        for c in shown:
            detail = f" ({c.detail})" if c.detail else _outside(d, c.version) if c.verdict == "outside-range" else ""
            out.write(f"    {c.version}: {VERDICT_WORDS.get(c.verdict, c.verdict)}{detail}\n")
        if more:
            out.write(f"    … and {more} more (--json lists them all)\n")


def _outside(d: Decision, version: str) -> str:
    """Which requirement's range leaves ``version`` out, for a recorded verdict without detail."""
    for req in d.requirements:
        rng = requirement_range(req, d.name)
        if rng is not None and not satisfies(version, rng, loose=True):
            return f" (not in {rng})"
    return ""


def _write_why_not(answer: Answer, out: IO[str]) -> None:
    installed = ", ".join(f"{w.installed} at {w.location}" for w in answer.why_not)
    out.write(f"{answer.name}@{answer.asked} is not installed (installed: {installed})\n")
    for w in answer.why_not:
        out.write(f"{w.location} ({answer.name}@{w.installed}): {_why_not_line(answer.name, answer.asked or '', w)}\n")
        for req in w.excluded_by:
            out.write(f"    {asks(req)}\n")


def _why_not_line(name: str, asked: str, w: WhyNot) -> str:
    subject = f"{name}@{w.version}" if w.version is not None else f"{name}@{asked}"
    if w.excluded_by:
        return f"{subject} is excluded by:"
    won = f"{name}@{w.installed} won: {RULE_WORDS.get(w.rule, w.rule)}"
    if w.lost_to == "not-published":
        return f"{subject} is not published (in the cached packument); {won}"
    if w.lost_to is not None:
        detail = f" ({w.detail})" if w.detail else ""
        return f"every requirement allows {subject}, but it lost: {VERDICT_WORDS.get(w.lost_to, w.lost_to)}{detail}; {won}"
    return f"every requirement allows {subject}, but {won}"
