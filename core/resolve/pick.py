"""Choosing one version of a packument for one spec, as npm-pick-manifest does.

Rules this module holds (npm users expect the same version npm would take):

1. An exact version wins if published; a dist-tag names its version.
2. For a range, the ``latest`` tag wins when it satisfies the range (``*``
   takes ``latest`` even when it is a prerelease), unless that version is
   deprecated or its ``engines.node`` rejects the running node.
3. Otherwise the highest satisfying version, ranked first by "not deprecated
   and engines-compatible" together (npm ranks them as one key), then by
   version. A prerelease satisfies only a range that names a prerelease of the
   same major.minor.patch (semver's rule), with loose parsing.
4. Every considered version gets a verdict; only the ~20 nearest are kept so
   a 20,000-version packument does not bloat a Decision.
5. No satisfying version is ETARGET; an unknown tag too. Both name the
   dependent path and list the nearest published versions.
6. An unpublished package (npm's tombstone packument, no versions and
   ``time.unpublished``) is E404 saying it was unpublished, not an ETARGET
   listing no versions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from weir.core.resolve.decision import Candidate, Rule
from weir.core.errors import ResolveError
from weir.core.npm.packument import Packument, VersionManifest
from weir.core.npm.platform import running_node
from weir.core.npm.semver import Version, parse, parse_range, satisfies, sort_parsed

__all__ = ["Pick", "node_version", "pick_version", "engine_ok", "rejection"]

KEEP_CANDIDATES = 20
# Used when `node` is not on PATH: the active LTS line at the time of writing.
FALLBACK_NODE_VERSION = "22.12.0"


@dataclass(frozen=True, slots=True)
class Pick:
    version: str
    manifest: VersionManifest
    rule: Rule
    candidates: tuple[Candidate, ...]


def node_version() -> str:
    """The running node's version (asked once per process), for engines checks."""
    found = running_node()
    return found if found is not None and parse(found) is not None else FALLBACK_NODE_VERSION


def engine_ok(manifest: VersionManifest, node: str) -> bool:
    """npm's engine check: only ``engines.node`` counts (the npm version is not weir's)."""
    wanted = manifest.engines.get("node")
    if not wanted:
        return True
    return satisfies(node, wanted, loose=True, include_prerelease=True)


def rejection(packument: Packument, version: str, ranges: Sequence[str], node: str) -> Candidate | None:
    """What speaks against taking ``version`` of ``packument`` for ``ranges``, in the order
    npm-pick-manifest weighs it (rules 2-3): being outside a range (only by being a
    prerelease, or plainly), a manifest that cannot be decoded, deprecation,
    ``engines.node``; None when nothing does.

    ``pick_version`` records these verdicts and ``weir why`` recomputes them offline with this
    same judgement, so the two cannot disagree on why a version lost.
    """
    failing = [r for r in ranges if not satisfies(version, r, loose=True)]
    if failing:
        if not packument.usable(version):  # outside the range: no need to decode it whole
            return Candidate(version=version, verdict="outside-range", detail="unusable")
        if all(satisfies(version, r, loose=True, include_prerelease=True) for r in failing):
            return Candidate(version=version, verdict="prerelease")
        return Candidate(version=version, verdict="outside-range")
    manifest = packument.versions.get(version)
    if manifest is None:
        return Candidate(version=version, verdict="outside-range", detail="unusable")
    if manifest.deprecated is not None:
        return Candidate(version=version, verdict="deprecated", detail=manifest.deprecated[:200])
    if not engine_ok(manifest, node):
        return Candidate(version=version, verdict="engines", detail=f"engines: node {manifest.engines.get('node')} (running {node})")
    return None


