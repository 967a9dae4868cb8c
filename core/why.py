"""``weir why``: answers as data, from the recorded Decisions or, failing that, the lockfile.

Rules this module holds:

1. Never the network. The sources are, in order: the Decisions the install
   recorded (``weir.core.resolve.decisions_store``, trusted only while their lockfile
   hash matches), then package-lock.json (or the hidden lockfile) alone, plus
   whatever packuments the manifest store already holds for candidate
   verdicts.
2. Lockfile answers follow node's lookup: a dependency of the entry at ``L``
   is the nearest ``L/node_modules/NAME``, then each enclosing package's
   ``node_modules``, ending at the root's. Every entry whose dependency
   fields name the package and land on a copy is one of its dependents.
3. "Why not" names the requirements that exclude the version (or, for a
   range, the requirements whose ranges cannot meet it). Only when every
   requirement allows it does the answer fall back to the preference that
   lost it (a recorded or recomputed verdict, then the rule that won).
   ``weir why`` and the TUI's Why screen both ask ``why_not_decision``.
4. No printing here: the CLI and the TUI render these records, with the
   words of ``RULE_WORDS`` and ``VERDICT_WORDS``.
5. What the project asks for now wins over what it asked when the version
   was picked: a root requirement shows the spec the lockfile's root entry
   (package.json as saved) holds; the recorded spec (``weir add ms`` asked
   for the tag ``latest``, then saved ``^2.1.3``) becomes a ``Rewrite``, history.
6. A package's flags are npm's, read from its lockfile entry (dev, optional,
   devOptional, peer, extraneous, bundled); each requirement carries the
   type of every edge on its path, so "dev" shows where the path became dev.
7. Candidates are shortlisted (``shortlist``): the versions inside every
   range that lost to a preference, the lower ones inside the range as one
   group, the nearest newer version outside a range with the requirements
   that exclude it; everything else is a count. The Decision keeps them all.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import anyio
from weir.core.npm import platform as plat
from weir.core.npm.fields import EDGE_FIELDS
from weir.core.config import Config
from weir.core.resolve.decision import (
    Candidate,
    Decision,
    DepKind,
    Placement,
    Requirement,
    Rule,
)
from weir.core.resolve.decisions_store import load_decisions
from weir.core.errors import InputError, ResolveError
from weir.core.tree.hidden_lockfile import read_hidden_lockfile
from weir.core.tree.lockfile import (
    Lockfile,
    collation_key,
    read_lockfile,
)
from weir.core.tree.paths import name_of, parent_of, resolve_location
from weir.core.registry.manifest_store import ManifestStore
from weir.core.npm.packument import Packument, PackumentError, decode_packument
from weir.core.resolve.pick import KEEP_CANDIDATES, node_version, rejection
from weir.core.npm.semver import Version, intersects, parse, satisfies, sort_versions, valid
from weir.core.npm.spec import parse_arg, parse_spec

__all__ = [
    "RULE_WORDS",
    "VERDICT_WORDS",
    "Answer",
    "Copy",
    "Edge",
    "Excluded",
    "Rewrite",
    "Shortlist",
    "Source",
    "WhyNot",
    "decisions_from_lockfile",
    "dependency_specs",
    "explain",
    "recorded_copy",
    "requirement_range",
    "shortlist",
    "verdicts",
    "why_not_decision",
]

Source = Literal["recorded", "lockfile"]

RULE_WORDS: dict[str, str] = {
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
    "git": "a git repository",
}

VERDICT_WORDS: dict[str, str] = {
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

# npm's node flags, in the order ``npm explain`` prints them; lockfile key -> word
_FLAGS: tuple[tuple[str, str], ...] = (
    ("extraneous", "extraneous"),
    ("dev", "dev"),
    ("optional", "optional"),
    ("devOptional", "devOptional"),
    ("peer", "peer"),
    ("inBundle", "bundled"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Edge:
    """One dependent's requirement as the project states it now (rule 5), with its path's edge types.

    ``hops[i]`` is the type of the edge that reached ``requirement.path[i + 1]``
    ("prod", "dev", ...; None where the lockfile cannot tell), so a prod
    dependency of a dev dependency reads ``app > dev is-odd@3.0.1``.
    """

    requirement: Requirement
    hops: tuple[DepKind | None, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Rewrite:
    """History: the spec a dependent asked with when the version was picked, and what it saves now.

    Recorded Decisions are trusted only with the lockfile of their own run
    (``decisions_store`` rule 3), whose root entry saved ``now`` from that
    very pick (``weir add`` saves ``^version``), so ``now`` allows the version.
    """

    path: tuple[str, ...]
    then: str  # e.g. "latest", the tag `weir add ms` resolved
    now: str  # e.g. "^2.1.3", what package.json says since


@dataclass(frozen=True, slots=True, kw_only=True)
class Excluded:
    """The nearest version newer than the chosen one that a requirement rules out."""

    version: str
    step: Literal["major", "minor", "patch"]
    excluded_by: tuple[Requirement, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Shortlist:
    """The candidates that carry information (rule 7); ``folded`` counts the rest."""

    lost: tuple[Candidate, ...] = ()  # inside the ranges, beaten by a preference, newest first
    lower: tuple[str, ...] = ()  # inside the ranges, lower than the chosen version, newest first
    nearest_newer: Excluded | None = None
    folded: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Copy:
    """One installed copy and its why-record."""

    location: str
    decision: Decision  # as recorded (or rebuilt from the lockfile); --json carries every candidate
    # who asked for the copy that forced this one to nest (empty when hoisted)
    blocker_requirements: tuple[Requirement, ...] = ()
    flags: tuple[str, ...] = ()  # npm's words: dev, optional, devOptional, peer, extraneous, bundled
    edges: tuple[Edge, ...] = ()  # the requirements as asked now (rule 5)
    history: tuple[Rewrite, ...] = ()
    shortlist: Shortlist = Shortlist()


@dataclass(frozen=True, slots=True, kw_only=True)
class WhyNot:
    """Why one installed copy is not the version (or range) asked about."""

    location: str
    installed: str
    version: str | None  # the concrete version examined; None when only the range was judged
    excluded_by: tuple[Requirement, ...]  # requirements that rule it out
    lost_to: str | None = None  # when nothing excludes it: a Verdict, or "not-published"
    detail: str = ""
    rule: Rule = "lockfile"  # the rule that chose the installed version


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    name: str
    asked: str | None  # the version, range or tag after NAME@, if any
    source: Source
    copies: tuple[Copy, ...]  # installed copies matching the question
    why_not: tuple[WhyNot, ...] = ()  # one per installed copy when none matches `asked`


# -- entry point -----------------------------------------------------------------------


def explain(project: Path, config: Config, query: str, *, within: Collection[str] | None = None) -> Answer:
    """Answer ``weir why QUERY`` for the project; ResolveError (exit 4) when NAME is not installed.

    ``within`` limits the answer to those install paths (what ``-w`` workspaces reach)."""
    spec = parse_arg(query)
    name = spec.name or query
    asked = spec.raw or None
    lock = _read_tree(project)
    recorded = load_decisions(project, config.cache)
    source: Source = "recorded" if recorded is not None else "lockfile"
    decisions = recorded if recorded is not None else decisions_from_lockfile(lock, _root_name(project, lock))
    locations = [loc for loc, d in decisions.items() if _names(loc, d, lock) & {name} and loc and (within is None or loc in within)]
    if not locations:
        raise ResolveError(
            f"No dependencies found matching {query}",
            package=name,
            hint="`weir ls --all` lists what is installed; run `weir install` if the lockfile is new",
            code="ENOMATCH",
        )
    real = _real_name(lock, locations[0], name)
    packument = _stored_packument(config, real)
    copies: list[Copy] = []
    for loc in sorted(locations, key=collation_key):
        d = decisions[loc]
        if source == "lockfile" and packument is not None and d.rule == "lockfile":
            d = replace(d, candidates=verdicts(packument, d.version, d.requirements))
        blocker = d.placement.blocker if d.placement is not None else None
        blocker_reqs = decisions[blocker].requirements if blocker is not None and blocker in decisions else ()
        edges, history = _edges_now(lock, loc, d)
        copies.append(Copy(
            location=loc, decision=d, blocker_requirements=blocker_reqs, flags=_flags(lock, loc),
            edges=edges, history=history,
            shortlist=shortlist(d, tuple(e.requirement for e in edges)),
        ))
    if asked is None:
        return Answer(name=name, asked=None, source=source, copies=tuple(copies))
    target = _target(spec.kind, spec.fetch_spec, packument)
    matching = tuple(c for c in copies if _matches(c.decision.version, target))
    if matching:
        return Answer(name=name, asked=asked, source=source, copies=matching)
    answers = tuple(why_not(c.location, _asked_now(c), target, packument) for c in copies)
    return Answer(name=name, asked=asked, source=source, copies=(), why_not=answers)


def _asked_now(copy: Copy) -> Decision:
    """The copy's Decision judged by the requirements as the project states them now (rule 5)."""
    return replace(copy.decision, requirements=tuple(e.requirement for e in copy.edges))


