"""Peer dependencies: the set of peers chosen with each candidate, and what a peer conflict ends as.

Rules this module holds (arborist's, npm 11; placement rules 5 and 6 in placement.py
say where a set goes):

1. A candidate travels with its peer set: its peers, theirs, and so on, optional
   peers included (they are never installed for it, but a placement that would
   break one is a conflict). The set lives beside the dependent's own
   dependencies (arborist's virtual root): a peer is picked by the dependent's
   own edge to that name when it has one (a root's ``eslint@^8`` wins over a
   plugin's peer's ``eslint@*``), falling back to the peer's range when that
   pick does not satisfy the peer.
2. The last set chosen for a dependent is kept; a later edge of the same
   dependent takes a member that satisfies it instead of a fresh pick (the
   root's ``e@*`` takes the e@1 an earlier dependency's optional peer
   ``e@~1.0.0`` brought).
3. A member that already holds a name another member's peer rejects is swapped
   for a pick that every member (and the dependent) accepts; when there is none,
   it is a conflict.
4. A conflict while choosing a set is an error (ERESOLVE) only when the
   dependent is the root or a workspace and the set requires the peer (not
   through an optional peer); anywhere else it is a warning.
5. Override once: a placement conflict the project did not cause (``is_mine``)
   is overridden with one "overriding peer dependency" warning, and its edge is
   marked ``peer_conflicted``, which the loop never tries again. Without the
   mark two dependents that want different copies at one spot replace each
   other forever.
6. With ``legacy_peer_deps`` a candidate has no peer edges, so no set.
"""

from __future__ import annotations

from typing import Protocol

from weir.core.errors import ResolveError
from weir.core.npm.spec import Spec
from weir.core.resolve.placement import Edge, Node, Tree, dep_valid
from weir.core.resolve.records import Warnings, dependent_path
from weir.core.tree.lockfile import collation_key

__all__ = ["Peers", "PickNode", "Skip"]


class Skip(Exception):
    """An optional dependency that cannot be had; the edge is left unmet."""


class PickNode(Protocol):
    """The loop's pick: the node for one spec of ``edge`` (its own unless given), without its
    peers; raises ``Skip`` for an optional one that cannot be had (silently when ``quiet``)."""

    async def __call__(self, edge: Edge, spec: Spec | None = None, *, quiet: bool = False) -> Node: ...


