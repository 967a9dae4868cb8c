"""The resolver loop: package.json (+ lockfile) in, the ideal tree as a Lockfile out.

The parts, in the order an install meets them (DESIGN, "Data flow"):

- ``build``: the root, the workspaces and the lockfile's tree as nodes with edges,
  and each candidate node the loop picks;
- ``queue``: the packument fetches, in flight and ahead of placement;
- this module: the loop (problem edges -> pick -> place, until nothing is left)
  and the pick (``_Picker``: the node for one spec, from the registry, a
  workspace, a folder, a tarball or git);
- ``peers``: the peer set chosen with each candidate, and the peer conflicts;
- ``placement``: where a node goes in npm's hoisted tree;
- ``records``: the Decisions and warnings (``decisions_store`` keeps the
  Decisions on disk); ``weir.core.tree.lock_entries``: the tree as
  package-lock.json entries.

Rules this module holds (DESIGN rules 1-3, 7):

1. The loop owns every piece of per-run state (the queue, the tree and the
   records on its nodes); the registry it calls is stateless. One owner, no locks.
2. Fetches overlap in any order, but placement runs in one fixed order: nodes by
   depth, then install path (ICU order); a node's problem edges are all picked,
   in the order the package lists them, then placed in name order. Same inputs,
   same tree, same bytes.
3. Every pinned node gets a Decision (requirements, candidates, rule,
   placement, metadata) and a ``VersionPinned`` event.
4. A failing optional dependency (E404/ETARGET) is dropped with a warning, and
   its edge is not tried again at that dependent; a platform-mismatched one
   stays in the lockfile (npm records it, the installer skips it).
5. A version document must name the package it was asked for: metadata for
   ``foo`` that calls itself ``bar`` (or ``../x``) is refused (EINTEGRITY),
   never recorded as an alias nor used for a path.
6. Resolution ends on every graph: a peer conflict the project did not cause is
   overridden once (``peers`` rule 5); a dependent broken by a placement is
   visited again, but one edge at one location is placed at most
   ``MAX_PLACEMENTS`` times.
7. Workspace and file: folders are built once everything queued is placed
   (arborist resolves link targets after its queue drains), except a folder a
   new workspace link breaks, which is built first.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import anyio

from weir.core import events as ev
from weir.core.errors import IntegrityError, NetworkError, ResolveError, WeirError
from weir.core.npm import platform as plat
from weir.core.npm.package_json import PackageJson
from weir.core.npm.packument import Packument, VersionManifest
from weir.core.npm.spec import Spec
from weir.core.resolve.build import TreeBuilder, bundled
from weir.core.resolve.decision import Decision
from weir.core.resolve.peers import Peers, Skip
from weir.core.resolve.pick import pick_version
from weir.core.resolve.placement import Edge, Node, Verdict, dep_valid
from weir.core.resolve.queue import ManifestQueue, RegistryLike, registry_name
from weir.core.resolve.records import Warnings, decision_of, dependent_path, note_placed, rule_of
from weir.core.tree.lock_entries import build_lockfile
from weir.core.tree.lockfile import Lockfile, collation_key

if TYPE_CHECKING:
    from weir.core.resolve.git import Prepare

__all__ = ["Resolution", "ResolveConfig", "git_prepare", "resolve"]

MAX_PLACEMENTS = 8  # placements for one dependent's edge at one location before it is given up


OnPin = Callable[[str, str, VersionManifest], None]


class ResolveConfig(Protocol):
    """The settings resolution reads (``weir.core.config.Config`` has them all)."""

    @property
    def legacy_peer_deps(self) -> bool: ...
    @property
    def ignore_scripts(self) -> bool: ...
    @property
    def registry(self) -> str: ...
    @property
    def cache(self) -> Path: ...


@dataclass(frozen=True, slots=True)
class Resolution:
    lockfile: Lockfile
    decisions: dict[str, Decision]
    warnings: tuple[str, ...]


class _Picker:
    """The loop's pick (``peers.PickNode``): a registry version, a workspace, a folder, a tarball
    or a git commit for one spec. Apart from the loop, and holding nothing of it, so the loop and
    its peers form no reference cycle: when ``resolve`` returns, the run's packuments are freed at
    once, not at the next full garbage collection (+23 MB peak on the xl bench)."""

    def __init__(self, build: TreeBuilder, queue: ManifestQueue, config: ResolveConfig) -> None:
        self.build = build
        self.queue = queue
        self.config = config
        self.warnings = build.warnings

    async def __call__(self, edge: Edge, spec: Spec | None = None, *, quiet: bool = False) -> Node:
        """The node for one spec, without its peers. ``quiet``: an optional peer that cannot
        be had is left out of a peer set silently, as npm does."""
        spec = spec or edge.spec
        path = dependent_path(edge.source)
        if spec.kind == "git":
            return await self._git(edge, spec)
        if spec.kind == "remote":
            return self.build.remote_node(edge, spec)
        if spec.is_tarball:
            return self.build.tarball_node(edge, spec)
        if spec.kind in ("file", "workspace"):
            return self.build.folder_node(edge, spec)
        link = self.build.workspace_link(edge.name) if spec.kind in ("range", "version") else None
        if link is not None and dep_valid(link, edge):  # npm: a workspace that satisfies the range wins
            return link
        target = spec.subspec if spec.kind == "alias" else spec
        assert target is not None and target.name is not None
        try:
            done = await self.queue.get(target.name)
            packument = done.manifest
            assert isinstance(packument, Packument)
            pick = pick_version(packument, target.kind, target.fetch_spec, path=path)
        except ResolveError as exc:
            exc.path = exc.path or path
            if edge.optional:
                if not quiet:
                    self.warnings.warn("optional-skipped", f"skipping optional {edge.name}@{edge.raw} ({exc.code}): {exc.message}", edge.name)
                raise Skip from exc
            raise
        except NetworkError as exc:  # the first dependent to wait for the packument names it
            if not exc.path:
                exc.spec, exc.path = edge.raw, path
            raise
        if pick.manifest.name != target.name:  # rule 5
            raise IntegrityError(
                f"the registry's metadata for {target.name}@{pick.version} names another package ({pick.manifest.name!r})",
                package=target.name,
                spec=pick.version,
                path=path,
                hint="the registry answered with another package's metadata; report it to the registry, or check the registry URL",
            )
        return self.build.registry_node(edge, pick, done)

    async def _git(self, edge: Edge, spec: Spec) -> Node:
        """A git dependency: its committish resolved to a commit, the checkout packed into
        the cache by sha (``weir.core.resolve.git``), then read like a tarball from a registry."""
        from weir.core.resolve.git import GitPackage, fetch_git  # git specs are rare: keep subprocess et al. off the common path

        path = dependent_path(edge.source)
        prepare = git_prepare(self.config, self.build.root_pkg.trusted_dependencies, edge.name)
        try:
            got: GitPackage = await anyio.to_thread.run_sync(fetch_git, spec.fetch_spec, self.config.cache, f"{edge.name}@{spec.raw}", prepare)
        except WeirError as exc:
            exc.package, exc.spec, exc.path = edge.name, spec.raw, path
            if edge.optional and isinstance(exc, (ResolveError, NetworkError)):
                self.warnings.warn("optional-skipped", f"skipping optional {edge.name}@{edge.raw} ({exc.code}): {exc.message}", edge.name)
                raise Skip from exc
            raise
        if got.unprepared:
            self.warnings.warn(
                "git-prepare-skipped",
                f"{edge.name}@{spec.raw} has a prepare script, which weir did not run: the package is installed as committed "
                f'(add "{edge.name}" to trustedDependencies in package.json to have weir prepare it as npm does)',
                edge.name,
            )
        return self.build.git_node(edge, got)


class _Loop:
    """Problem edges -> pick -> place, breadth-first (rules 2-7)."""

    def __init__(
        self, build: TreeBuilder, queue: ManifestQueue, config: ResolveConfig, reporter: ev.Reporter, *,
        update: frozenset[str], on_pin: OnPin | None,
    ) -> None:
        self.build = build
        self.tree = build.tree
        self.warnings = build.warnings
        self.queue = queue
        self.reporter = reporter
        self.update = update
        self.on_pin = on_pin
        self.peers = Peers(self.tree, _Picker(build, queue, config), self.warnings, legacy_peer_deps=config.legacy_peer_deps)
        self.heap: list[tuple[int, object, int, Node]] = []
        self.seq = itertools.count()
        self.seen: set[Node] = set()
        self.failed: set[tuple[Node, str]] = set()  # (dependent, name): an optional dependency skipped there
        self.placements: dict[tuple[str, str], int] = {}  # (dependent's location, name) -> times placed

    # -- the breadth-first build ----------------------------------------------------------

    def push(self, node: Node) -> None:
        heapq.heappush(self.heap, (node.depth, collation_key(node.location), next(self.seq), node))

    def problem_edges(self, node: Node) -> list[Edge]:
        ships = bundled(node)
        out = []
        for edge in node.edges_out.values():
            if edge.name in ships or (node, edge.name) in self.failed:
                continue
            to = edge.to
            if to is None:
                if edge.type != "peerOptional":
                    out.append(edge)
            elif not dep_valid(to, edge) or (edge.name in self.update and to.lock_raw is not None):
                out.append(edge)
        out.sort(key=lambda e: collation_key(e.name))
        return out

    async def run(self) -> None:
        self.push(self.tree.root)
        self._push_broken_by_new_links()
        for node in list(self.tree.nodes):
            if node.lock_raw is not None and self.problem_edges(node):
                self.push(node)
        while self.heap or self._push_linked_folders():
            node = heapq.heappop(self.heap)[3]
            if node in self.seen or not self.tree.contains(node):
                continue
            self.seen.add(node)
            problems = {e for e in self.problem_edges(node) if not e.peer_conflicted}
            # picked in the order the package lists them (a pick may reuse one an earlier pick's
            # peer set made, peers rule 2), placed in name order
            edges = [e for e in node.edges_out.values() if e in problems]
            for edge in edges:
                real = registry_name(edge)
                if real is not None:
                    self.queue.want(real, "demand")
            picked: list[tuple[Edge, Node]] = []
            for edge in edges:
                try:
                    picked.append((edge, await self.peers.choose(edge)))
                except Skip:
                    self.failed.add((node, edge.name))
            picked.sort(key=lambda ed: collation_key(ed[0].name))
            for edge, dep in picked:
                if not self.tree.contains(node):
                    break  # a placement pruned the node itself (its replacement is visited instead)
                self.place_dep(dep, edge, entry=None)

    def _push_broken_by_new_links(self) -> None:
        """arborist places each workspace link (one the lockfile does not hold) while it visits
        the root, and at once queues every folder whose own dependency on that name the link
        fails (a workspace asking the registry for another version of a sibling's name): that
        folder is built before the rest, ahead of the root's registry dependencies."""
        for name in sorted(self.tree.root.children, key=collation_key):
            link = self.tree.root.children[name]
            if link.link_target is None or not link.link_target.is_workspace or f"node_modules/{name}" in self.build.locked:
                continue
            for edge in self.tree.edges_in(link):
                if edge.source is not self.tree.root and not dep_valid(link, edge):
                    self.push(edge.source)

    def _push_linked_folders(self) -> bool:
        """Rule 7: the folders not visited yet, once the queue is empty."""
        waiting = [top for top in self.tree.tops if top not in self.seen]
        for top in waiting:
            self.push(top)
        return bool(waiting)

    # -- placing ----------------------------------------------------------------------------

    def place_dep(self, dep: Node, edge: Edge, *, entry: Edge | None) -> None:
        if dep.link_target is not None and dep in self.tree.nodes:
            return  # a file: folder already linked at the root
        if not self.tree.contains(edge.source) or (entry is not None and not self.tree.contains(entry.source)):
            return  # an earlier placement pruned the dependent: nothing to place for it
        key = (edge.source.location, edge.name)
        self.placements[key] = self.placements.get(key, 0) + 1
        if self.placements[key] > MAX_PLACEMENTS:
            # a backstop the rules above should never reach: dependents that keep displacing
            # each other's copies end as an overridden conflict, not a loop
            self.peers.override(edge, dep)
            return
        chosen, conflict, self_only = self.tree.find_target(dep, edge, entry=entry)
        if chosen is None:
            if self.peers.is_mine(entry or edge):
                raise self.peers.cannot_place(dep, edge, conflict.blocker if conflict is not None else None)
            if self_only is None:
                self.peers.override(edge, dep)
                return
            chosen = self_only  # the node fits there alone; a peer that does not is overridden when its turn comes
        verdict = chosen.self_verdict if chosen.verdict is Verdict.CONFLICT else chosen.verdict
        assert verdict is not None and verdict is not Verdict.CONFLICT
        if verdict is Verdict.KEEP:
            if edge.peer and not edge.valid:
                self.peers.override(edge, dep)
            if self.update:  # arborist: a kept copy may make a deeper one of an updated name redundant
                self._prune_dedupable(chosen.target)
            return
        before = edge.to
        placed = self.tree.place(dep, chosen.target, verdict)
        self._after_place()
        if not self.tree.contains(placed):
            return  # pruned with what it replaced (a dependency cycle through the old copy)
        if edge.peer and not dep_valid(placed, edge):
            self.peers.override(edge, dep)
        if self.update:
            self._prune_duplicates(placed, before, edge)
        note_placed(dep, placed, conflict)
        self._pinned(placed, edge)
        # A dependent this placement broke is visited again, even if already visited (npm
        # when it saves a lockfile, npm/cli#8726: @angular-devkit/core is re-evaluated when
        # chokidar@4 lands beside its optional peer on chokidar@3), unless its edge was
        # overridden as a peer conflict.
        for edge_in in self.tree.edges_in(placed):
            if edge_in is edge or edge_in.peer_conflicted or dep_valid(placed, edge_in):
                continue
            self.seen.discard(edge_in.source)
            self.push(edge_in.source)
        self.push(placed)
        self.queue.prefetch_deps(placed)
        if (
            self._platform_check(placed) and self.on_pin is not None and placed.manifest is not None and placed.version
            and not (placed.resolved or "").startswith("file:")
        ):
            self.on_pin(placed.package_name, placed.version, placed.manifest)
        for peer_edge in list(placed.edges_out.values()):
            if not peer_edge.peer or peer_edge.peer_conflicted or peer_edge.valid:
                continue
            peer = dep.peer_set.get(peer_edge.name)
            if peer is None or not dep_valid(peer, peer_edge):
                continue
            self.place_dep(peer, peer_edge, entry=entry or edge)

    def _after_place(self) -> None:
        """Warn about the peer edges a replace overrode; visit again what lost its peers."""
        tree = self.tree
        self.peers.warn_replaced(tree.overridden)
        for node in tree.need_evaluation:
            if tree.contains(node):
                self.seen.discard(node)
                self.push(node)
        tree.overridden.clear()
        tree.need_evaluation.clear()

    def _pinned(self, placed: Node, edge: Edge) -> None:
        self.reporter.event(
            ev.VersionPinned(
                name=placed.name,
                version=placed.version or "",
                spec=edge.raw,
                path=dependent_path(edge.source),
                rule=rule_of(placed),
            )
        )

    def _platform_check(self, node: Node) -> bool:
        """True when this machine can install the node. npm says nothing when it
        skips another platform's optional package, so this is a debug line, not a warning."""
        m = node.manifest
        if m is None or plat.supported(m.os, m.cpu, m.libc):
            return True
        self.reporter.event(
            ev.LogLine(level="debug", message=f"{node.package_name}@{node.version} is for os {list(m.os)} cpu {list(m.cpu)}; the installer will skip it")
        )
        return False

    # -- pruning duplicates (update and dedupe only; arborist's pruneDedupable) ---------------

    def _prune_duplicates(self, placed: Node, before: Node | None, edge: Edge) -> None:
        """After an update placed ``placed``: the copy ``edge`` used before, and deeper copies of
        the name under the new one's folder (and their children), go when a shallower copy serves."""
        if before is not None and self.tree.contains(before) and before is not placed and dep_valid(before, edge):
            self._prune_dedupable(before, descend=False)
        target = placed.parent
        same = sorted((n for n in self.tree.nodes if n.name == placed.name and target is not None and n.is_descendant_of(target) and not n.is_top), key=lambda n: collation_key(n.location))
        for node in same:
            if not self.tree.contains(node):
                continue
            self._prune_dedupable(node, descend=False)
            if self.tree.contains(node):
                for kid in sorted(node.children.values(), key=lambda n: collation_key(n.location)):
                    self._prune_dedupable(kid, descend=False)

    def _prune_dedupable(self, node: Node, *, descend: bool = True) -> None:
        if self.tree.can_dedupe(node):
            self.tree.detach(node)
            return
        if descend:
            for child in sorted(node.children.values(), key=lambda n: collation_key(n.location)):
                if self.tree.contains(child):
                    self._prune_dedupable(child)

    # -- output ---------------------------------------------------------------------------

    def finish(self) -> Resolution:
        tree = self.tree
        seeded = self.build.seeded
        # npm prunes extraneous nodes only when it started from a lockfile; a fresh tree keeps
        # a copy that a later, closer placement left without dependents, and what only optional
        # peers reach, written "extraneous" (they held their place while the tree was built)
        if seeded:
            tree.prune_unreachable()
        tree.calc_dep_flags(bundled)  # a bundler's edges to what it ships end in its own bundle
        if seeded:
            for node in sorted((n for n in tree.nodes if n.extraneous and not n.is_top), key=lambda n: -n.depth):
                if tree.contains(node):
                    tree.detach(node)
        nodes = sorted(((n.location, n) for n in tree.nodes if not n.is_root), key=lambda ln: collation_key(ln[0]))
        lock = build_lockfile(self.build.root_pkg, nodes)
        decisions = {location: decision_of(node, tree) for location, node in nodes}
        return Resolution(lockfile=lock, decisions=decisions, warnings=tuple(self.warnings.messages))


def git_prepare(config: ResolveConfig, trusted: Iterable[str], name: str) -> Prepare | None:
    """The script policy for a git dependency's prepare (``weir.core.resolve.git`` rule 6): run it only
    for a name in trustedDependencies, and never under --ignore-scripts."""
    if config.ignore_scripts or name not in trusted:
        return None
    from weir.core.resolve.git import Prepare

    return Prepare(registry=str(config.registry), cache=Path(config.cache))


async def resolve(
    root: PackageJson,
    project_dir: Path,
    *,
    registry: RegistryLike,
    config: ResolveConfig,
    reporter: ev.Reporter | None = None,
    lockfile: Lockfile | None = None,
    update: Iterable[str] = frozenset(),
    on_pin: OnPin | None = None,
    edited: Mapping[str, PackageJson] | None = None,
    prefer_dedupe: bool = False,
    job_ids: ev.JobIds | None = None,
) -> Resolution:
    """Build the ideal tree for ``root`` (seeded from ``lockfile``) and return it as a Lockfile.

    ``on_pin(name, version, manifest)`` is called for each registry package as it
    is placed, so the installer can start its tarball download while resolution
    goes on; a pinned copy may still be pruned later, so it is only a hint.
    ``edited`` maps a workspace's location to its package.json as an install is
    about to save it (``weir add NAME -w ws``), in place of the file on disk.
    ``update`` names are picked again within their ranges (npm's ``update``); with
    ``prefer_dedupe`` an existing copy that satisfies a range wins over a newer one (``dedupe``).
    ``job_ids``: the run's allocator, so manifest jobs never share an id with its other jobs.
    """
    reporter = reporter or ev.Reporter()
    build = TreeBuilder(
        root, project_dir, edited or {}, legacy_peer_deps=config.legacy_peer_deps, prefer_dedupe=prefer_dedupe,
        warnings=Warnings(reporter),
    )
    build.start(lockfile)
    failure: WeirError | None = None
    async with anyio.create_task_group() as tg:
        loop = _Loop(build, ManifestQueue(registry, reporter, tg, job_ids or ev.JobIds()), config, reporter, update=frozenset(update), on_pin=on_pin)
        try:
            await loop.run()
        except WeirError as exc:  # raised outside the group, not wrapped in an ExceptionGroup
            failure = exc
        tg.cancel_scope.cancel()  # speculative prefetches nobody needs any more
    if failure is not None:
        raise failure
    return loop.finish()
