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

import functools
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from weir.core.decision import Candidate, Rule
from weir.core.errors import ResolveError
from weir.core.packument import Packument, VersionManifest
from weir.core.semver import parse, parse_range, satisfies, sort_versions

__all__ = ["Pick", "node_version", "pick_version", "engine_ok"]

KEEP_CANDIDATES = 20
# Used when `node` is not on PATH: the active LTS line at the time of writing.
FALLBACK_NODE_VERSION = "22.12.0"


@dataclass(frozen=True, slots=True)
class Pick:
    version: str
    manifest: VersionManifest
    rule: Rule
    candidates: tuple[Candidate, ...]


@functools.cache
def node_version() -> str:
    """The running node's version (asked once per process), for engines checks."""
    try:
        out = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return FALLBACK_NODE_VERSION
    return out.lstrip("v") if parse(out.lstrip("v")) is not None else FALLBACK_NODE_VERSION


def engine_ok(manifest: VersionManifest, node: str) -> bool:
    """npm's engine check: only ``engines.node`` counts (the npm version is not weir's)."""
    wanted = manifest.engines.get("node")
    if not wanted:
        return True
    return satisfies(node, wanted, loose=True, include_prerelease=True)


def _newest_first(versions: list[str]) -> list[str]:
    return sort_versions(versions, loose=True)[::-1]


def _nearest(ordered: list[str], around: int) -> list[str]:
    lo = max(0, around - KEEP_CANDIDATES // 2)
    return ordered[lo : lo + KEEP_CANDIDATES]


def _etarget(name: str, wanted: str, path: tuple[str, ...], ordered: list[str]) -> ResolveError:
    shown = ", ".join(ordered[:10]) or "none"
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
            raise _etarget(name, wanted, path, _newest_first(list(versions)))
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

    ordered = _newest_first(list(versions))
    parsed_range = parse_range(rng, loose=True)
    best: str | None = None
    best_good = False
    best_index = 0
    satisfying: dict[str, bool] = {}
    for index, version in enumerate(ordered):
        parsed = parse(version, loose=True)
        if parsed_range is None or parsed is None or not parsed_range.test(parsed):
            continue
        manifest = versions.get(version)
        if manifest is None:
            continue
        good = manifest.deprecated is None and engine_ok(manifest, node)
        satisfying[version] = good
        if best is None or (good and not best_good):
            best, best_good, best_index = version, good, index
        if best_good:
            break
    if best is None:
        raise _etarget(name, wanted, path, ordered)

    candidates: list[Candidate] = []
    for version in _nearest(ordered, best_index):
        candidates.append(_verdict(version, best, satisfying, versions, rng, latest, node))
    rule: Rule = "highest-in-range"
    return Pick(best, versions[best], rule, tuple(candidates))


def _verdict(
    version: str,
    best: str,
    satisfying: dict[str, bool],
    versions: Mapping[str, VersionManifest],
    rng: str,
    latest: str | None,
    node: str,
) -> Candidate:
    if version == best:
        return Candidate(version=version, verdict="chosen")
    manifest = versions.get(version)
    if manifest is None:
        return Candidate(version=version, verdict="outside-range", detail="unusable")
    if version not in satisfying and not satisfies(version, rng, loose=True):
        if satisfies(version, rng, loose=True, include_prerelease=True):
            return Candidate(version=version, verdict="prerelease")
        return Candidate(version=version, verdict="outside-range")
    if manifest.deprecated is not None:
        return Candidate(version=version, verdict="deprecated", detail=manifest.deprecated[:200])
    if not engine_ok(manifest, node):
        return Candidate(version=version, verdict="engines", detail=f"engines: node {manifest.engines.get('node')} (running {node})")
    if version == latest:
        return Candidate(version=version, verdict="dist-tag-preferred")
    return Candidate(version=version, verdict="lower")
