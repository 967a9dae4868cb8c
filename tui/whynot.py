"""Why a version was chosen, and why another was not, in words.

Rules this module keeps:

1. Answers come from the recorded Decision (DESIGN rule 7): the candidate's
   recorded verdict first, then each requirement's range checked with
   ``weir.core.semver.satisfies`` (npm-exact), so the answer names the
   dependent path that excludes the version.
2. Plain Rich text: the Why screen and ``weir why`` can both print it.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from weir.core import semver
from weir.core.decision import Decision, Requirement

RULE_WORDS = {
    "lockfile": "kept the lockfile's pin: it still satisfies every requirement",
    "exact": "the spec named this exact version",
    "dist-tag": "the spec named a dist-tag, which points here",
    "latest-in-range": "the `latest` tag satisfies every range, so it wins (as in npm)",
    "highest-in-range": "the highest version satisfying every range, after preferences",
    "override": "an `overrides` entry replaced the requested spec",
    "dedupe": "a copy already placed satisfies the range",
    "workspace": "a workspace folder of this project",
    "link": "a file: folder",
    "remote": "a tarball URL",
}


def who(req: Requirement) -> str:
    return " › ".join(req.path) if req.path else "(root)"


def _spec(req: Requirement) -> str:
    return req.override or req.spec


def why_not(decision: Decision, version: str) -> str:
    """One paragraph: why ``version`` of ``decision.name`` was not chosen."""
    version = version.strip().lstrip("v=")
    name = decision.name
    if version == decision.version:
        return f"{name}@{version} is the chosen version: {RULE_WORDS.get(decision.rule, decision.rule)}."
    if semver.valid(version) is None:
        return f"{version!r} is not a valid version."
    excluded = [req for req in decision.requirements if not semver.satisfies(version, _spec(req))]
    reasons = [f"{who(req)} asks for {name}@{_spec(req)} ({req.kind})" for req in excluded]
    recorded = next((c for c in decision.candidates if c.version == version), None)
    if recorded is not None and (recorded.verdict != "outside-range" or not excluded):
        detail = f" ({recorded.detail})" if recorded.detail else ""
        head = f"{name}@{version} was considered and rejected: {recorded.verdict}{detail}."
        return head + ("" if not reasons else " It is also excluded by: " + "; ".join(reasons) + ".")
    if reasons:
        return f"{name}@{version} is excluded by: " + "; ".join(reasons) + "."
    return (
        f"every requirement allows {name}@{version}, but {decision.version} was preferred: "
        f"{RULE_WORDS.get(decision.rule, decision.rule)}."
    )


def decision_view(decision: Decision) -> RenderableType:
    """The full why-record of one pinned package."""
    parts: list[RenderableType] = []
    head = Text(f"{decision.name}@{decision.version}", style="bold")
    head.append(f"   rule: {decision.rule}", style="cyan")
    parts += [head, Text(RULE_WORDS.get(decision.rule, ""), style="dim"), Text()]

    reqs = Table(title="Required by", title_justify="left", box=None, padding=(0, 1), expand=False)
    for col in ("spec", "kind", "dependent"):
        reqs.add_column(col)
    for req in decision.requirements:
        spec = req.spec + (f" → {req.override} (override)" if req.override else "")
        reqs.add_row(spec, req.kind, who(req))
    parts += [reqs, Text()]

    cands = Table(title="Candidates (newest first)", title_justify="left", box=None, padding=(0, 1))
    for col in ("version", "verdict", "detail"):
        cands.add_column(col)
    for c in decision.candidates:
        style = "bold green" if c.verdict == "chosen" else ""
        mark = "✓ " if c.verdict == "chosen" else "✗ "
        cands.add_row(Text(mark + c.version, style=style), c.verdict, c.detail)
    parts += [cands, Text()]

    if decision.placement is not None:
        p = decision.placement
        line = Text("Placement: ", style="bold")
        line.append(p.location)
        line.append(f"  ({'hoisted' if p.hoisted else 'nested'}: {p.reason.removeprefix('nested: ')})")
        parts.append(line)
    if decision.metadata is not None:
        m = decision.metadata
        line = Text("Metadata: ", style="bold")
        line.append(f"{m.cache_status} in {m.elapsed_ms:.0f} ms, {m.retries} {'retry' if m.retries == 1 else 'retries'}")
        parts.append(line)
    return Group(*parts)
