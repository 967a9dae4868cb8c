"""``weir why NAME[@VERSION|RANGE]``: the recorded why of each installed copy, as text or JSON.

Rules this module holds:

1. Offline: it reads files only (``weir.core.why``); a registry is never asked.
2. Labels are words. Every line says what it is (``required by``,
   ``placement``, ``candidates``, ``history``), so the output reads the same
   without colour and greps well. Types are npm's words: the package's flags
   after its name (``is-number@6.0.0 dev``), an edge's type before what it
   reaches when it is not prod (``app > dev is-odd@3.0.1 asks for
   is-number@^6.0.0``), as ``npm explain`` prints them.
3. The Why screen renders with the same line builders (``copy_lines``,
   ``why_not_lines``): one answer, two views.
4. Exit codes: 0 for any answer, including "why not" answers; 4 (ENOMATCH,
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
from weir.core.resolve.decision import Candidate, Decision, Requirement
from weir.core.errors import EXIT_OK
from weir.core.why import (
    RULE_WORDS,
    VERDICT_WORDS,
    Answer,
    Copy,
    Edge,
    Shortlist,
    WhyNot,
    explain,
)

SHOWN_CANDIDATES = 8


def run(args: argparse.Namespace, project: Path) -> int:
    cli = {k: v for k, v in (("registry", args.registry), ("cache", args.cache)) if v}
    config = load_config(project, cli=cli)
    answer = explain(project, config, args.package, within=_within(args, project))
    if args.tui:
        from weir.tui.app.why_screen import run_why_tui

        shown = answer if answer.copies else explain(project, config, answer.name)
        return run_why_tui(shown.copies)
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(answer_json(answer), option=orjson.OPT_INDENT_2) + b"\n")
    else:
        write_text(answer, sys.stdout)
    return EXIT_OK


def _within(args: argparse.Namespace, project: Path) -> set[str] | None:
    """With -w/--workspaces (or inside a workspace folder): the install paths the selection reaches."""
    if not args.workspace and not args.workspaces:
        return None
    from weir.core.tree.lockfile import read_lockfile
    from weir.core.npm.package_json import read_package_json
    from weir.core.resolve.workspaces import reachable, select_workspaces, workspace_folders

    folders = workspace_folders(project, read_package_json(project / "package.json").workspaces)
    selected = select_workspaces(project, folders, args.workspace, every=args.workspaces)
    lock = read_lockfile(project)
    packages = {p: e.raw for p, e in lock.packages.items()} if lock is not None else {}
    return reachable(packages, selected, include_root=args.include_workspace_root)


def answer_json(answer: Answer) -> dict[str, object]:
    doc = dataclasses.asdict(answer)
    for copy in doc["copies"]:
        copy["rule_words"] = RULE_WORDS.get(copy["decision"]["rule"], copy["decision"]["rule"])
        for candidate in copy["decision"]["candidates"]:
            candidate["verdict_words"] = VERDICT_WORDS.get(candidate["verdict"], candidate["verdict"])
    return doc


# -- text --------------------------------------------------------------------------------


def _typed(kind: str | None, what: str) -> str:
    """npm prints an edge's type before what it reaches, except for prod."""
    return what if kind in (None, "prod") else f"{kind} {what}"


def asks(req: Requirement, name: str, hops: tuple[str | None, ...] = ()) -> str:
    """``app > dev a@1.0.0 asks for b@^2.0.0`` (with the override, when one applied)."""
    if req.path:
        steps = [req.path[0], *(_typed(hops[i] if i < len(hops) else None, step) for i, step in enumerate(req.path[1:]))]
        who = " > ".join(steps)
    else:
        who = "(root)"
    spec = req.spec if req.override is None else f"{req.spec}, overridden to {req.override}"
    return f"{who} asks for {_typed(req.kind, f'{name}@{spec}')}"


def edge_line(edge: Edge, name: str) -> str:
    return asks(edge.requirement, name, edge.hops)


def write_text(answer: Answer, out: IO[str]) -> None:
    if answer.why_not:
        out.writelines(line + "\n" for line in why_not_lines(answer.name, answer.asked or "", answer.why_not))
    else:
        for n, copy in enumerate(answer.copies):
            if n:
                out.write("\n")
            out.writelines(line + "\n" for line in copy_lines(copy))
    if answer.source == "lockfile":
        out.write("\n(answered from package-lock.json: weir recorded no decisions for this lockfile)\n")