class Peers:
    """Chooses peer sets (rules 1-4) and overrides the conflicts the project did not cause (rule 5)."""

    def __init__(self, tree: Tree, pick: PickNode, warnings: Warnings, *, legacy_peer_deps: bool) -> None:
        self.tree = tree
        self.pick = pick
        self.warnings = warnings
        self.legacy_peer_deps = legacy_peer_deps
        self.virtual_roots: dict[Node, dict[str, Node]] = {}  # dependent -> the last peer set chosen for it

    async def choose(self, edge: Edge) -> Node:
        """The node ``edge`` asks for, with its peer set chosen (rules 1 and 2)."""
        last = self.virtual_roots.get(edge.source)
        if last is not None:
            reuse = last.get(edge.name)
            if reuse is not None and dep_valid(reuse, edge):
                return reuse
        dep = await self.pick(edge)
        members = {edge.name: dep}
        if not self.legacy_peer_deps:
            await self._load_peer_set(dep, edge.source, members, {dep} if edge.type != "peerOptional" else set())
            peers = {name: m for name, m in members.items() if name != edge.name}
            for member in (dep, *peers.values()):
                member.peer_set = peers
        self.virtual_roots[edge.source] = members
        return dep

    async def _load_peer_set(self, node: Node, source: Node, members: dict[str, Node], required: set[Node]) -> None:
        """Choose ``node``'s peers (and theirs) into ``members``; ``required`` holds the members
        the set cannot do without (rule 4)."""
        peer_edges = sorted((e for e in node.edges_out.values() if e.peer), key=lambda e: collation_key(e.name))
        for peer_edge in peer_edges:
            current = members.get(peer_edge.name)
            if current is not None and dep_valid(current, peer_edge):
                continue
            optional = peer_edge.type == "peerOptional"
            parent_edge = source.edges_out.get(peer_edge.name)
            if current is None:
                try:
                    if parent_edge is None:
                        peer = await self.pick(peer_edge, quiet=True)
                    else:
                        peer = await self.pick(peer_edge, parent_edge.spec, quiet=True)
                        if not dep_valid(peer, peer_edge):
                            second = await self.pick(peer_edge, quiet=True)
                            if dep_valid(second, parent_edge):
                                peer = second
                except Skip:
                    continue
                members[peer_edge.name] = peer
                if node in required and not optional:
                    required.add(peer)
                await self._load_peer_set(peer, source, members, required)
                if dep_valid(peer, peer_edge):
                    continue
                assert parent_edge is not None
                self._conflict(node, peer_edge, peer, parent_edge, source, fatal=peer in required)
                continue
            # rule 3: a member of the set already holds the name and does not satisfy this peer
            try:
                alt = await self.pick(peer_edge, quiet=True)
            except Skip:
                continue
            wanting = [e for m in (*members.values(), node) if m is not current for e in m.edges_out.values() if e.name == peer_edge.name]
            if parent_edge is not None:
                wanting.append(parent_edge)
            if all(dep_valid(alt, e) for e in wanting):
                members[peer_edge.name] = alt
                await self._load_peer_set(alt, source, members, required)
                continue
            self._conflict(node, peer_edge, current, parent_edge, source, fatal=node in required)

    def _conflict(self, node: Node, peer_edge: Edge, peer: Node, parent_edge: Edge | None, source: Node, *, fatal: bool) -> None:
        who = " > ".join(dependent_path(source))
        message = (
            f"{node.package_name}@{node.version} needs peer {peer_edge.name}@{peer_edge.raw}, "
            f"but {who} requires {peer_edge.name}@{parent_edge.raw if parent_edge else peer.version} "
            f"(resolved {peer.version})"
        )
        if source.is_top and fatal:
            raise ResolveError(
                f"conflicting peer dependency: {message}",
                package=peer_edge.name,
                spec=peer_edge.raw,
                path=(*dependent_path(source), f"{node.package_name}@{node.version}"),
                hint="align the two ranges, or retry with --legacy-peer-deps to skip peer installation",
                code="ERESOLVE",
            )
        self.warnings.warn("peer-conflict", message, peer_edge.name)

    # -- conflicts at placement (rule 5) --------------------------------------------------

    def is_mine(self, top: Edge) -> bool:
        """arborist's isMine: a conflict the project brought on itself is ERESOLVE. It is when the
        edge that started the placement comes from the root or a workspace, or is a peer edge of
        a node that one of them asks for directly or through a chain of peers; any other conflict
        is overridden with a warning."""
        if top.source.is_top:
            return True
        if not top.peer:
            return False
        seen = {top.source}
        queue = [top.source]
        while queue:
            for e in self.tree.edges_in(queue.pop()):
                if not e.peer:
                    if e.source.is_top:
                        return True
                elif e.source not in seen:
                    seen.add(e.source)
                    queue.append(e.source)
        return False

    def cannot_place(self, dep: Node, edge: Edge, blocker: Node | None) -> ResolveError:
        """The ERESOLVE for a conflict ``is_mine`` says the project caused: both sides of it."""
        return ResolveError(
            f"cannot place {dep.package_name}@{dep.version}: " + (self._blocked_by(dep, blocker) if blocker else "its peers conflict"),
            package=edge.name,
            spec=edge.raw,
            path=dependent_path(edge.source),
            hint="align the conflicting ranges, or retry with --legacy-peer-deps",
            code="ERESOLVE",
        )

    def _blocked_by(self, dep: Node, blocker: Node) -> str:
        """What ``dep`` (or its peers) wants, and who holds the blocker."""
        wants = [
            f"{n.package_name}@{n.version} wants {e.name}@{e.raw}"
            for n in (dep, *dep.peer_set.values())
            for e in n.edges_out.values()
            if e.name == blocker.name
        ]
        holders = [f"{e.source.package_name or e.source.name}@{e.source.version} ({e.raw})" for e in self.tree.edges_in(blocker)]
        held = f"{blocker.location} is {blocker.package_name}@{blocker.version}"
        if holders:
            held += f", required by {', '.join(sorted(holders))}"
        return "; ".join([*wants, held])

    def override(self, edge: Edge, dep: Node) -> None:
        """npm's "ERESOLVE overriding peer dependency": say so once and mark the edge."""
        edge.peer_conflicted = True
        current = edge.to
        kept = f"{current.package_name}@{current.version} at {current.location or '<root>'}" if current is not None else "it unmet"
        self.warnings.warn(
            "peer-conflict",
            f"overriding peer dependency: {' > '.join(dependent_path(edge.source))} wants {edge.name}@{edge.raw}, "
            f"{dep.package_name}@{dep.version} cannot be placed beside it; keeping {kept}",
            edge.name,
        )

    def warn_replaced(self, edges: list[Edge]) -> None:
        """The peer edges a replacing placement overrode (the tree marked them already)."""
        for e in edges:
            current = e.to
            kept = f"{current.package_name}@{current.version}" if current is not None else "nothing"
            self.warnings.warn(
                "peer-conflict",
                f"overriding peer dependency: {' > '.join(dependent_path(e.source))} wants {e.name}@{e.raw}; "
                f"{e.name} was replaced by {kept} for another dependent",
                e.name,
            )