def _read_tree(project: Path) -> Lockfile:
    lock = read_lockfile(project)
    if lock is not None:
        return lock
    hidden = read_hidden_lockfile(project)
    if hidden is None:
        raise ResolveError(
            f"nothing is installed in {project}: there is no package-lock.json",
            hint="run `weir install` first",
            code="ENOMATCH",
        )
    return Lockfile(name=None, version=None, packages=hidden)


def _root_name(project: Path, lock: Lockfile) -> str:
    root = lock.packages.get("")
    return (root.name if root is not None and root.name else None) or lock.name or project.name


def _names(location: str, decision: Decision, lock: Lockfile) -> set[str]:
    entry = lock.packages.get(location)
    return {decision.name} | ({entry.name} if entry is not None and entry.name else set())


def _real_name(lock: Lockfile, location: str, name: str) -> str:
    entry = lock.packages.get(location)
    return entry.name if entry is not None and entry.name and not entry.link else name


def _stored_packument(config: Config, name: str) -> Packument | None:
    """The packument the manifest store already has (any age), or None: never a request."""
    stored = anyio.run(ManifestStore(config.cache).read, config.registry_for(name), name)
    if stored is None:
        return None
    try:
        return decode_packument(stored.body)
    except PackumentError:
        return None


# -- flags, edges and history -------------------------------------------------------------


