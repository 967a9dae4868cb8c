"""``weir why``: answers as data, from the recorded Decisions or, failing that, the lockfile.

Rules this module holds:

1. Never the network. The sources are, in order: the Decisions the install
   recorded (``weir.core.decisions_store``, trusted only while their lockfile
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
4. No printing here: the CLI and the TUI render these records.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import anyio
from weir.core import platform as plat
from weir.core.config import Config
from weir.core.decision import (
    Candidate,
    Decision,
    DepKind,
    Placement,
    Requirement,
    Rule,
)
from weir.core.decisions_store import load_decisions
from weir.core.errors import InputError, ResolveError
from weir.core.hidden_lockfile import read_hidden_lockfile
from weir.core.lockfile import (
    Lockfile,
    collation_key,
    name_from_path,
    read_lockfile,
)
from weir.core.manifest_store import ManifestStore
from weir.core.packument import Packument, PackumentError, decode_packument
from weir.core.pick import KEEP_CANDIDATES, engine_ok, node_version
from weir.core.semver import intersects, parse, satisfies, sort_versions, valid
from weir.core.spec import parse_arg, parse_spec

__all__ = [
    "Answer",
    "Copy",
    "Source",
    "WhyNot",
    "decisions_from_lockfile",
    "dependency_specs",
    "explain",
    "fs_parent",
    "lookup",
    "rejected",
    "requirement_range",
    "verdicts",
]

Source = Literal["recorded", "lockfile"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Copy:
    """One installed copy and its why-record."""

    location: str
    decision: Decision
    # who asked for the copy that forced this one to nest (empty when hoisted)
    blocker_requirements: tuple[Requirement, ...] = ()


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
        copies.append(Copy(location=loc, decision=d, blocker_requirements=blocker_reqs))
    if asked is None:
        return Answer(name=name, asked=None, source=source, copies=tuple(copies))
    target = _target(spec.kind, spec.fetch_spec, packument)
    matching = tuple(c for c in copies if _matches(c.decision.version, target))
    if matching:
        return Answer(name=name, asked=asked, source=source, copies=matching)
    answers = tuple(why_not(c.location, c.decision, target, packument) for c in copies)
    return Answer(name=name, asked=asked, source=source, copies=(), why_not=answers)


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


# -- "why not" -------------------------------------------------------------------------

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
        failing = [r for r in ranges if not satisfies(version, r, loose=True)]
        if failing:
            if all(satisfies(version, r, loose=True, include_prerelease=True) for r in failing):
                out.append(Candidate(version=version, verdict="prerelease"))
            else:
                out.append(Candidate(version=version, verdict="outside-range", detail=f"not in {failing[0]}"))
        elif manifest.deprecated is not None:
            out.append(Candidate(version=version, verdict="deprecated", detail=manifest.deprecated[:200]))
        elif not engine_ok(manifest, node):
            out.append(Candidate(version=version, verdict="engines", detail=f"engines: node {manifest.engines.get('node')} (running {node})"))
        elif not plat.supported(manifest.os, manifest.cpu, manifest.libc):
            out.append(Candidate(version=version, verdict="os-cpu", detail=f"os {list(manifest.os)} cpu {list(manifest.cpu)}"))
        elif installed_v is not None and (v := parse(version, loose=True)) is not None and v > installed_v:
            out.append(Candidate(version=version, verdict="lockfile-pin-kept", detail=f"the lockfile keeps {installed}"))
        else:
            out.append(Candidate(version=version, verdict="lower"))
    return tuple(out)


def rejected(decision: Decision, limit: int) -> tuple[tuple[Candidate, ...], int]:
    """The rejected candidates, most relevant first, and how many were left out.

    Versions that met the ranges but lost to a preference (deprecated,
    engines, prerelease, a kept pin) come before those simply outside the
    range; within each group newer versions come first, newest first ("why
    not the newest?" is the usual question), then older ones, nearest first.
    """
    chosen = parse(decision.version, loose=True)

    def rank(item: tuple[int, Candidate]) -> tuple[bool, bool, int]:
        index, c = item
        v = parse(c.version, loose=True)
        older = chosen is not None and v is not None and not v > chosen
        return c.verdict == "outside-range", older, index  # candidates are recorded newest first

    others = sorted(((i, c) for i, c in enumerate(decision.candidates) if c.verdict != "chosen"), key=rank)
    ranked = [c for _, c in others]
    return tuple(ranked[:limit]), max(0, len(ranked) - limit)


# -- the lockfile fallback --------------------------------------------------------------


def fs_parent(location: str) -> str | None:
    """The install path of the package whose node_modules holds ``location``; None for a top folder."""
    head, sep, _ = location.rpartition("/node_modules/")
    if sep:
        return head
    if location.startswith("node_modules/"):
        return ""
    return None


def lookup(packages: Mapping[str, object], location: str, name: str) -> str | None:
    """Where node finds ``name`` when required from the package at ``location`` (rule 2)."""
    here: str | None = location
    while here is not None:
        candidate = f"{here}/node_modules/{name}" if here else f"node_modules/{name}"
        if candidate in packages:
            return candidate
        if here == "":
            return None
        parent = fs_parent(here)
        # a workspace folder resolves through the folders above it (a nested one through its
        # enclosing workspace's node_modules), up to the root's
        here = parent if parent is not None else here.rpartition("/")[0]
    return None


_FIELDS: tuple[tuple[str, DepKind], ...] = (
    ("peerDependencies", "peer"),
    ("devDependencies", "dev"),
    ("dependencies", "prod"),
    ("optionalDependencies", "optional"),
)


def dependency_specs(location: str, raw: Mapping[str, Any]) -> dict[str, tuple[str, DepKind]]:
    """name → (spec, kind); later fields win, as package.json's do (optional over prod)."""
    out: dict[str, tuple[str, DepKind]] = {}
    top = fs_parent(location) is None
    meta = raw.get("peerDependenciesMeta") or {}
    for field_name, kind in _FIELDS:
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
        parent = fs_parent(here)
        name = entry.name if entry is not None and entry.name else name_from_path(here)
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
            target = lookup(packages, location, dep)
            if target is None:
                continue
            req = Requirement(spec=spec, kind=kind, path=_chain(lock, location, root_name))
            requirements.setdefault(target, []).append((location, req))
    out: dict[str, Decision] = {}
    for location, entry in packages.items():
        if not location:
            continue
        folder = name_from_path(location) if fs_parent(location) is not None else (entry.name or location)
        reqs = tuple(r for _, r in sorted(requirements.get(location, []), key=lambda lr: collation_key(lr[0])))
        if entry.link:
            target = packages.get(entry.resolved or "")
            version = (target.version if target is not None else None) or ""
            rule: Rule = "workspace" if not (entry.resolved or "").startswith("node_modules/") and target is not None else "link"
            placement = Placement(location=location, hoisted=fs_parent(location) == "", reason=f"a link to {entry.resolved}")
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
    parent = fs_parent(location)
    if parent == "":
        return Placement(location=location, hoisted=True, reason="hoisted to the root")
    if parent is None:
        return Placement(location=location, hoisted=False, reason="a folder of this project")
    above = fs_parent(parent)
    blocker = lookup(lock.packages, "" if above is None else above, name)
    if blocker is None:
        return Placement(location=location, hoisted=False, reason="placed under its dependent")
    b = lock.packages[blocker]
    return Placement(
        location=location,
        hoisted=False,
        reason=f"nested: {blocker} is {b.name}@{b.version}",
        blocker=blocker,
    )
