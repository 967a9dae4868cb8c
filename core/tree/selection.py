"""Which lockfile entries get installed: npm's `--omit` rules plus platform checks.

One function for the installer and the no-op check, so both always agree on
what a complete node_modules holds. npm's rules:

1. An entry flagged `dev` is left out with `--omit dev`, `optional` with
   `--omit optional`, `devOptional` only when both are omitted, `peer` with
   `--omit peer`.
2. An optional entry whose os/cpu/libc excludes this machine, or whose
   ``engines.node`` excludes the ``node`` on PATH (npm checks the node running
   it, whatever engine-strict says; node is asked only when some optional
   entry has ``engines.node``), is never installed, and neither is its
   optional set (arborist's ``optionalSet``): the dependents that need it
   through a non-optional edge, and every package only those reach. A package
   also needed from outside the set stays. npm keeps all of them in
   package-lock.json (resolution is the same on every platform) but not in
   node_modules or its hidden lockfile.
3. A package nested in one that is left out is left out (its folder would
   live inside the omitted one).
4. An ``inBundle`` entry nested in a package that is not itself bundled
   arrives inside that package's tarball; one whose bundler is the root
   project (the root's own ``bundleDependencies``) is installed from the
   registry like any dependency, as npm does.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from weir.core.npm.fields import EDGE_FIELDS
from weir.core.npm.platform import running_node, supported
from weir.core.tree.paths import ancestors_of, depth, in_node_modules, name_of, parent_of, resolve_location



def is_installed(raw: Mapping[str, Any], omit: Collection[str]) -> bool:
    """Should this ``packages`` entry (npm's JSON shape) be in node_modules, on its own flags (rules 1-2)?"""
    return not _omitted(raw, omit) and not _cannot_run(raw)


def installed_paths(packages: Mapping[str, Mapping[str, Any]], omit: Collection[str]) -> list[str]:
    """The non-root paths of a lockfile's ``packages`` that belong in node_modules (rules 1-3)."""
    skipped = platform_skipped(packages)
    keep: list[str] = []
    kept: set[str] = set()
    for path in sorted(packages, key=lambda p: (depth(p), p)):
        if not path or path in skipped:
            continue
        parent = parent_of(path) or ""
        if parent and parent not in kept and parent.startswith("node_modules/"):
            continue
        if not _omitted(packages[path], omit):
            keep.append(path)
            kept.add(path)
    return sorted(keep)


def platform_skipped(packages: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Rule 2: the optional packages this machine (or its node) cannot run, with their optional sets.

    Sets are taken in path order, and an edge from a package already skipped
    keeps nothing alive, so two platform packages sharing a dependency take
    it with them whichever comes first.
    """
    failing = [p for p in sorted(packages) if p and _cannot_run(packages[p])]
    if not failing:
        return set()
    graph = _Graph(packages)
    skipped: set[str] = set()
    for path in failing:
        if path not in skipped:
            skipped |= graph.optional_set(path, skipped)
    return skipped


def shipped_in_tarballs(bundled: Collection[str]) -> set[str]:
    """Rule 4: of the paths of ``inBundle`` entries, those that arrive inside a dependency's
    tarball (an enclosing package folder is not bundled), not from the registry."""
    out = set()
    for path in bundled:
        if any(a not in bundled for a in ancestors_of(path)):
            out.add(path)
    return out


def _omitted(raw: Mapping[str, Any], omit: Collection[str]) -> bool:
    """Rule 1."""
    if raw.get("dev") and "dev" in omit:
        return True
    if raw.get("optional") and "optional" in omit:
        return True
    if raw.get("devOptional") and "dev" in omit and "optional" in omit:
        return True
    return bool(raw.get("peer")) and "peer" in omit


def _cannot_run(raw: Mapping[str, Any]) -> bool:
    """Rule 2's test of one optional entry: its platform fields, then its ``engines.node``."""
    if not (raw.get("optional") or raw.get("devOptional")):
        return False
    if not supported(raw.get("os"), raw.get("cpu"), raw.get("libc")):
        return True
    engines = raw.get("engines")
    wanted = engines.get("node") if isinstance(engines, dict) else None
    if not wanted:
        return False
    node = running_node()  # only now: most lockfiles never need it
    from weir.core.npm.semver import satisfies  # here: compiling its patterns is 20 ms of a 100 ms no-op

    # npm's checkEngine: prerelease versions included, and a range semver cannot read fails
    return node is not None and not satisfies(node, wanted, include_prerelease=True)


class _Graph:
    """The lockfile's dependency edges, each resolved as node finds it (nearest
    ``node_modules`` upwards); an edge is optional when it comes from
    ``optionalDependencies`` or is an optional peer.

    Only the edges the optional sets touch are resolved: the index of who
    names which package is a scan of dict keys, cheap enough for the no-op
    check on a thousand-package lockfile.
    """

    def __init__(self, packages: Mapping[str, Mapping[str, Any]]) -> None:
        self.packages = packages
        naming: dict[str, list[str]] = {}  # dependency name (or link target) -> the entries naming it
        found = naming.get
        for path, raw in packages.items():
            if raw.get("link"):
                names: Any = [raw.get("resolved")]
            else:
                names = [n for f, _ in EDGE_FIELDS if (deps := raw.get(f)) and isinstance(deps, dict) for n in deps]
            for name in names:
                sources = found(name)
                if sources is None:
                    naming[name] = [path]
                else:
                    sources.append(path)
        self.naming = naming
        self._into: dict[str, list[tuple[str, bool]]] = {}

    def out(self, path: str) -> Iterator[str]:
        return dependencies_of(path, self.packages)

    def into(self, path: str) -> list[tuple[str, bool]]:
        """(source, optional) for every edge that lands on ``path``."""
        edges = self._into.get(path)
        if edges is None:
            name = name_of(path)
            edges = []
            for source in self.naming.get(name, ()):
                raw = self.packages[source]
                kinds = _edge_names(source, raw)
                if name in kinds and (raw.get("resolved") if raw.get("link") else resolve_location(self.packages, source, name)) == path:
                    edges.append((source, kinds[name]))
            self._into[path] = edges
        return edges

    def optional_set(self, start: str, skipped: set[str]) -> set[str]:
        """arborist's optionalSet: up through non-optional edges, then down to what only the set needs."""
        boundary = [start]
        inside = {start}
        for node in boundary:
            for source, optional in self.into(node):
                if not optional and source and source not in inside:
                    inside.add(source)
                    boundary.append(source)

        def counts(source: str, to: str) -> bool:
            return to not in inside and source not in skipped

        found = list(inside)
        members = set(inside)
        for node in found:
            for to in self.out(node):
                if to not in members and counts(node, to):
                    members.add(to)
                    found.append(to)
        changed = True
        while changed and members:
            changed = False
            for dep in sorted(members):
                if any(s not in members and counts(s, dep) for s, _ in self.into(dep)):
                    members.discard(dep)
                    changed = True
        return members


def dependencies_of(path: str, packages: Mapping[str, Mapping[str, Any]]) -> Iterator[str]:
    """The install paths the entry at ``path`` depends on, found as node finds them."""
    raw = packages[path]
    for name in _edge_names(path, raw):
        to = name if raw.get("link") else resolve_location(packages, path, name)
        if to is not None and to in packages:
            yield to


def _edge_names(path: str, raw: Mapping[str, Any]) -> dict[str, bool]:
    """name -> optional for each dependency the entry at ``path`` declares; a link entry's one
    edge is to its target folder (keyed by that path)."""
    if raw.get("link"):
        target = raw.get("resolved")
        return {target: False} if isinstance(target, str) else {}
    top = not in_node_modules(path)  # the root or a workspace folder
    kinds: dict[str, bool] = {}
    for field, _ in EDGE_FIELDS:
        deps = raw.get(field)
        if not deps or not isinstance(deps, dict) or (field == "devDependencies" and not top):
            continue
        if field == "peerDependencies":
            meta = raw.get("peerDependenciesMeta")
            for name in deps:
                entry = meta.get(name) if isinstance(meta, dict) else None
                kinds[name] = isinstance(entry, dict) and entry.get("optional") is True
        else:
            optional = field == "optionalDependencies"
            for name in deps:
                kinds[name] = optional
    return kinds

