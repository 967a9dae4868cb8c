"""The ideal tree in npm's hoisted layout: where each chosen version goes.

Rules this module holds (npm 11 arborist's placement, so lockfiles agree):

1. A node's dependency resolves by walking up: its own ``node_modules``, then
   each ancestor's, then (for a workspace folder) the root's.
2. An edge that already resolves to a satisfying node is left alone (dedupe),
   and so is an edge marked ``peer_conflicted`` (a conflict overridden once).
3. Order (the resolver keeps it): nodes are visited by depth, then location;
   each one's problem edges are all picked (with their peer sets) before any is
   placed, in name order. So the first dependent seen takes the highest spot,
   and a later one nests, unless a rule below lets it take the spot over.
4. A new node is tried at the deepest allowed target first (the dependent,
   or above it while the target itself peer-depends on the name), then
   upward; it goes to the highest target reached before the first CONFLICT.
   Against a copy already in a target, in this order (arborist's canPlace):
   KEEP the same version when it satisfies the edge (or when the new node never
   satisfied it: a peer overridden while its set was chosen); REPLACE with a
   newer-or-equal version that every dependent of the current copy (outside the
   copy's own dependencies) accepts, the "newer version that satisfies all
   dependents" rule; KEEP a copy that satisfies the edge; for a peer, REPLACE a
   newer copy with an older one everybody accepts. At the deepest target only:
   a plain dependency of that target REPLACEs (the copy's dependents are visited
   again and nest), and a peer REPLACEs when every peer group the copy belongs
   to either is replaced by the new set or can nest deeper. Otherwise CONFLICT.
   With no copy there: CONFLICT when the target's own edge rejects the node, or
   when placing would shadow a copy that a dependent below the target resolves
   validly and the new version would not satisfy; else OK. Any answer other than
   CONFLICT also needs the node's peers to fit (checked at their own deepest
   target), or it becomes CONFLICT while ``self_verdict`` keeps the node's own.
5. Peers go next to their dependent, never under it. A peer set holds optional
   peers too: they are never installed for it, but one that does not fit makes
   the set not fit (so a package can land deeper because of an optional peer of
   an optional peer, as jest-config does beside @swc/helpers@0.4).
6. When no target takes the node with its peers: a conflict the project caused
   (the placement started from the root or a workspace, or from a peer set one of
   them asked for) is ERESOLVE; any other is overridden: the node goes to the
   last target it fits alone, or nowhere, and the conflicting edge is marked and
   never tried again. That mark, and the backstop of ``MAX_PLACEMENTS`` per
   dependent edge in the resolver, are why resolution ends on every graph.
7. After a placement: a replaced copy takes with it what only it needed and what
   the new copy's edges no longer accept (pruneForReplacement); deeper copies of
   the name that the copies above now serve go (pruneDedupable). A copy a closer
   placement left without dependents stays while the tree is built; a fresh
   lockfile records it ``"extraneous": true``, as npm 11 does.
8. A node whose very copy (same package, version, source) is the target or one of
   its ancestors is not nested again: a link to that ancestor goes there (arborist's
   answer to a1 > b1 > a2 > b2 > a1, which would otherwise nest without end).
9. Nothing here fetches: the resolver picks versions, this module places them.
   Every operation is deterministic for a given call order.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, NamedTuple

from weir.core.npm.overrides import OverrideSet
from weir.core.npm.packument import VersionManifest
from weir.core.npm.semver import compare, satisfies
from weir.core.npm.spec import Spec

if TYPE_CHECKING:
    from weir.core.resolve.decision import Placement
    from weir.core.resolve.records import Why

__all__ = ["Check", "Edge", "Node", "Targets", "Tree", "Verdict", "dep_valid", "EdgeType"]

EdgeType = str  # prod | dev | optional | peer | peerOptional | workspace


class Verdict(Enum):
    OK = "ok"
    KEEP = "keep"
    REPLACE = "replace"
    CONFLICT = "conflict"


class Edge:
    """``source`` depends on ``name`` with ``spec`` (after overrides)."""

    __slots__ = ("source", "name", "type", "spec", "raw", "override", "peer_conflicted")

    def __init__(self, source: Node, name: str, type: EdgeType, spec: Spec, raw: str, override: str | None) -> None:
        self.source = source
        self.name = name
        self.type = type
        self.spec = spec
        self.raw = raw
        self.override = override
        # arborist's peerConflicted: a conflict here was overridden with a warning, so the
        # loop never tries this edge again (what makes a peer fight end).
        self.peer_conflicted = False

    @property
    def peer(self) -> bool:
        return self.type in ("peer", "peerOptional")

    @property
    def optional(self) -> bool:
        return self.type in ("optional", "peerOptional")

    @property
    def dev(self) -> bool:
        return self.type == "dev"

    @property
    def to(self) -> Node | None:
        return self.source.resolve(self.name)

    @property
    def valid(self) -> bool:
        to = self.to
        if to is None:
            return self.type == "peerOptional"
        return dep_valid(to, self)

    def __repr__(self) -> str:
        return f"Edge({self.source.location or '<root>'} -> {self.name}@{self.raw} {self.type})"


class Node:
    """One folder in the tree (or a link to one), or a not-yet-placed candidate."""

    __slots__ = (
        "name", "package_name", "version", "resolved", "integrity", "manifest", "package",
        "parent", "fs_parent", "children", "edges_out", "is_root", "is_workspace", "link_target",
        "overrides", "peer_set", "dev", "optional", "dev_optional", "peer", "extraneous", "in_bundle", "realpath",
        "top_location", "lock_raw", "why", "placement",
    )

    def __init__(
        self,
        name: str,
        *,
        package_name: str | None = None,
        version: str | None = None,
        resolved: str | None = None,
        integrity: str | None = None,
        manifest: VersionManifest | None = None,
        package: dict[str, Any] | None = None,
        overrides: OverrideSet | None = None,
    ) -> None:
        self.name = name
        self.package_name = package_name or name
        self.version = version
        self.resolved = resolved
        self.integrity = integrity
        self.manifest = manifest
        self.package = package  # root / workspace / file: package.json (raw)
        self.parent: Node | None = None
        self.fs_parent: Node | None = None  # a workspace folder's project root
        self.children: dict[str, Node] = {}
        self.edges_out: dict[str, Edge] = {}
        self.is_root = False
        self.is_workspace = False
        self.link_target: Node | None = None
        self.overrides = overrides
        self.peer_set: dict[str, Node] = {}  # candidates only: the peers chosen with it
        self.dev = self.optional = self.dev_optional = self.peer = self.extraneous = True
        self.in_bundle = False
        self.realpath: str | None = None  # the folder a root/workspace/file: node stands for, or its file: tarball
        self.top_location = ""
        self.lock_raw: dict[str, Any] | None = None  # the entry an input lockfile gave it
        # the loop's records (records rules 1-2): how it was chosen, and where and why it was placed;
        # slots, so a dropped candidate or a pruned copy is freed with its records
        self.why: Why | None = None
        self.placement: Placement | None = None

    # -- shape ------------------------------------------------------------------------

    @property
    def is_top(self) -> bool:
        return self.parent is None

    @property
    def is_link(self) -> bool:
        return self.link_target is not None

    @property
    def resolve_parent(self) -> Node | None:
        return self.parent or self.fs_parent

    @property
    def location(self) -> str:
        if self.is_root:
            return ""
        if self.parent is None:
            return self.top_location
        base = self.parent.location
        return f"{base}/node_modules/{self.name}" if base else f"node_modules/{self.name}"

    @property
    def depth(self) -> int:
        depth, node = 0, self
        while node.parent is not None:
            depth, node = depth + 1, node.parent
        return depth

    def ancestry(self) -> Iterator[Node]:
        node: Node | None = self
        while node is not None:
            yield node
            node = node.resolve_parent

    def is_descendant_of(self, other: Node) -> bool:
        return any(n is other for n in self.ancestry())

    def resolve(self, name: str) -> Node | None:
        for node in self.ancestry():
            child = node.children.get(name)
            if child is not None:
                return child
        return None

    def matches(self, other: Node) -> bool:
        return (
            self.package_name == other.package_name
            and self.version == other.version
            and self.resolved == other.resolved
            and self.link_target is other.link_target
        )

    def __repr__(self) -> str:
        return f"Node({self.location or '<root>'} {self.package_name}@{self.version})"


def dep_valid(node: Node, edge: Edge) -> bool:
    """Does ``node`` satisfy ``edge``? (npm's depValid: loose semver, ``*`` takes anything.)"""
    return _spec_valid(node, edge.spec, edge.name)


def _spec_valid(node: Node, spec: Spec, name: str) -> bool:
    kind = spec.kind
    if kind == "alias":
        assert spec.subspec is not None
        sub = spec.subspec
        return node.package_name == sub.name and _spec_valid(node, sub, sub.name or name)
    if spec.is_tarball:
        return not node.is_link and node.realpath == spec.fetch_spec
    cycle_target = node.link_target
    if cycle_target is not None and not cycle_target.is_top and kind not in ("file", "workspace"):
        return _spec_valid(cycle_target, spec, name)  # a link that closes a dependency cycle
    if kind in ("file", "workspace") or node.is_link:
        target = node.link_target
        if kind == "file":
            return target is not None and target.realpath == spec.fetch_spec
        if kind == "workspace" or (target is not None and target.is_workspace):
            if target is None or node.version is None:
                return False
            return spec.fetch_spec in ("*", "^", "~") or satisfies(node.version, spec.fetch_spec, loose=True)
        return False
    if node.package_name != name:
        return False
    if kind == "remote":
        return node.resolved == spec.fetch_spec
    if kind == "git":
        return _git_valid(node, spec)
    if kind == "tag":
        return True
    if kind in ("range", "version"):
        if spec.fetch_spec == "*":
            return node.version is not None
        return node.version is not None and satisfies(node.version, spec.fetch_spec, loose=True)
    return False


def _git_valid(node: Node, spec: Spec) -> bool:
    """npm's depValid for git: the same repository; a full sha or a semver: range must
    also fit, while a branch or tag keeps the commit already locked (``weir update`` moves it)."""
    from weir.core.resolve.git import parse_git

    source = parse_git(spec.fetch_spec)
    repo, _, sha = (node.resolved or "").partition("#")
    if repo != source.repo:
        return False
    if source.range is not None:
        return node.version is not None and satisfies(node.version, source.range, loose=True)
    committish = (source.committish or "").lower()
    return len(committish) != 40 or committish == sha


@dataclass(slots=True)
class Check:
    """One CanPlace answer for one target, with the copy that blocked it.

    ``self_verdict`` is arborist's canPlaceSelf: the answer for the node alone, before
    its peers were checked (a node that fits while a peer of it does not)."""

    target: Node
    verdict: Verdict
    blocker: Node | None = None
    self_verdict: Verdict | None = None

    def __post_init__(self) -> None:
        if self.self_verdict is None:
            self.self_verdict = self.verdict


class Targets(NamedTuple):
    """find_target's answer: where the node goes with its peers (``chosen``), the first
    target that refused (``conflict``), and the last target where the node alone fits
    (``self_only``), used when the peers cannot all be placed and the conflict is overridden."""

    chosen: Check | None
    conflict: Check | None
    self_only: Check | None


class Tree:
    """The ideal tree being built, with an index of edges by name so
    "who resolves this name through here" is cheap to ask."""

    def __init__(self, root: Node, *, prefer_dedupe: bool = False) -> None:
        root.is_root = True
        self.root = root
        self.prefer_dedupe = prefer_dedupe  # `weir dedupe`: a current copy that satisfies an edge wins over a newer one
        self._edges_by_name: dict[str, list[Edge]] = {}
        self._nodes_by_name: dict[str, set[Node]] = {}
        self.need_evaluation: list[Node] = []  # dependents a placement took peers from
        self.overridden: list[Edge] = []  # peer edges a placement overrode
        self.nodes: set[Node] = set()
        self.tops: list[Node] = [root]
        self._index(root)

    # -- bookkeeping ------------------------------------------------------------------

    def _index(self, node: Node) -> None:
        stack = [node]
        while stack:
            n = stack.pop()
            self.nodes.add(n)
            self._nodes_by_name.setdefault(n.name, set()).add(n)
            for edge in n.edges_out.values():
                self._edges_by_name.setdefault(edge.name, []).append(edge)
            stack.extend(n.children.values())

    def _unindex(self, node: Node) -> None:
        stack = [node]
        while stack:
            n = stack.pop()
            self.nodes.discard(n)
            self._nodes_by_name.get(n.name, set()).discard(n)
            for edge in n.edges_out.values():
                edges = self._edges_by_name.get(edge.name)
                if edges is not None:
                    edges[:] = [e for e in edges if e is not edge]
            stack.extend(n.children.values())

    def add_top(self, node: Node, location: str) -> None:
        """A workspace folder (or file: folder) of this project: resolves through the folder
        that encloses it (a workspace nested in another's folder through that one's
        node_modules, as node and npm do), else through the root."""
        node.top_location = location
        enclosing = [t for t in self.tops[1:] if location.startswith(t.top_location + "/")]
        node.fs_parent = max(enclosing, key=lambda t: len(t.top_location), default=self.root)
        self.tops.append(node)
        self._index(node)

    def add_edge(self, node: Node, edge: Edge) -> None:
        node.edges_out[edge.name] = edge
        if node in self.nodes:
            self._edges_by_name.setdefault(edge.name, []).append(edge)

    def attach(self, node: Node, parent: Node) -> None:
        parent.children[node.name] = node
        node.parent = parent
        self._index(node)

    def detach(self, node: Node) -> None:
        if node.parent is not None and node.parent.children.get(node.name) is node:
            del node.parent.children[node.name]
        self._unindex(node)
        node.parent = None

    def contains(self, node: Node) -> bool:
        return node in self.nodes

    def edges_in(self, node: Node) -> list[Edge]:
        """Edges in the tree that currently resolve to ``node``."""
        return [e for e in self._edges_by_name.get(node.name, ()) if e.to is node]

    # -- placement --------------------------------------------------------------------

    def deepest_nesting_target(self, start: Node, name: str) -> Node:
        """The deepest place a ``name`` may go for ``start``: above any node that
        peer-depends on it, since peers must be visible beside their dependent."""
        for target in start.ancestry():
            if target.is_top:
                return target
            edge = target.edges_out.get(name)
            if edge is None or not edge.peer:
                return target
        return start

    def can_place(self, dep: Node, edge: Edge, target: Node, *, peer_entry: Edge, parent_check: bool, peer_path: tuple[Node, ...] = ()) -> Check:
        """CanPlace without mutating anything."""
        name = edge.name
        current = target.children.get(name)
        target_edge = target.edges_out.get(name)
        prefer_dedupe = self.prefer_dedupe or edge.peer
        if target_edge is not None and target_edge.peer and not target.is_top:
            return Check(target, Verdict.CONFLICT, current)
        if current is None and target_edge is not None and target_edge is not edge and not dep_valid(dep, target_edge):
            return Check(target, Verdict.CONFLICT, target.resolve(name))
        if current is not None:
            return self._check_current(dep, edge, target, current, prefer_dedupe, peer_entry, parent_check, peer_path)
        # placing here must not shadow a copy that someone below relies on
        if target is not peer_entry.source:
            visible = target.resolve(name)
            if visible is not None:
                for e in self.edges_in(visible):
                    if e.source.is_descendant_of(target) and dep_valid(visible, e) and not dep_valid(dep, e):
                        return Check(target, Verdict.CONFLICT, visible)
        return self._check_peers(dep, target, Verdict.OK, peer_entry, peer_path)

    def _check_current(
        self, dep: Node, edge: Edge, target: Node, current: Node, prefer_dedupe: bool,
        peer_entry: Edge, parent_check: bool, peer_path: tuple[Node, ...],
    ) -> Check:
        # a peer already overridden while its set was chosen (it never satisfied the edge)
        # keeps a matching copy: arborist's edgeOverride
        if dep.matches(current) and (dep_valid(current, edge) or not dep_valid(dep, edge)):
            return Check(target, Verdict.KEEP)
        fits_alone = Verdict.CONFLICT  # arborist's canPlaceSelf: the last state its peers were checked for
        try_replace = (
            current.version is not None
            and dep.version is not None
            and _gte(dep.version, current.version)
        )
        if try_replace and self.can_replace(current, dep):
            check = self._check_peers(dep, target, Verdict.REPLACE, peer_entry, peer_path)
            if check.verdict is not Verdict.CONFLICT:
                return check
            fits_alone = Verdict.REPLACE
        if dep_valid(current, edge):
            return Check(target, Verdict.KEEP)
        if prefer_dedupe and not try_replace and self.can_replace(current, dep):
            check = self._check_peers(dep, target, Verdict.REPLACE, peer_entry, peer_path)
            if check.verdict is not Verdict.CONFLICT:
                return check
            fits_alone = Verdict.REPLACE
        deepest = self.deepest_nesting_target(peer_entry.source if parent_check else edge.source, edge.name)
        if target is not deepest:
            return Check(target, Verdict.CONFLICT, current, fits_alone)
        if not edge.peer and target is edge.source:
            return self._check_peers(dep, target, Verdict.REPLACE, peer_entry, peer_path)
        if edge.peer and self._can_displace(dep, edge, target, current, peer_entry):
            return self._check_peers(dep, target, Verdict.REPLACE, peer_entry, peer_path)
        return Check(target, Verdict.CONFLICT, current, fits_alone)

    def _can_displace(self, dep: Node, edge: Edge, target: Node, current: Node, peer_entry: Edge) -> bool:
        """At a peer's deepest target, may it take ``current``'s place? Yes when every peer
        group ``current`` belongs to (by its entry edge) can either be replaced by ``dep``'s own
        group or nest deeper than ``target``; the displaced dependents are visited again."""
        group = {dep.name: dep, **dep.peer_set}
        for entry_edge, members in self.peer_entry_sets(current).items():
            if entry_edge is edge or entry_edge is peer_entry:
                continue
            entry_node = entry_edge.to
            assert entry_node is not None
            rep = group.get(entry_node.name)
            if rep is not None and self.can_replace(entry_node, rep, ignore_peers=frozenset(group)):
                continue
            if rep is None and self._group_satisfies(entry_node, group):
                continue
            for member in members:
                deepest = self.deepest_nesting_target(entry_edge.source, member.name)
                if deepest is target or target.is_descendant_of(deepest):
                    return False
        return True

    def _group_satisfies(self, entry_node: Node, group: dict[str, Node]) -> bool:
        """Would ``group``'s copies satisfy every valid peer edge of the set ``entry_node`` brings in?"""
        walk = [entry_node]
        seen = {entry_node}
        while walk:
            for e in walk.pop().edges_out.values():
                if not e.peer or not e.valid:
                    continue
                rep = group.get(e.name)
                if rep is not None:
                    if not dep_valid(rep, e):
                        return False
                elif (to := e.to) is not None and to not in seen:
                    seen.add(to)
                    walk.append(to)
        return True

    def peer_entry_sets(self, node: Node) -> dict[Edge, set[Node]]:
        """arborist's peerEntrySets: each edge that brings ``node``'s peer group into the tree
        (a non-peer edge, or any edge from a top) with the members it brings, ``node`` among them."""
        union = {node}
        walk = [node]
        while walk:
            n = walk.pop()
            linked = [e.to for e in n.edges_out.values() if e.peer and e.valid and e.to is not None]
            linked += [e.source for e in self.edges_in(n) if e.peer and e.valid]
            for other in linked:
                if other is not None and other not in union:
                    union.add(other)
                    walk.append(other)
        sets: dict[Edge, set[Node]] = {}
        for peer in sorted(union, key=lambda n: n.location):
            for e in self.edges_in(peer):
                if not e.valid or (e.peer and not e.source.is_top):
                    continue
                sub = {peer}
                walk = [peer]
                while walk:
                    for out in walk.pop().edges_out.values():
                        to = out.to
                        if out.peer and out.valid and to is not None and to not in sub:
                            sub.add(to)
                            walk.append(to)
                if node in sub:
                    sets[e] = sub
        return sets

    def _check_peers(self, dep: Node, target: Node, verdict: Verdict, peer_entry: Edge, peer_path: tuple[Node, ...]) -> Check:
        path = (*peer_path, dep)
        for peer_edge in dep.edges_out.values():
            if not peer_edge.peer:
                continue
            peer = dep.peer_set.get(peer_edge.name)
            if peer is None or any(p is peer for p in path):
                continue
            peer_target = self.deepest_nesting_target(target, peer.name)
            check = self.can_place(peer, peer_edge, peer_target, peer_entry=peer_entry, parent_check=True, peer_path=path)
            if check.verdict is Verdict.CONFLICT:
                return Check(target, Verdict.CONFLICT, check.blocker, verdict)
        return Check(target, verdict)

    def can_replace(self, current: Node, dep: Node, *, ignore_peers: frozenset[str] = frozenset()) -> bool:
        """Every edge into ``current`` from outside its own exclusive deps accepts ``dep``.

        ``ignore_peers``: names of a peer group replaced whole, whose peer edges beside
        ``current`` do not count (they are replaced along with it)."""
        if current.name != dep.name or current.package_name != dep.package_name or current.is_link:
            return False
        if current.overrides is not dep.overrides:
            return False
        own = self._dep_set(current)
        for e in self.edges_in(current):
            if e.peer and not current.is_top and e.source.parent is current.parent and e.source.name in ignore_peers:
                continue
            if e.source not in own and not dep_valid(dep, e):
                return False
        return True

    def _dep_set(self, start: Node) -> set[Node]:
        """``start`` and the nodes only it (transitively) depends on."""
        members: set[Node] = {start}
        queue = [start]
        while queue:
            n = queue.pop()
            for e in n.edges_out.values():
                to = e.to
                if to is not None and to is not start and to not in members and dep_valid(to, e):
                    members.add(to)
                    queue.append(to)
        changed = True
        while changed:
            changed = False
            for n in list(members):
                if n is start:
                    continue
                if any(e.source not in members for e in self.edges_in(n)):
                    members.discard(n)
                    changed = True
        return members

    def find_target(self, dep: Node, edge: Edge, *, entry: Edge | None = None) -> Targets:
        """Walk up from the deepest allowed target; stop at the first CONFLICT.

        ``entry`` is the edge that brought a peer's dependent in: a peer starts
        where its dependent started, so it lands beside it."""
        top = entry or edge
        start = self.deepest_nesting_target(top.source, edge.name)
        chosen: Check | None = None
        conflict: Check | None = None
        self_only: Check | None = None
        for target in start.ancestry():
            target_edge = target.edges_out.get(edge.name)
            if not target.is_top and target_edge is not None and target_edge.peer:
                continue
            check = self.can_place(dep, edge, target, peer_entry=top, parent_check=entry is not None)
            if check.self_verdict is not Verdict.CONFLICT:
                self_only = check
            if check.verdict is Verdict.CONFLICT:
                conflict = check
                break
            chosen = check
        return Targets(chosen, conflict, self_only)

    def place(self, dep: Node, target: Node, verdict: Verdict) -> Node:
        """Put a copy of ``dep`` into ``target``'s node_modules (replacing a current copy).

        When ``target`` or one of its ancestors is that very package (a1 > b1 > a2 > b2 > a1...),
        a link to that ancestor goes there instead, as arborist does, so a dependency cycle
        whose versions never meet ends instead of nesting forever."""
        for ancestor in target.ancestry():
            if not ancestor.is_top and ancestor.link_target is None and ancestor.matches(dep):
                return self._link_cycle(dep, target, ancestor)
        placed = Node(
            dep.name, package_name=dep.package_name, version=dep.version, resolved=dep.resolved,
            integrity=dep.integrity, manifest=dep.manifest, package=dep.package, overrides=dep.overrides,
        )
        placed.link_target = dep.link_target
        placed.realpath = dep.realpath
        placed.peer_set = dep.peer_set
        for e in dep.edges_out.values():
            placed.edges_out[e.name] = Edge(placed, e.name, e.type, e.spec, e.raw, e.override)
        old = target.children.get(dep.name)
        if old is not None:
            old_deps = self._dropped_deps(old, placed)
            self._settle_peer_sets_of(old, placed, target)
            kids = list(old.children.values())
            self.detach(old)
            self.attach(placed, target)
            for kid in kids:
                kid.parent = placed
                placed.children[kid.name] = kid
                self._index(kid)
            self._prune_for_replacement(placed, old_deps)
        else:
            self.attach(placed, target)
        self._prune_dedupable_below(placed, target)
        return placed

    def _link_cycle(self, dep: Node, target: Node, ancestor: Node) -> Node:
        link = Node(dep.name, package_name=dep.package_name, version=dep.version, overrides=dep.overrides)
        link.link_target = ancestor
        old = target.children.get(dep.name)
        if old is not None:
            self.detach(old)
        self.attach(link, target)
        return link

    def _settle_peer_sets_of(self, old: Node, placed: Node, target: Node) -> None:
        """arborist's replaceOldDep: a sibling peer-depending on ``old`` that ``placed`` will not
        satisfy loses its peer group when the group can go deeper (its dependents are visited
        again, in ``need_evaluation``); when the project itself brought the group in, the
        sibling's edge is overridden instead (in ``overridden``, marked, never retried)."""
        prune: set[Node] = set()
        for e in self.edges_in(old):
            if dep_valid(placed, e) or not e.peer or e.source.parent is not target or e.peer_conflicted:
                continue
            for entry_edge in self.peer_entry_sets(e.source):
                entry_node = entry_edge.to
                assert entry_node is not None
                if not entry_node.is_top and not entry_edge.source.is_top:
                    prune |= self.gather_dep_set({entry_node}, _not_into_unless_conflicted(entry_node))
                elif not e.peer_conflicted:
                    e.peer_conflicted = True
                    self.overridden.append(e)
        for node in prune:
            for e in self.edges_in(node):
                if e.source not in prune:
                    self.need_evaluation.append(e.source)
        for node in sorted(prune, key=lambda n: -n.depth):
            if self.contains(node):
                self.detach(node)

    def _dropped_deps(self, old: Node, placed: Node) -> set[Node]:
        """What ``old`` depends on through names its replacement does not depend on."""
        dropped: set[Node] = set()
        for name, e in old.edges_out.items():
            to = e.to
            if name not in placed.edges_out and to is not None:
                dropped |= self.gather_dep_set({to}, _not_into(to))
        return dropped

    def _prune_for_replacement(self, placed: Node, old_deps: set[Node]) -> None:
        """arborist's pruneForReplacement: after a replace, the copies only the old node (or
        what it alone needed) used, and the ones the new node's edges no longer accept, go."""
        invalid = {e.to for e in placed.edges_out.values() if e.to is not None and not e.valid}
        for dep in old_deps:
            into_dep = _not_into(dep)
            invalid |= self.gather_dep_set({dep}, lambda x: into_dep(x) and x.valid)
        junk = self.gather_dep_set(invalid, lambda x: x.source is not placed and x.to is not placed and x.valid)
        for node in sorted(junk, key=lambda n: -n.depth):
            if self.contains(node) and not node.is_top:
                self.detach(node)

    def gather_dep_set(self, start: set[Node], follow: Callable[[Edge], bool]) -> set[Node]:
        """arborist's gatherDepSet: ``start`` and everything reached from it along edges
        ``follow`` accepts, less every member with a ``follow``-accepted edge from outside."""
        members = set(start)
        queue = list(start)
        while queue:
            for e in queue.pop().edges_out.values():
                to = e.to
                if to is not None and to not in members and follow(e):
                    members.add(to)
                    queue.append(to)
        changed = True
        while changed and members:
            changed = False
            for n in sorted(members, key=lambda n: n.location):
                if any(e.source not in members and follow(e) for e in self.edges_in(n)):
                    members.discard(n)
                    changed = True
        return members

    def _prune_dedupable_below(self, placed: Node, target: Node) -> None:
        """arborist after a placement: a copy of the same name deeper under ``target`` that
        the copies above it now serve (same version, or an older one every dependent of it
        accepts the newer for) goes, with what only it needed; so do such children of the
        copies that stay."""
        copies = [n for n in self._nodes_by_name.get(placed.name, ()) if n is not placed and not n.is_top and n.is_descendant_of(target)]
        for node in sorted(copies, key=lambda n: n.location):
            if not self.contains(node):
                continue
            if self._prune_if_dedupable(node):
                continue
            for kid in sorted(node.children.values(), key=lambda n: n.location):
                self._prune_if_dedupable(kid)

    def _prune_if_dedupable(self, node: Node) -> bool:
        if not self.can_dedupe(node):
            return False
        for gone in sorted(self._dep_set(node), key=lambda n: -n.depth):
            if self.contains(gone):
                self.detach(gone)
        return True

    def can_dedupe(self, node: Node) -> bool:
        """arborist's canDedupe: does the copy two levels up serve everyone ``node`` serves? It
        does when it is the same package, or one that can replace it and is as new (any version
        under ``prefer_dedupe``, npm's dedupe)."""
        if node.in_bundle or node.is_link or node.is_top:
            return False
        parent = node.resolve_parent
        if parent is None or parent.resolve_parent is None:
            return False
        if not self.edges_in(node):
            return True
        other = parent.resolve_parent.resolve(node.name)
        if other is None:
            return False
        if other.matches(node):
            return True
        if not self.can_replace(node, other):
            return False
        if self.prefer_dedupe:
            return True
        return other.version is not None and node.version is not None and (compare(other.version, node.version, loose=True) or 0) >= 0

    # -- finishing --------------------------------------------------------------------

    def prune_unreachable(self) -> list[Node]:
        """Drop nodes no edge reaches any more (npm: extraneous), deepest first."""
        reached: set[Node] = set()
        stack: list[Node] = list(self.tops)
        while stack:
            n = stack.pop()
            if n in reached:
                continue
            reached.add(n)
            if n.link_target is not None:
                stack.append(n.link_target)
            for e in n.edges_out.values():
                to = e.to
                if to is not None:
                    stack.append(to)
        gone = [n for n in self.nodes if n not in reached and not n.is_top]
        for n in sorted(gone, key=lambda n: -n.depth):
            if self.contains(n):
                self.detach(n)
        return gone

    def calc_dep_flags(self, ships: Callable[[Node], Collection[str]] = lambda node: ()) -> None:
        """arborist's calcDepFlags: start everything flagged, unset along edges. ``ships(node)``
        names the dependencies a package brings in its own tarball (its bundleDependencies) when
        they are not in this tree yet: npm's edges end at those bundled copies, never at a
        same-named package higher up, so they carry no flags here.

        ``extraneous`` stays set on a node reached only through optional peer edges (and on
        what only it reaches): npm 11 records it as ``"extraneous": true`` with no other flag."""
        for n in self.nodes:
            n.dev = n.optional = n.dev_optional = n.peer = n.extraneous = True
        for top in self.tops:
            if top.is_root:
                top.dev = top.optional = top.dev_optional = top.peer = top.extraneous = False
        work = [self.root]
        while work:
            node = work.pop()
            if not node.extraneous:  # a needed node keeps the folders it lives in
                parent = node.resolve_parent
                while parent is not None and parent.extraneous:
                    parent.extraneous = False
                    parent = parent.resolve_parent
            if node.link_target is not None:
                t = node.link_target
                flags = (node.dev, node.optional, node.dev_optional, node.peer, t.extraneous and node.extraneous)
                if (t.dev, t.optional, t.dev_optional, t.peer, t.extraneous) != flags:
                    t.dev, t.optional, t.dev_optional, t.peer, t.extraneous = flags
                    work.append(t)
                continue
            shipped = ships(node)
            for e in node.edges_out.values():
                to = e.to
                if to is None or (e.name in shipped and to.parent is not node):
                    continue
                unset_dev_opt = not node.dev_optional and not node.dev and not node.optional and not e.dev and not e.optional
                unset_dev = unset_dev_opt or (not node.dev and not e.dev)
                unset_opt = unset_dev_opt or (not node.optional and not e.optional)
                unset_peer = not node.peer and not e.peer
                changed = False
                if to.extraneous and not node.extraneous and not (e.peer and e.optional):
                    to.extraneous, changed = False, True
                if unset_peer and to.peer:
                    to.peer, changed = False, True
                if unset_dev_opt and to.dev_optional:
                    to.dev_optional, changed = False, True
                if unset_dev and to.dev:
                    to.dev, changed = False, True
                if unset_opt and to.optional:
                    to.optional, changed = False, True
                if changed:
                    work.append(to)

    def walk(self) -> list[Node]:
        """Every node except the root, in location order."""
        return [n for n in self.nodes if not n.is_root]


def _not_into_unless_conflicted(node: Node) -> Callable[[Edge], bool]:
    return lambda e: e.to is not node and not e.peer_conflicted


def _not_into(node: Node) -> Callable[[Edge], bool]:
    """An edge filter: edges that do not resolve to ``node``."""
    return lambda e: e.to is not node


def _gte(a: str, b: str) -> bool:
    return (compare(a, b, loose=True) or 0) >= 0