def copy_lines(copy: Copy, *, shown: int | None = SHOWN_CANDIDATES) -> list[str]:
    """The why of one installed copy, one fact a line (rule 2)."""
    d: Decision = copy.decision
    flags = "".join(f" {f}" for f in copy.flags)
    lines = [f"{d.name}@{d.version}{flags} ({copy.location})"]
    lines.append(f"  chosen by: {_chosen_by(copy)}")
    lines += [f"  history: {line}" for line in _history(copy)]
    if copy.edges:
        lines.append("  required by:")
        lines += [f"    {edge_line(e, d.name)}" for e in copy.edges]
    else:
        lines.append("  required by: nothing (extraneous)")
    if d.placement is not None:
        p = d.placement
        line = f"  placement: {'hoisted' if p.hoisted else 'nested'}: {p.reason.removeprefix('nested: ')}"
        if copy.blocker_requirements:
            line += "; that copy is required by " + "; ".join(asks(r, d.name) for r in copy.blocker_requirements)
        lines.append(line)
    if d.metadata is not None:
        m = d.metadata
        retries = f"{m.retries} {'retry' if m.retries == 1 else 'retries'}"
        lines.append(f"  packument: {m.cache_status}, {m.elapsed_ms:.0f} ms, {retries}")
    else:
        lines.append("  packument: not recorded")
    lines += candidate_lines(copy.shortlist, d, shown=shown)
    return lines


def _chosen_by(copy: Copy) -> str:
    d = copy.decision
    if copy.history:
        now = ", ".join(sorted({r.now for r in copy.history}))
        return f"the saved range: the project asks for {now} now, which {d.version} satisfies"
    return f"{d.rule}: {RULE_WORDS.get(d.rule, d.rule)}"


def _history(copy: Copy) -> list[str]:
    d = copy.decision
    how = f"the tag pointed to {d.version}" if d.rule == "dist-tag" else RULE_WORDS.get(d.rule, d.rule)
    return [
        f"picked when {' > '.join(r.path)} asked for {d.name}@{r.then} (rule {d.rule}: {how}); "
        f"it has saved {r.now} since"
        for r in copy.history
    ]


def candidate_lines(short: Shortlist, d: Decision, *, shown: int | None = SHOWN_CANDIDATES) -> list[str]:
    """The candidates that carry information, then a count of the rest (``--json`` has them all)."""
    body: list[str] = []
    lost = short.lost if shown is None else short.lost[:shown]
    body += [f"    {c.version}: {_lost_words(c)}" for c in lost]
    if len(lost) < len(short.lost):
        body.append(f"    … and {len(short.lost) - len(lost)} more inside the range that lost to a preference")
    if short.lower:
        span = short.lower[0] if len(short.lower) == 1 else f"{short.lower[-1]} to {short.lower[0]}"
        many = "version" if len(short.lower) == 1 else "versions"
        body.append(f"    {span} ({len(short.lower)} {many} inside the range): lower than {d.version}")
    n = short.nearest_newer
    if n is not None:
        who = "; ".join(_whose(r, d.name) for r in n.excluded_by)
        body.append(f"    {n.version}: a newer {n.step}, excluded by {who}")
    if short.folded:
        body.append(f"    {short.folded} more: "
                    "outside the range or prereleases (--json lists every verdict)")
    return ["  candidates:", *body] if body else []


def _lost_words(c: Candidate) -> str:
    detail = f" ({c.detail})" if c.detail else ""
    return f"inside the range, lost: {VERDICT_WORDS.get(c.verdict, c.verdict)}{detail}"


def _whose(req: Requirement, name: str) -> str:
    """``is-odd's ^6.0.0``; the project's own requirement is ``the project's``."""
    owner = "the project" if len(req.path) <= 1 else req.path[-1].rpartition("@")[0] or req.path[-1]
    return f"{owner}'s {req.override or req.spec}"


def why_not_lines(name: str, asked: str, answers: tuple[WhyNot, ...]) -> list[str]:
    installed = ", ".join(f"{w.installed} at {w.location}" for w in answers)
    lines = [f"{name}@{asked} is not installed (installed: {installed})"]
    for w in answers:
        lines.append(f"{w.location} ({name}@{w.installed}): {why_not_line(name, asked, w)}")
        lines += [f"    {asks(req, name)}" for req in w.excluded_by]
    return lines


def why_not_line(name: str, asked: str, w: WhyNot) -> str:
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