def _newest_first(packument: Packument) -> list[tuple[str, Version]]:
    """Every listed version with its parse, newest first: parsed and sorted once per packument.

    A listed version that proves unusable when decoded leaves ``versions``; the
    kept order then drops it too (keys only ever leave, so a new length says so).
    """
    versions = packument.versions
    kept = packument.derived.get("newest-first")
    if kept is None:
        ordered = sort_parsed(versions, loose=True)[::-1]
    elif kept[0] != len(versions):
        ordered = [vp for vp in kept[1] if vp[0] in versions]
    else:
        return kept[1]
    packument.derived["newest-first"] = (len(versions), ordered)
    return ordered


def _etarget(name: str, wanted: str, path: tuple[str, ...], ordered: list[tuple[str, Version]]) -> ResolveError:
    shown = ", ".join(v for v, _ in ordered[:10]) or "none"
    return ResolveError(
        f"no version of {name} matches {wanted!r} (newest published: {shown})",
        package=name,
        spec=wanted,
        path=path,
        hint="loosen the range, or check for a typo in the version",
        code="ETARGET",
    )


def pick_version(
    packument: Packument,
    kind: str,
    wanted: str,
    *,
    path: tuple[str, ...] = (),
    node: str | None = None,
) -> Pick:
    """Pick for a registry spec of ``kind`` ``version``, ``range`` or ``tag``."""
    node = node or node_version()
    name = packument.name
    versions = packument.versions
    tags = packument.dist_tags
    if packument.unpublished is not None and not versions:
        raise ResolveError(
            f"{name} was unpublished ({packument.unpublished}); no version of it can be installed",
            package=name,
            spec=wanted,
            path=path,
            hint=f"remove {name} from your dependencies or replace it; a dependency that needs it must be updated",
            code="E404",
        )

    if kind == "tag":
        tagged = tags.get(wanted)
        manifest = versions.get(tagged) if tagged is not None else None
        if manifest is None:
            raise _etarget(name, wanted, path, _newest_first(packument))
        return Pick(tagged, manifest, "dist-tag", (Candidate(version=tagged, verdict="chosen", detail=f"dist-tag {wanted}"),))

    if kind == "version":
        manifest = versions.get(wanted)
        if manifest is not None:
            return Pick(wanted, manifest, "exact", (Candidate(version=wanted, verdict="chosen"),))
        # npm falls through to matching it as a range, which finds nothing but
        # names the nearest versions in the error.

    rng = wanted
    latest = tags.get("latest")
    if latest is not None and latest in versions and (rng == "*" or satisfies(latest, rng, loose=True)):
        manifest = versions.get(latest)
        if manifest is not None and manifest.deprecated is None and engine_ok(manifest, node):
            return Pick(latest, manifest, "latest-in-range", (Candidate(version=latest, verdict="chosen", detail="the latest tag satisfies the range"),))

    ordered = _newest_first(packument)
    parsed_range = parse_range(rng, loose=True)
    best: str | None = None
    best_good = False
    best_index = 0
    if parsed_range is not None:
        test = parsed_range.test
        for index, (version, parsed) in enumerate(ordered):
            if not test(parsed):
                continue
            manifest = versions.get(version)
            if manifest is None:
                continue
            good = manifest.deprecated is None and engine_ok(manifest, node)
            if best is None or (good and not best_good):
                best, best_good, best_index = version, good, index
            if best_good:
                break
    if parsed_range is None or best is None:
        raise _etarget(name, wanted, path, ordered)

    lo = max(0, best_index - KEEP_CANDIDATES // 2)
    candidates = tuple(_verdict(version, best, packument, rng, latest, node) for version, _ in ordered[lo : lo + KEEP_CANDIDATES])
    rule: Rule = "highest-in-range"
    return Pick(best, versions[best], rule, candidates)


def _verdict(version: str, best: str, packument: Packument, rng: str, latest: str | None, node: str) -> Candidate:
    """One kept candidate's verdict: chosen, the ``rejection``, or what ranked it below ``best``."""
    if version == best:
        return Candidate(version=version, verdict="chosen")
    against = rejection(packument, version, (rng,), node)
    if against is not None:
        return against
    if version == latest:
        return Candidate(version=version, verdict="dist-tag-preferred")
    return Candidate(version=version, verdict="lower")