def _flags(lock: Lockfile, location: str) -> tuple[str, ...]:
    """npm's flags of the node at ``location``, from its lockfile entry (rule 6)."""
    entry = lock.packages.get(location)
    raw = entry.raw if entry is not None else {}
    return tuple(word for key, word in _FLAGS if raw.get(key) is True)


def _edges_now(lock: Lockfile, location: str, decision: Decision) -> tuple[tuple[Edge, ...], tuple[Rewrite, ...]]:
    """Each requirement as asked now, with its path's edge types, and the specs rewritten since (rule 5)."""
    root = lock.packages.get("")
    root_specs = dependency_specs("", root.raw) if root is not None else {}
    folder = name_of(location)
    edges: list[Edge] = []
    history: list[Rewrite] = []
    for req in decision.requirements:
        now = root_specs.get(folder) if len(req.path) == 1 and parent_of(location) == "" else None
        if now is not None and req.override is None:
            if now[0] != req.spec:
                history.append(Rewrite(path=req.path, then=req.spec, now=now[0]))
            req = replace(req, spec=now[0], kind=now[1])
        edges.append(Edge(requirement=req, hops=_hops(lock, req.path)))
    return tuple(edges), tuple(history)


def _hops(lock: Lockfile, path: tuple[str, ...]) -> tuple[DepKind | None, ...]:
    """The type of each edge along a dependent path, walked from the root as node looks up (rule 2)."""
    out: list[DepKind | None] = []
    here: str | None = ""
    for step in path[1:]:
        name = step.rpartition("@")[0]
        entry = lock.packages.get(here) if here is not None else None
        found = dependency_specs(here, entry.raw).get(name) if entry is not None and here is not None and name else None
        out.append(found[1] if found is not None else None)
        here = resolve_location(lock.packages, here, name) if here is not None and name else None
    return tuple(out)


