"""The ideal tree in npm's hoisted layout: where each chosen version goes.

Rules this module holds (npm 11 arborist's placement, so lockfiles agree):

1. A node's dependency resolves by walking up: its own ``node_modules``, then
   each ancestor's, then (for a workspace folder) the root's.
2. An edge that already resolves to a satisfying node is left alone (dedupe).
3. A new node is tried at the deepest allowed target first (the dependent,
   or above it while the target itself peer-depends on the name), then
   upward; it goes to the highest target reached before the first CONFLICT.
   A target conflicts when it holds a different copy that neither satisfies
   the edge nor can be replaced (every edge into it accepts the new one), or
   when placing there would shadow a copy that a dependent below the target
   currently resolves validly and the new version would not satisfy.
4. Peers go next to their dependent, never under it (a target that
   peer-depends on the name is skipped), and are checked with the dependent.
5. Nothing here fetches: the resolver picks versions, this module places them.
   Every operation is deterministic for a given call order.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

from weir.core.overrides import OverrideSet
from weir.core.packument import VersionManifest
from weir.core.semver import compare, satisfies
from weir.core.spec import Spec

__all__ = ["Edge", "Node", "Tree", "Verdict", "dep_valid", "EdgeType"]

EdgeType = str  # prod | dev | optional | peer | peerOptional | workspace


class Verdict(Enum):
    OK = "ok"
    KEEP = "keep"
    REPLACE = "replace"
    CONFLICT = "conflict"


class Edge:
    """``source`` depends on ``name`` with ``spec`` (after overrides)."""

    __slots__ = ("source", "name", "type", "spec", "raw", "override")

    def __init__(self, source: Node, name: str, type: EdgeType, spec: Spec, raw: str, override: str | None) -> None:
        self.source = source
        self.name = name
        self.type = type
        self.spec = spec
        self.raw = raw
        self.override = override

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
        "overrides", "peer_set", "dev", "optional", "dev_optional", "peer", "in_bundle", "realpath",
        "top_location", "lock_raw",
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
        self.dev = self.optional = self.dev_optional = self.peer = True
        self.in_bundle = False
        self.realpath: str | None = None  # the folder a root/workspace/file: node stands for, or its file: tarball
        self.top_location = ""
        self.lock_raw: dict[str, Any] | None = None  # the entry an input lockfile gave it

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
    if kind == "tag":
        return True
    if kind in ("range", "version"):
        if spec.fetch_spec == "*":
            return node.version is not None
        return node.version is not None and satisfies(node.version, spec.fetch_spec, loose=True)
    return False


@dataclass(slots=True)
class Check:
    """One CanPlace answer for one target, with the copy that blocked it."""

    target: Node
    verdict: Verdict
    blocker: Node | None = None


class Tree:
    """The ideal tree being built, with an index of edges by name so
    "who resolves this name through here" is cheap to ask."""

    def __init__(self, root: Node) -> None:
        root.is_root = True
        self.root = root
        self._edges_by_name: dict[str, list[Edge]] = {}
        self.nodes: set[Node] = set()
        self.tops: list[Node] = [root]
        self._index(root)

    # -- bookkeeping ------------------------------------------------------------------

    def _index(self, node: Node) -> None:
        stack = [node]
        while stack:
            n = stack.pop()
            self.nodes.add(n)
            for edge in n.edges_out.values():
                self._edges_by_name.setdefault(edge.name, []).append(edge)
            stack.extend(n.children.values())

    def _unindex(self, node: Node) -> None:
        stack = [node]
        while stack:
            n = stack.pop()
            self.nodes.discard(n)
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
        prefer_dedupe = edge.peer
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
        if dep.matches(current) and dep_valid(current, edge):
            return Check(target, Verdict.KEEP)
        try_replace = (
            current.version is not None
            and dep.version is not None
            and _gte(dep.version, current.version)
        )
        if try_replace and self.can_replace(current, dep):
            check = self._check_peers(dep, target, Verdict.REPLACE, peer_entry, peer_path)
            if check.verdict is not Verdict.CONFLICT:
                return check
        if dep_valid(current, edge):
            return Check(target, Verdict.KEEP)
        if prefer_dedupe and not try_replace and self.can_replace(current, dep):
            check = self._check_peers(dep, target, Verdict.REPLACE, peer_entry, peer_path)
            if check.verdict is not Verdict.CONFLICT:
                return check
        deepest = self.deepest_nesting_target(peer_entry.source if parent_check else edge.source, edge.name)
        if target is not deepest:
            return Check(target, Verdict.CONFLICT, current)
        if not edge.peer and target is edge.source:
            return self._check_peers(dep, target, Verdict.REPLACE, peer_entry, peer_path)
        return Check(target, Verdict.CONFLICT, current)

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
                return Check(target, Verdict.CONFLICT, check.blocker)
        return Check(target, verdict)

    def can_replace(self, current: Node, dep: Node) -> bool:
        """Every edge into ``current`` from outside its own exclusive deps accepts ``dep``."""
        if current.name != dep.name or current.package_name != dep.package_name or current.is_link:
            return False
        if current.overrides is not dep.overrides:
            return False
        own = self._dep_set(current)
        for e in self.edges_in(current):
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

    def find_target(self, dep: Node, edge: Edge, *, entry: Edge | None = None) -> tuple[Check | None, Check | None]:
        """Walk up from the deepest allowed target; return (chosen, first conflict).

        ``entry`` is the edge that brought a peer's dependent in: a peer starts
        where its dependent started, so it lands beside it."""
        top = entry or edge
        start = self.deepest_nesting_target(top.source, edge.name)
        chosen: Check | None = None
        conflict: Check | None = None
        for target in start.ancestry():
            target_edge = target.edges_out.get(edge.name)
            if not target.is_top and target_edge is not None and target_edge.peer:
                continue
            check = self.can_place(dep, edge, target, peer_entry=top, parent_check=entry is not None)
            if check.verdict is Verdict.CONFLICT:
                conflict = check
                break
            chosen = check
        return chosen, conflict

    def place(self, dep: Node, target: Node, verdict: Verdict) -> Node:
        """Put a copy of ``dep`` into ``target``'s node_modules (replacing a current copy)."""
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
            kids = list(old.children.values())
            self.detach(old)
            self.attach(placed, target)
            for kid in kids:
                kid.parent = placed
                placed.children[kid.name] = kid
                self._index(kid)
        else:
            self.attach(placed, target)
        return placed

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
        same-named package higher up, so they carry no flags here."""
        for n in self.nodes:
            n.dev = n.optional = n.dev_optional = n.peer = True
        for top in self.tops:
            if top.is_root:
                top.dev = top.optional = top.dev_optional = top.peer = False
        work = [self.root]
        while work:
            node = work.pop()
            if node.link_target is not None:
                t = node.link_target
                if (t.dev, t.optional, t.dev_optional, t.peer) != (node.dev, node.optional, node.dev_optional, node.peer):
                    t.dev, t.optional, t.dev_optional, t.peer = node.dev, node.optional, node.dev_optional, node.peer
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


def _gte(a: str, b: str) -> bool:
    return (compare(a, b, loose=True) or 0) >= 0