def recorded_copy(decision: Decision) -> Copy:
    """A Copy from a Decision alone (a live install or a replayed trace): no lockfile, so no flags
    and no history, but the same shortlist ``weir why`` shows."""
    location = decision.placement.location if decision.placement is not None else ""
    edges = tuple(Edge(requirement=r) for r in decision.requirements)
    return Copy(location=location, decision=decision, edges=edges, shortlist=shortlist(decision))


# -- the candidates worth showing ---------------------------------------------------------


def shortlist(decision: Decision, requirements: tuple[Requirement, ...] | None = None) -> Shortlist:
    """Sort the recorded candidates into the ones that carry information and a count (rule 7).

    A version outside the ranges counts as the "nearest newer" only when a
    requirement really excludes it (named in ``excluded_by``); prereleases
    and unusable versions are folded.
    """
    reqs = decision.requirements if requirements is None else requirements
    ranges = [(req, requirement_range(req, decision.name)) for req in reqs]
    chosen = parse(decision.version, loose=True)
    lost: list[Candidate] = []
    lower: list[str] = []
    newer_outside: list[tuple[Version, Excluded]] = []
    folded = 0
    for c in decision.candidates:
        if c.verdict == "chosen":
            continue
        if c.verdict == "lower":
            lower.append(c.version)
            continue
        if c.verdict not in ("outside-range", "prerelease"):
            lost.append(c)
            continue
        v = parse(c.version, loose=True)
        excluded = tuple(req for req, rng in ranges if rng is not None and not satisfies(c.version, rng, loose=True))
        if c.verdict == "outside-range" and excluded and chosen is not None and v is not None and v > chosen and not v.prerelease:
            newer_outside.append((v, Excluded(version=c.version, step=_step(chosen, v), excluded_by=excluded)))
        else:
            folded += 1
    nearest = min(newer_outside, key=lambda pair: pair[0])[1] if newer_outside else None
    folded += max(0, len(newer_outside) - 1)
    return Shortlist(lost=tuple(lost), lower=tuple(lower), nearest_newer=nearest, folded=folded)


def _step(chosen: Version, newer: Version) -> Literal["major", "minor", "patch"]:
    if newer.major != chosen.major:
        return "major"
    return "minor" if newer.minor != chosen.minor else "patch"


# -- "why not" -------------------------------------------------------------------------


def why_not_decision(decision: Decision, asked: str) -> WhyNot | None:
    """Why the recorded ``decision`` did not pick ``asked`` (a version or range); None when it did.

    The Why screen's question: the same answer ``weir why NAME@ASKED`` gives
    for one copy, with the recorded candidates standing in for the packument.
    InputError (exit 3) when ``asked`` is neither a version nor a range.
    """
    spec = parse_spec(decision.name, asked.strip())
    if spec.kind not in ("version", "range"):
        raise InputError(
            f"{asked!r} is not a version or a range of {decision.name}",
            package=decision.name,
            spec=asked,
            hint="ask about a version (1.2.3) or a range (^1.2)",
        )
    target = _target(spec.kind, spec.fetch_spec, None)
    if _matches(decision.version, target):
        return None
    location = decision.placement.location if decision.placement is not None else ""
    return why_not(location, decision, target, None)


_Target = tuple[Literal["version", "range"], str]


def _target(kind: str, fetch_spec: str, packument: Packument | None) -> _Target:
    """What the user asked about, as an exact version or a range (a tag needs the stored packument)."""
    if kind == "version":
        return "version", valid(fetch_spec, loose=True) or fetch_spec
    if kind == "tag":
        tagged = packument.dist_tags.get(fetch_spec) if packument is not None else None
        if tagged is None:
            raise ResolveError(
                f"cannot tell which version the tag {fetch_spec!r} names without its packument in the cache",
                spec=fetch_spec,
                hint="ask about a version or a range instead (NAME@1.2.3, NAME@^1)",
                code="ENOMATCH",
            )
        return "version", tagged
    return "range", fetch_spec


def _matches(version: str, target: _Target) -> bool:
    kind, text = target
    return version == text if kind == "version" else satisfies(version, text, loose=True)


def requirement_range(req: Requirement, name: str) -> str | None:
    """The semver range a requirement asks for (an alias's inner range), or None for a tag, folder or URL."""
    try:
        spec = parse_spec(name, req.override or req.spec)
    except InputError:
        return None
    if spec.kind == "alias" and spec.subspec is not None:
        spec = spec.subspec
    return spec.fetch_spec if spec.kind in ("version", "range") else None


def why_not(location: str, decision: Decision, target: _Target, packument: Packument | None) -> WhyNot:
    kind, text = target
    ranges = [(req, requirement_range(req, decision.name)) for req in decision.requirements]

    def answer(version: str | None, excluded: tuple[Requirement, ...] = (), lost_to: str | None = None, detail: str = "") -> WhyNot:
        return WhyNot(
            location=location, installed=decision.version, version=version, excluded_by=excluded,
            lost_to=lost_to, detail=detail, rule=decision.rule,
        )

    if kind == "range":
        known = list(packument.versions) if packument is not None else [c.version for c in decision.candidates]
        inside = [v for v in sort_versions(known, loose=True) if satisfies(v, text, loose=True)]
        excluded = tuple(req for req, rng in ranges if rng is not None and not intersects(rng, text, loose=True))
        if excluded:  # the range as a whole cannot meet them; name its newest published version when known
            return answer(inside[-1] if inside else None, excluded)
        if not inside:
            return answer(None, lost_to="not-published" if packument is not None else None)
        text = inside[-1]
    excluded = tuple(req for req, rng in ranges if rng is not None and not satisfies(text, rng, loose=True))
    if excluded:
        return answer(text, excluded)
    if packument is not None and text not in packument.versions:
        return answer(text, lost_to="not-published")
    found = next((c for c in decision.candidates if c.version == text), None)
    if found is None and packument is not None:
        found = next((c for c in verdicts(packument, decision.version, decision.requirements, keep=None) if c.version == text), None)
    if found is None:
        return answer(text)
    return answer(text, lost_to=found.verdict, detail=found.detail)


# -- candidate verdicts, recomputed offline ---------------------------------------------


def verdicts(
    packument: Packument,
    installed: str,
    requirements: tuple[Requirement, ...],
    *,
    keep: int | None = KEEP_CANDIDATES,
) -> tuple[Candidate, ...]:
    """Each published version's verdict against the installed one, newest first.

    Used when no Decision was recorded: the installed version came from the
    lockfile, so a version that satisfies everything and is newer lost to the
    kept lockfile pin. ``keep`` bounds the list to the versions nearest the
    installed one, as the resolver bounds its own.
    """
    node = node_version()
    ranges = [r for r in (requirement_range(req, packument.name) for req in requirements) if r is not None]
    ordered = sort_versions(list(packument.versions), loose=True)[::-1]
    if keep is not None and installed in ordered:
        at = ordered.index(installed)
        lo = max(0, at - keep // 2)
        ordered = ordered[lo : lo + keep]
    elif keep is not None:
        ordered = ordered[:keep]
    installed_v = parse(installed, loose=True)
    out: list[Candidate] = []
    for version in ordered:
        manifest = packument.versions.get(version)
        if manifest is None:
            continue
        if version == installed:
            out.append(Candidate(version=version, verdict="chosen", detail="pinned in package-lock.json"))
            continue
        against = rejection(packument, version, ranges, node)
        if against is not None and against.verdict == "outside-range":  # name the range it is outside
            failing = next(r for r in ranges if not satisfies(version, r, loose=True))
            out.append(replace(against, detail=f"not in {failing}"))
        elif against is not None:
            out.append(against)
        elif not plat.supported(manifest.os, manifest.cpu, manifest.libc):
            out.append(Candidate(version=version, verdict="os-cpu", detail=f"os {list(manifest.os)} cpu {list(manifest.cpu)}"))
        elif installed_v is not None and (v := parse(version, loose=True)) is not None and v > installed_v:
            out.append(Candidate(version=version, verdict="lockfile-pin-kept", detail=f"the lockfile keeps {installed}"))
        else:
            out.append(Candidate(version=version, verdict="lower"))
    return tuple(out)


# -- the lockfile fallback --------------------------------------------------------------


def dependency_specs(location: str, raw: Mapping[str, Any]) -> dict[str, tuple[str, DepKind]]:
    """name → (spec, kind); later fields win, as package.json's do (optional over prod)."""
    out: dict[str, tuple[str, DepKind]] = {}
    top = parent_of(location) is None
    meta = raw.get("peerDependenciesMeta") or {}
    for field_name, kind in EDGE_FIELDS:
        if field_name == "devDependencies" and not top:
            continue  # only the root and workspaces install their dev dependencies
        deps = raw.get(field_name)
        if not isinstance(deps, dict):
            continue
        for dep, spec in deps.items():
            if not isinstance(spec, str):
                continue
            k: DepKind = kind
            if kind == "peer" and isinstance(meta, dict) and (meta.get(dep) or {}).get("optional"):
                k = "peerOptional"
            out[dep] = (spec, k)
    return out


def _chain(lock: Lockfile, location: str, root_name: str) -> tuple[str, ...]:
    parts: list[str] = []
    here: str | None = location
    while here is not None:
        entry = lock.packages.get(here)
        if here == "":
            parts.append(root_name)
            break
        parent = parent_of(here)
        name = entry.name if entry is not None and entry.name else name_of(here)
        parts.append(name if parent is None else f"{name}@{entry.version if entry is not None else '?'}")
        here = parent
    return tuple(reversed(parts))


def decisions_from_lockfile(lock: Lockfile, root_name: str) -> dict[str, Decision]:
    """A Decision per installed path, rebuilt from the lockfile alone (rule "lockfile").

    Candidates are left empty: ``verdicts`` fills them when the packument is
    in the cache.
    """
    packages = lock.packages
    requirements: dict[str, list[tuple[str, Requirement]]] = {}
    for location, entry in packages.items():
        if entry.link:
            continue
        for dep, (spec, kind) in dependency_specs(location, entry.raw).items():
            target = resolve_location(packages, location, dep)
            if target is None:
                continue
            req = Requirement(spec=spec, kind=kind, path=_chain(lock, location, root_name))
            requirements.setdefault(target, []).append((location, req))
    out: dict[str, Decision] = {}
    for location, entry in packages.items():
        if not location:
            continue
        folder = name_of(location) if parent_of(location) is not None else (entry.name or location)
        reqs = tuple(r for _, r in sorted(requirements.get(location, []), key=lambda lr: collation_key(lr[0])))
        if entry.link:
            target = packages.get(entry.resolved or "")
            version = (target.version if target is not None else None) or ""
            rule: Rule = "workspace" if not (entry.resolved or "").startswith("node_modules/") and target is not None else "link"
            placement = Placement(location=location, hoisted=parent_of(location) == "", reason=f"a link to {entry.resolved}")
            out[location] = Decision(name=folder, version=version, rule=rule, requirements=reqs, candidates=(), placement=placement)
            continue
        out[location] = Decision(
            name=folder,
            version=entry.version or "",
            rule="lockfile",
            requirements=reqs,
            candidates=(),
            placement=_placement(lock, location, folder),
        )
    return out


def _placement(lock: Lockfile, location: str, name: str) -> Placement:
    parent = parent_of(location)
    if parent == "":
        return Placement(location=location, hoisted=True, reason="hoisted to the root")
    if parent is None:
        return Placement(location=location, hoisted=False, reason="a folder of this project")
    above = parent_of(parent)
    blocker = resolve_location(lock.packages, "" if above is None else above, name)
    if blocker is None:
        return Placement(location=location, hoisted=False, reason="placed under its dependent")
    b = lock.packages[blocker]
    return Placement(
        location=location,
        hoisted=False,
        reason=f"nested: {blocker} is {b.name}@{b.version}",
        blocker=blocker,
    )
