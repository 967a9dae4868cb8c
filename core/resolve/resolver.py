"""The resolver loop: package.json (+ lockfile) in, the ideal tree as a Lockfile out.

Rules this module holds (DESIGN rules 1-3, 7):

1. The loop owns every piece of per-run state: the in-flight map keyed by
   ``Full(name)``, the run-local packument cache, the two-lane queue (demand
   before prefetch; a prefetch the loop waits on is promoted) and the
   Decision records. The registry it calls is stateless. One owner, no locks.
2. Fetches overlap in any order (at most ``MAX_IN_FLIGHT``), but placement
   runs in one fixed order: nodes by depth, then install path (ICU order);
   a node's dependencies by name. Same inputs, same tree, same bytes.
3. When a version is pinned its own dependencies are prefetched, so the
   network runs ahead of placement.
4. Every pinned node gets a Decision (requirements, candidates, rule,
   placement, metadata) and a ``VersionPinned`` event.
5. A failing optional dependency (E404/ETARGET) is dropped with a warning;
   a platform-mismatched one stays in the lockfile (npm records it, the
   installer skips it) with a warning.
6. A version document must name the package it was asked for: metadata for
   ``foo`` that calls itself ``bar`` (or ``../x``) is refused (EINTEGRITY),
   never recorded as an alias nor used for a path.
7. Resolution ends on every graph: a peer conflict the project did not cause is
   overridden once with a warning and its edge never tried again; a dependent
   broken by a placement is visited again, but one edge at one location is
   placed at most ``MAX_PLACEMENTS`` times (placement rules: core/placement.py).
"""

from __future__ import annotations

import heapq
import itertools
import os
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from weir.core import events as ev
from weir.core.npm import platform as plat
from weir.core.tree.bundled import bundle_names, mark_root_bundle
from weir.core.resolve.decision import Candidate, Decision, Metadata, Placement, Requirement, Rule
from weir.core.errors import InputError, IntegrityError, NetworkError, ResolveError, WeirError
from weir.core.registry.local_tarball import read_local_tarball
from weir.core.tree.lockfile import LockEntry, Lockfile, collation_key, entry_from_json
from weir.core.npm.fields import normalize_funding
from weir.core.npm.overrides import OverrideSet, build_overrides
from weir.core.npm.package_json import PackageJson, normalize_bin, read_package_json
from weir.core.npm.packument import Packument, VersionManifest
from weir.core.resolve.pick import Pick, pick_version
from weir.core.resolve.placement import Check, Edge, Node, Tree, Verdict, dep_valid
from weir.core.registry.registry import Full, ManifestDone
from weir.core.npm.spec import Spec, parse_spec
from weir.core.resolve.workspaces import workspace_folders

if TYPE_CHECKING:
    from weir.core.resolve.git import Prepare

__all__ = ["Resolution", "resolve", "manifest_fields", "MAX_IN_FLIGHT", "git_prepare"]

MAX_IN_FLIGHT = 64
MAX_PLACEMENTS = 8  # placements for one dependent's edge at one location before it is given up


OnPin = Callable[[str, str, "VersionManifest"], None]


class RegistryLike(Protocol):
    async def execute(self, job: Full, *, job_id: int) -> ManifestDone: ...


@dataclass(frozen=True, slots=True)
class Resolution:
    lockfile: Lockfile
    decisions: dict[str, Decision]
    warnings: tuple[str, ...]


# -- fetching -------------------------------------------------------------------------


class _Fetcher:
    """The in-flight map, the run-local cache and the two lanes."""

    def __init__(self, registry: RegistryLike, reporter: ev.Reporter, tg: anyio.abc.TaskGroup, job_ids: ev.JobIds) -> None:
        self.registry = registry
        self.reporter = reporter
        self.tg = tg
        self.done: dict[str, ManifestDone | WeirError] = {}
        self.ready: dict[str, anyio.Event] = {}
        self.lane: dict[str, ev.Lane] = {}
        self.job_ids: dict[str, int] = {}
        self.demand: deque[str] = deque()
        self.prefetch: deque[str] = deque()
        self.running = 0
        self.ids = job_ids

    def want(self, name: str, lane: ev.Lane) -> None:
        if name in self.ready:
            if lane == "demand" and self.lane.get(name) == "prefetch":
                self.lane[name] = "demand"
                self.reporter.event(ev.JobPromoted(job_id=self.job_ids[name], package=name))
                if name in self.prefetch:
                    self.prefetch.remove(name)
                    self.demand.append(name)
            return
        self.ready[name] = anyio.Event()
        self.lane[name] = lane
        job_id = self.job_ids[name] = self.ids.next()
        self.reporter.event(ev.JobQueued(job_id=job_id, kind="manifest", package=name, lane=lane))
        (self.demand if lane == "demand" else self.prefetch).append(name)
        self._pump()

    def _pump(self) -> None:
        while self.running < MAX_IN_FLIGHT and (self.demand or self.prefetch):
            name = self.demand.popleft() if self.demand else self.prefetch.popleft()
            self.running += 1
            self.tg.start_soon(self._run, name)
        if self.demand or self.prefetch:
            self.reporter.event(ev.QueueDepth(demand=len(self.demand), prefetch=len(self.prefetch), in_flight=self.running))

    async def _run(self, name: str) -> None:
        job_id = self.job_ids[name]
        self.reporter.event(ev.JobStarted(job_id=job_id, kind="manifest", package=name))
        try:
            self.done[name] = await self.registry.execute(Full(name), job_id=job_id)
        except WeirError as exc:
            self.done[name] = exc
        finally:
            self.running -= 1
            self.ready[name].set()
            self._pump()

    async def get(self, name: str) -> ManifestDone:
        self.want(name, "demand")
        await self.ready[name].wait()
        result = self.done[name]
        if isinstance(result, WeirError):
            raise result
        return result


# -- the loop -------------------------------------------------------------------------


class _Skip(Exception):
    """An optional dependency that cannot be had; the edge is left unmet."""


@dataclass(slots=True)
class _Why:
    rule: Rule
    candidates: tuple[Candidate, ...]
    metadata: Metadata | None


class _Loop:
    def __init__(
        self, root_pkg: PackageJson, project_dir: Path, registry: RegistryLike, config: Any, reporter: ev.Reporter, update: frozenset[str],
        edited: Mapping[str, PackageJson],
    ) -> None:
        self.root_pkg = root_pkg
        self.edited = edited
        self.project_dir = project_dir
        self.registry = registry
        self.legacy_peer_deps = bool(getattr(config, "legacy_peer_deps", False))
        self.config = config
        self.cache: Path = Path(getattr(config, "cache", project_dir / ".weir-cache"))
        self.reporter = reporter
        self.update = update
        self.warnings: list[str] = []
        self.why: dict[int, _Why] = {}  # id(node) -> why (nodes are placed copies of candidates)
        self.failed: set[tuple[int, str]] = set()
        self.seen: set[Node] = set()
        self.seeded = False  # started from a package-lock.json
        self.heap: list[tuple[int, Any, int, Node]] = []
        self.seq = itertools.count()
        self.folder_pkgs: dict[int, PackageJson] = {}
        self.locked: frozenset[str] = frozenset()  # the input lockfile's paths
        self.overrides: OverrideSet | None = build_overrides(
            root_pkg.overrides, {**root_pkg.dev_dependencies, **root_pkg.optional_dependencies, **root_pkg.dependencies}
        )

    # -- setup ------------------------------------------------------------------------

    def build_root(self, lock: Lockfile | None) -> Tree:
        root = Node(self.root_pkg.name or self.project_dir.name, version=self.root_pkg.version, package=self.root_pkg.raw, overrides=self.overrides)
        root.realpath = str(self.project_dir)
        tree = Tree(root)
        self.tree = tree
        workspaces = self._workspaces()
        for location, pkg in workspaces:
            self._add_folder(pkg, location, workspace=True)
        self._add_edges(root, self.root_pkg, top=True)
        for top in tree.tops[1:]:
            self._add_edges(top, self.folder_pkgs[id(top)], top=True)
        self.locked = frozenset(lock.packages) if lock is not None else frozenset()
        if lock is not None:
            self._seed(lock)
        return tree

    def _workspaces(self) -> list[tuple[str, PackageJson]]:
        """Each workspace folder and its package.json (as ``weir add -w`` is about to save it)."""
        return [(ws.location, self.edited.get(ws.location, ws.package)) for ws in workspace_folders(self.project_dir, self.root_pkg.workspaces)]

    def _add_folder(self, pkg: PackageJson, location: str, *, workspace: bool, link_name: str | None = None) -> Node:
        """A folder of this project (workspace or file:): a top of the tree, resolving through
        the folder that encloses it (see ``Tree.add_top``).

        Its ``name`` is what the package name is compared with to decide whether the
        lockfile entry records ``name`` (npm 11 records it when the package name differs
        from the folder's basename, or from the name a file: folder is linked under).
        A workspace is linked at the root here; a file: folder's link is placed like
        any dependency, by ``place_dep``.
        """
        basename = Path(location).name
        package_name = pkg.name or link_name or basename
        name = link_name if link_name is not None and link_name != package_name else basename
        top = Node(name, package_name=package_name, version=pkg.version, package=pkg.raw, overrides=self.overrides)
        top.is_workspace = workspace
        top.realpath = str((self.project_dir / location).resolve())
        self.folder_pkgs[id(top)] = pkg
        self.tree.add_top(top, location)
        if workspace:
            self.tree.attach(self._link_to(top, top.package_name), self.tree.root)
        return top

    def _link_to(self, top: Node, name: str) -> Node:
        link = Node(name, package_name=top.package_name, version=top.version, package=top.package, overrides=self.overrides)
        link.link_target = top
        link.realpath = top.realpath
        self.why[id(link)] = _Why("workspace" if top.is_workspace else "link", (), None)
        return link

    def _add_edges(self, node: Node, pkg: PackageJson, *, top: bool) -> None:
        deps = _edge_kinds(pkg, legacy_peer_deps=self.legacy_peer_deps)
        if top:
            for name, spec in pkg.dev_dependencies.items():
                deps[name] = ("dev", spec)
        if node.is_root:  # the root's edge to a workspace replaces its own dependency on that name (arborist)
            for link in list(node.children.values()):
                if link.link_target is not None and link.link_target.is_workspace:
                    deps[link.name] = ("workspace", link.link_target.top_location)
        where = Path(node.realpath) if node.realpath else self.project_dir
        for name, (kind, raw) in deps.items():
            self.tree.add_edge(node, self._edge(node, name, kind, raw, where))

    def _edge(self, node: Node, name: str, kind: str, raw: str, where: Path | None) -> Edge:
        rule = node.overrides.rule_for(name, raw) if node.overrides is not None else None
        override = rule.value if rule is not None and rule.value is not None and not node.is_link else None
        text = override if override is not None else raw
        if kind == "workspace":
            spec = Spec("file", name, raw, str((self.project_dir / raw).resolve()))
        else:
            try:
                spec = parse_spec(name, text, where=where)
            except InputError as exc:
                exc.path = self._path(node)
                raise
        return Edge(node, name, kind, spec, raw, override)

    def _workspace_link(self, name: str) -> Node | None:
        link = self.tree.root.children.get(name)
        return link if link is not None and link.link_target is not None and link.link_target.is_workspace else None

    def _seed(self, lock: Lockfile) -> None:
        """Start from the lockfile's tree: each entry becomes a node with its recorded edges."""
        self.seeded = True
        entries = sorted(
            ((p, e) for p, e in lock.packages.items() if p.startswith("node_modules/") or "/node_modules/" in p),
            key=lambda pe: (pe[0].count("node_modules/"), collation_key(pe[0])),
        )
        by_location: dict[str, Node] = {n.location: n for n in self.tree.nodes}
        for path, entry in entries:
            if entry.link:
                continue
            parent_loc, _, name = path.rpartition("node_modules/")
            parent_loc = parent_loc.rstrip("/")
            parent = by_location.get(parent_loc)
            if parent is None or name in parent.children:
                continue
            node = Node(name, package_name=entry.name or name, version=entry.version, resolved=entry.resolved, integrity=entry.integrity)
            node.lock_raw = dict(entry.raw)
            if entry.resolved is not None and entry.resolved.startswith("file:"):  # a local tarball
                node.realpath = os.path.normpath(self.project_dir / entry.resolved[len("file:"):])
            node.in_bundle = entry.in_bundle
            node.overrides = parent.overrides
            raw = entry.raw
            meta = raw.get("peerDependenciesMeta") or {}
            deps: dict[str, tuple[str, str]] = {}
            if not self.legacy_peer_deps:
                for dn, ds in entry.peer_dependencies.items():
                    deps[dn] = ("peerOptional" if (meta.get(dn) or {}).get("optional") else "peer", ds)
            for dn, ds in entry.dependencies.items():
                deps[dn] = ("prod", ds)
            for dn, ds in entry.optional_dependencies.items():
                deps[dn] = ("optional", ds)
            for dn, (kind, ds) in deps.items():
                node.edges_out[dn] = self._edge(node, dn, kind, ds, None)
            self.tree.attach(node, parent)
            by_location[node.location] = node
            self.why[id(node)] = _Why("lockfile", (Candidate(version=entry.version or "", verdict="lockfile-pin-kept"),), None)

    # -- the breadth-first build ----------------------------------------------------------

    def push(self, node: Node) -> None:
        heapq.heappush(self.heap, (node.depth, collation_key(node.location), next(self.seq), node))

    def problem_edges(self, node: Node) -> list[Edge]:
        bundled = _bundled(node)
        out = []
        for edge in node.edges_out.values():
            if edge.name in bundled or (id(node), edge.name) in self.failed:
                continue
            to = edge.to
            if to is None:
                if edge.type != "peerOptional":
                    out.append(edge)
            elif not dep_valid(to, edge) or (edge.name in self.update and to.lock_raw is not None):
                out.append(edge)
        out.sort(key=lambda e: collation_key(e.name))
        return out

    async def run(self, fetcher: _Fetcher) -> None:
        self.fetcher = fetcher
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
            problems = {id(e) for e in self.problem_edges(node) if not e.peer_conflicted}
            # picked in the order the package lists them (a pick may reuse one an earlier pick's
            # peer set made, see node_from_edge), placed in name order
            edges = [e for e in node.edges_out.values() if id(e) in problems]
            for edge in edges:
                real = _registry_name(edge)
                if real is not None:
                    fetcher.want(real, "demand")
            picked: list[tuple[Edge, Node]] = []
            for edge in edges:
                try:
                    picked.append((edge, await self.node_from_edge(edge)))
                except _Skip:
                    self.failed.add((id(node), edge.name))
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
            if link.link_target is None or not link.link_target.is_workspace or f"node_modules/{name}" in self.locked:
                continue
            for edge in self.tree.edges_in(link):
                if edge.source is not self.tree.root and not dep_valid(link, edge):
                    self.push(edge.source)

    def _push_linked_folders(self) -> bool:
        """Workspace and file: folders are built once everything queued is placed (arborist
        resolves link targets after its queue drains), so the root's own tree goes first."""
        waiting = [top for top in self.tree.tops if top not in self.seen]
        for top in waiting:
            self.push(top)
        return bool(waiting)

    # -- choosing -------------------------------------------------------------------------

    async def node_from_edge(self, edge: Edge, spec: Spec | None = None) -> Node:
        """The node ``edge`` asks for (by ``spec`` if given), with its peer set chosen.

        arborist's virtual root: the last peer set chosen for ``edge.source`` is kept, and a
        member of it that satisfies this edge is taken instead of a fresh pick (the root's
        ``e@*`` takes the e@1 an earlier dependency's optional peer ``e@~1.0.0`` brought)."""
        last = self.virtual_roots.get(edge.source)
        if spec is None and last is not None:
            reuse = last.get(edge.name)
            if reuse is not None and dep_valid(reuse, edge):
                return reuse
        dep = await self._pick_node(edge, spec)
        members = {edge.name: dep}
        if not self.legacy_peer_deps:
            await self._load_peer_set(dep, edge.source, members, {id(dep)} if edge.type != "peerOptional" else set())
            peers = {name: m for name, m in members.items() if name != edge.name}
            for member in (dep, *peers.values()):
                member.peer_set = peers
        self.virtual_roots[edge.source] = members
        return dep

    async def _pick_node(self, edge: Edge, spec: Spec | None = None, *, quiet: bool = False) -> Node:
        """The node for one spec, without its peers. ``quiet``: an optional peer that cannot
        be had is left out of a peer set silently, as npm does."""
        spec = spec or edge.spec
        path = self._path(edge.source)
        if spec.kind == "git":
            return await self._git_dep(edge, spec)
        if spec.kind == "remote":
            dep = Node(edge.name, resolved=spec.fetch_spec, overrides=self._child_overrides(edge))
            self.why[id(dep)] = _Why("remote", (), None)
            return dep
        if spec.is_tarball:
            return self._tarball_dep(edge, spec)
        if spec.kind in ("file", "workspace"):
            return self._folder_dep(edge, spec)
        link = self._workspace_link(edge.name) if spec.kind in ("range", "version") else None
        if link is not None and dep_valid(link, edge):  # npm: a workspace that satisfies the range wins
            return link
        target = spec.subspec if spec.kind == "alias" else spec
        assert target is not None and target.name is not None
        try:
            done = await self.fetcher.get(target.name)
            packument = done.manifest
            assert isinstance(packument, Packument)
            pick = pick_version(packument, target.kind, target.fetch_spec, path=path)
        except ResolveError as exc:
            exc.path = exc.path or path
            if edge.optional:
                if not quiet:
                    self._warn("optional-skipped", f"skipping optional {edge.name}@{edge.raw} ({exc.code}): {exc.message}", edge.name)
                raise _Skip from exc
            raise
        except NetworkError as exc:  # the first dependent to wait for the packument names it
            if not exc.path:
                exc.spec, exc.path = edge.raw, path
            raise
        if pick.manifest.name != target.name:
            raise IntegrityError(
                f"the registry's metadata for {target.name}@{pick.version} names another package ({pick.manifest.name!r})",
                package=target.name,
                spec=pick.version,
                path=path,
                hint="the registry answered with another package's metadata; report it to the registry, or check the registry URL",
            )
        return self._dep_node(edge, pick, done)

    def _folder_dep(self, edge: Edge, spec: Spec) -> Node:
        """A workspace, or a file: folder: a top of the tree (read once, whoever names it
        first) and a link to it, placed like any dependency (npm hoists it to the root
        unless another copy of the name is there). Its own file: specs are relative to it."""
        if spec.kind == "workspace":
            return self._workspace_dep(edge, spec)
        folder = Path(spec.fetch_spec)
        top = next((t for t in self.tree.tops[1:] if t.realpath == str(folder.resolve())), None)
        if top is None:
            pj = folder / "package.json"
            if not pj.is_file():
                raise InputError(f"{spec.raw} is not a folder with a package.json", package=edge.name, spec=spec.raw, path=self._path(edge.source), code="ENOENT")
            rel = os.path.relpath(folder, self.project_dir).replace(os.sep, "/")
            pkg = read_package_json(pj)
            top = self._add_folder(pkg, rel, workspace=False, link_name=edge.name)
            self._add_edges(top, pkg, top=True)
        return self._link_to(top, edge.name)

    def _workspace_dep(self, edge: Edge, spec: Spec) -> Node:
        """``workspace:<range>`` always means this project's workspace of that name, and its version must fit."""
        link = self._workspace_link(edge.name)
        if link is None:
            raise InputError(
                f'"{edge.name}": "{edge.raw}" asks for a workspace, and this project has no workspace named {edge.name}',
                package=edge.name,
                spec=edge.raw,
                path=self._path(edge.source),
                hint='add its folder to "workspaces" in the root package.json, or ask for a registry version (e.g. "^1.0.0"); '
                'npm itself reads no workspace: specs',
                code="ENOWORKSPACE",
            )
        if not dep_valid(link, edge):
            raise ResolveError(
                f"{edge.name}@{spec.raw}: the workspace {link.link_target.top_location if link.link_target else edge.name} is version {link.version}",
                package=edge.name, spec=spec.raw, path=self._path(edge.source),
                hint=f"change the range to workspace:* or one that {link.version} satisfies, or bump the workspace's version",
                code="ETARGET",
            )
        return link

    def _tarball_dep(self, edge: Edge, spec: Spec) -> Node:
        """A file: tarball: a package like a registry one, read from the project's disk."""
        try:
            m = read_local_tarball(Path(spec.fetch_spec), self.project_dir, spec=spec.raw)
        except InputError as exc:
            exc.package, exc.path = edge.name, self._path(edge.source)
            raise
        dep = Node(edge.name, package_name=m.name or edge.name, version=m.version, resolved=m.dist.tarball, integrity=m.dist.integrity, manifest=m, overrides=self._child_overrides(edge))
        dep.realpath = spec.fetch_spec
        for name, (kind, raw) in _edge_kinds(m, legacy_peer_deps=self.legacy_peer_deps).items():
            dep.edges_out[name] = self._edge(dep, name, kind, raw, Path(spec.fetch_spec).parent)
        self.why[id(dep)] = _Why("remote", (), None)
        return dep

    async def _git_dep(self, edge: Edge, spec: Spec) -> Node:
        """A git dependency: its committish resolved to a commit, the checkout packed into
        the cache by sha (``weir.core.resolve.git``), then read like a tarball from a registry."""
        from weir.core.resolve.git import GitPackage, fetch_git  # git specs are rare: keep subprocess et al. off the common path

        path = self._path(edge.source)
        prepare = git_prepare(self.config, self.root_pkg.trusted_dependencies, edge.name)
        try:
            got: GitPackage = await anyio.to_thread.run_sync(fetch_git, spec.fetch_spec, self.cache, f"{edge.name}@{spec.raw}", prepare)
        except WeirError as exc:
            exc.package, exc.spec, exc.path = edge.name, spec.raw, path
            if edge.optional and isinstance(exc, (ResolveError, NetworkError)):
                self._warn("optional-skipped", f"skipping optional {edge.name}@{edge.raw} ({exc.code}): {exc.message}", edge.name)
                raise _Skip from exc
            raise
        m = got.manifest
        if got.unprepared:
            self._warn(
                "git-prepare-skipped",
                f"{edge.name}@{spec.raw} has a prepare script, which weir did not run: the package is installed as committed "
                f'(add "{edge.name}" to trustedDependencies in package.json to have weir prepare it as npm does)',
                edge.name,
            )
        dep = Node(edge.name, package_name=m.name or edge.name, version=m.version, resolved=got.resolved, manifest=m, overrides=self._child_overrides(edge))
        for name, (kind, raw) in _edge_kinds(m, legacy_peer_deps=self.legacy_peer_deps).items():
            dep.edges_out[name] = self._edge(dep, name, kind, raw, None)
        self.why[id(dep)] = _Why("git", (), None)
        return dep

    def _child_overrides(self, edge: Edge) -> OverrideSet | None:
        scope = edge.source.overrides
        if scope is None:
            return None
        rule = scope.rule_for(edge.name, edge.raw)
        return rule if rule is not None else scope

    def _dep_node(self, edge: Edge, pick: Pick, done: ManifestDone) -> Node:
        m = pick.manifest
        dep = Node(
            edge.name, package_name=m.name or edge.name, version=pick.version, resolved=m.dist.tarball,
            integrity=m.dist.integrity or _sha1_sri(m.dist.shasum), manifest=m, overrides=self._child_overrides(edge),
        )
        deps = _edge_kinds(m, legacy_peer_deps=self.legacy_peer_deps)
        for name, (kind, raw) in deps.items():
            try:
                dep.edges_out[name] = self._edge(dep, name, kind, raw, None)
            except InputError as exc:
                self._warn("invalid-spec", f"{m.name}@{pick.version}: ignoring {name}@{raw}: {exc.message}", name)
        rule: Rule = "override" if edge.override is not None else pick.rule
        meta = Metadata(cache_status=done.cache_status, elapsed_ms=done.elapsed * 1000, retries=done.retries)
        self.why[id(dep)] = _Why(rule, pick.candidates, meta)
        return dep

    def _prefetch_deps(self, node: Node) -> None:
        """Start fetching the packuments a newly placed node will ask for.

        Only once placed: a peer candidate that placement drops (an older copy
        already satisfies its dependents) would otherwise fetch the whole
        dependency set of a version nobody installs.
        """
        for name in _sorted(node.edges_out):
            edge = node.edges_out[name]
            real = _registry_name(edge)
            if real is not None and edge.type != "peerOptional":
                self.fetcher.want(real, "prefetch")

    async def _load_peer_set(self, node: Node, source: Node, members: dict[str, Node], required: set[int]) -> None:
        """Choose ``node``'s peers (and theirs) to travel with it, as arborist's peer set.

        The set lives beside ``source``'s own dependencies (arborist's virtual root), so at
        every depth a peer is picked by ``source``'s own edge to that name when it has one
        (a root's ``eslint@^8`` wins over a plugin's peer's ``eslint@*``), falling back to
        the peer's range when that pick does not satisfy the peer. Optional peers join the
        set too: they are never installed for it, but a placement that would break them
        is a conflict. A conflict is an error only for the project's own dependencies
        (``source`` is a top) on a peer the set requires; elsewhere it is a warning.
        """
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
                        peer = await self._pick_node(peer_edge, quiet=True)
                    else:
                        peer = await self._pick_node(peer_edge, parent_edge.spec, quiet=True)
                        if not dep_valid(peer, peer_edge):
                            second = await self._pick_node(peer_edge, quiet=True)
                            if dep_valid(second, parent_edge):
                                peer = second
                except _Skip:
                    continue
                members[peer_edge.name] = peer
                if id(node) in required and not optional:
                    required.add(id(peer))
                await self._load_peer_set(peer, source, members, required)
                if dep_valid(peer, peer_edge):
                    continue
                assert parent_edge is not None
                self._peer_conflict(node, peer_edge, peer, parent_edge, source, fatal=id(peer) in required)
                continue
            # a member of the set already holds the name and does not satisfy this peer
            try:
                alt = await self._pick_node(peer_edge, quiet=True)
            except _Skip:
                continue
            wanting = [e for m in (*members.values(), node) if m is not current for e in m.edges_out.values() if e.name == peer_edge.name]
            if parent_edge is not None:
                wanting.append(parent_edge)
            if all(dep_valid(alt, e) for e in wanting):
                members[peer_edge.name] = alt
                await self._load_peer_set(alt, source, members, required)
                continue
            self._peer_conflict(node, peer_edge, current, parent_edge, source, fatal=id(node) in required)

    def _peer_conflict(self, node: Node, peer_edge: Edge, peer: Node, parent_edge: Edge | None, source: Node, *, fatal: bool) -> None:
        who = " > ".join(self._path(source))
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
                path=(*self._path(source), f"{node.package_name}@{node.version}"),
                hint="align the two ranges, or retry with --legacy-peer-deps to skip peer installation",
                code="ERESOLVE",
            )
        self._warn("peer-conflict", message, peer_edge.name)

    def _blocked_by(self, dep: Node, blocker: Node) -> str:
        """Both sides of a placement conflict: what ``dep`` (or its peers) wants, and who holds the blocker."""
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
            self._override_peer_conflict(edge, dep)
            return
        chosen, conflict, self_only = self.tree.find_target(dep, edge, entry=entry)
        if chosen is None:
            top = entry or edge
            if self._is_mine(top):
                blocker = conflict.blocker if conflict is not None else None
                raise ResolveError(
                    f"cannot place {dep.package_name}@{dep.version}: "
                    + (self._blocked_by(dep, blocker) if blocker else "its peers conflict"),
                    package=edge.name,
                    spec=edge.raw,
                    path=self._path(edge.source),
                    hint="align the conflicting ranges, or retry with --legacy-peer-deps",
                    code="ERESOLVE",
                )
            if self_only is None:
                self._override_peer_conflict(edge, dep)
                return
            chosen = self_only  # the node fits there alone; a peer that does not is overridden when its turn comes
        verdict = chosen.self_verdict if chosen.verdict is Verdict.CONFLICT else chosen.verdict
        assert verdict is not None and verdict is not Verdict.CONFLICT
        if verdict is Verdict.KEEP:
            if edge.peer and not edge.valid:
                self._override_peer_conflict(edge, dep)
            if self.update:  # arborist: a kept copy may make a deeper one of an updated name redundant
                self._prune_dedupable(chosen.target)
            return
        before = edge.to
        placed = self.tree.place(dep, chosen.target, verdict)
        self._after_place()
        if not self.tree.contains(placed):
            return  # pruned with what it replaced (a dependency cycle through the old copy)
        if edge.peer and not dep_valid(placed, edge):
            self._override_peer_conflict(edge, dep)
        if self.update:
            self._prune_duplicates(placed, before, edge)
        why = self.why.get(id(dep))
        if why is not None:
            self.why[id(placed)] = why
        self.placement[id(placed)] = _placement(placed, conflict)
        self.requirements_for_pin(placed, edge)
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
        self._prefetch_deps(placed)
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

    placement: dict[int, Placement]
    placements: dict[tuple[str, str], int]  # (dependent's location, name) -> times placed
    virtual_roots: dict[Node, dict[str, Node]]  # dependent -> the last peer set chosen for it
    on_pin: OnPin | None = None

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

    def _after_place(self) -> None:
        """Warn about the peer edges a replace overrode; visit again what lost its peers."""
        tree = self.tree
        for e in tree.overridden:
            current = e.to
            kept = f"{current.package_name}@{current.version}" if current is not None else "nothing"
            self._warn(
                "peer-conflict",
                f"overriding peer dependency: {' > '.join(self._path(e.source))} wants {e.name}@{e.raw}; "
                f"{e.name} was replaced by {kept} for another dependent",
                e.name,
            )
        for node in tree.need_evaluation:
            if tree.contains(node):
                self.seen.discard(node)
                self.push(node)
        tree.overridden.clear()
        tree.need_evaluation.clear()

    def _is_mine(self, top: Edge) -> bool:
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

    def _override_peer_conflict(self, edge: Edge, dep: Node) -> None:
        """npm's "ERESOLVE overriding peer dependency": say so once and mark the edge, which the
        loop then never tries again. Without the mark two dependents that want different copies
        at the same spot replace each other forever."""
        edge.peer_conflicted = True
        current = edge.to
        kept = f"{current.package_name}@{current.version} at {current.location or '<root>'}" if current is not None else "it unmet"
        self._warn(
            "peer-conflict",
            f"overriding peer dependency: {' > '.join(self._path(edge.source))} wants {edge.name}@{edge.raw}, "
            f"{dep.package_name}@{dep.version} cannot be placed beside it; keeping {kept}",
            edge.name,
        )

    def requirements_for_pin(self, placed: Node, edge: Edge) -> None:
        why = self.why.get(id(placed))
        self.reporter.event(
            ev.VersionPinned(
                name=placed.name,
                version=placed.version or "",
                spec=edge.raw,
                path=self._path(edge.source),
                rule=why.rule if why else "dedupe",
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

    def _warn(self, code: str, message: str, package: str | None) -> None:
        self.warnings.append(message)
        self.reporter.event(ev.Warned(code=code, message=message, package=package))

    def _path(self, node: Node) -> tuple[str, ...]:
        chain: list[str] = []
        n: Node | None = node
        while n is not None:
            chain.append(n.package_name if n.is_top else f"{n.package_name}@{n.version}")
            n = n.resolve_parent
        return tuple(reversed(chain))

    # -- output ---------------------------------------------------------------------------

    def finish(self) -> Resolution:
        tree = self.tree
        # npm prunes extraneous nodes only when it started from a lockfile; a fresh tree keeps
        # a copy that a later, closer placement left without dependents, and what only optional
        # peers reach, written "extraneous" (they held their place while the tree was built)
        if self.seeded:
            tree.prune_unreachable()
        tree.calc_dep_flags(_bundled)  # a bundler's edges to what it ships end in its own bundle
        if self.seeded:
            for node in sorted((n for n in tree.nodes if n.extraneous and not n.is_top), key=lambda n: -n.depth):
                if tree.contains(node):
                    tree.detach(node)
        packages: dict[str, LockEntry] = {"": entry_from_json("", _root_raw(self.root_pkg))}
        decisions: dict[str, Decision] = {}
        nodes = sorted((n for n in tree.nodes if not n.is_root), key=lambda n: collation_key(n.location))
        for node in nodes:
            raw = _entry_raw(node)
            packages[node.location] = entry_from_json(node.location, raw)
            decisions[node.location] = self._decision(node)
        packages = mark_root_bundle(packages)
        lock = Lockfile(name=self.root_pkg.name, version=self.root_pkg.version, packages=dict(sorted(packages.items(), key=lambda kv: collation_key(kv[0]))))
        return Resolution(lockfile=lock, decisions=decisions, warnings=tuple(self.warnings))

    def _decision(self, node: Node) -> Decision:
        why = self.why.get(id(node)) or _Why("dedupe", (), None)
        requirements = tuple(
            Requirement(spec=e.raw, kind=_dep_kind(e), path=self._path(e.source), override=e.override)
            for e in sorted(self.tree.edges_in(node), key=lambda e: collation_key(e.source.location))
        )
        placement = self.placement.get(id(node)) or _placement(node, None)
        return Decision(
            name=node.name, version=node.version or "", rule=why.rule, requirements=requirements,
            candidates=why.candidates, placement=placement, metadata=why.metadata,
        )


def _dep_kind(edge: Edge) -> Any:
    return {"prod": "prod", "dev": "dev", "optional": "optional", "peer": "peer", "peerOptional": "peerOptional"}.get(edge.type, "workspace")


def _placement(node: Node, conflict: Check | None) -> Placement:
    hoisted = node.parent is not None and node.parent.is_root
    if hoisted or conflict is None or conflict.blocker is None:
        return Placement(location=node.location, hoisted=hoisted, reason="hoisted to the root" if hoisted else "placed under its dependent")
    b = conflict.blocker
    return Placement(
        location=node.location, hoisted=False,
        reason=f"nested: {b.location} is {b.package_name}@{b.version}",
        blocker=b.location,
    )


def git_prepare(config: Any, trusted: Iterable[str], name: str) -> Prepare | None:
    """The script policy for a git dependency's prepare (``weir.core.resolve.git`` rule 6): run it only
    for a name in trustedDependencies, and never under --ignore-scripts."""
    if getattr(config, "ignore_scripts", False) or name not in trusted:
        return None
    from weir.core.resolve.git import Prepare

    return Prepare(registry=str(getattr(config, "registry", "")), cache=Path(getattr(config, "cache", "")))


def _registry_name(edge: Edge) -> str | None:
    spec = edge.spec
    if spec.kind == "alias" and spec.subspec is not None:
        return spec.subspec.name
    if spec.kind in ("version", "range", "tag"):
        return spec.name
    return None


def _edge_kinds(pkg: PackageJson | VersionManifest, *, legacy_peer_deps: bool) -> dict[str, tuple[str, str]]:
    """name -> (edge type, spec) from a package.json or a registry manifest, as arborist reads them:
    peers first, then prod, then optional, a later kind replacing an earlier one for the same name."""
    deps: dict[str, tuple[str, str]] = {}
    if not legacy_peer_deps:
        for name, spec in pkg.peer_dependencies.items():
            optional = bool(pkg.peer_dependencies_meta.get(name, {}).get("optional"))
            deps[name] = ("peerOptional" if optional else "peer", spec)
    for name, spec in pkg.dependencies.items():
        deps[name] = ("prod", spec)
    for name, spec in pkg.optional_dependencies.items():
        deps[name] = ("optional", spec)
    return deps


def _bundled(node: Node) -> frozenset[str]:
    """Names the package ships inside its own tarball (never resolved from the registry),
    from its manifest or, for a node seeded from package-lock.json, from its entry there."""
    m = node.manifest
    if m is not None:
        bundle: Any = m.bundle_dependencies
        deps: Mapping[str, str] = m.dependencies
    elif node.lock_raw is not None:
        bundle = node.lock_raw.get("bundleDependencies") or node.lock_raw.get("bundledDependencies")
        deps = node.lock_raw.get("dependencies") or {}
    else:
        return frozenset()
    if not bundle:
        return frozenset()
    if bundle is True:
        return frozenset(deps)
    return frozenset(name for name in bundle if isinstance(name, str))


def _sorted(names: Iterable[str]) -> list[str]:
    return sorted(names, key=collation_key)


def _sha1_sri(shasum: str | None) -> str | None:
    if not shasum:
        return None
    import base64

    try:
        return "sha1-" + base64.b64encode(bytes.fromhex(shasum)).decode()
    except ValueError:
        return None


_ROOT_KEYS = (
    "name", "version", "license", "workspaces", "dependencies", "devDependencies",
    "optionalDependencies", "peerDependencies", "peerDependenciesMeta", "bin", "engines", "funding", "os", "cpu",
)


def _root_raw(pkg: PackageJson) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for key in _ROOT_KEYS:
        value = pkg.raw.get(key)
        if value in (None, {}, []):
            continue
        if key == "bin":
            value = pkg.bin
        raw[key] = normalize_funding(value) if key == "funding" else value
    bundle = bundle_names(pkg.raw)  # npm spells it so, `true` expanded to the dependencies' names
    if bundle:
        raw["bundleDependencies"] = bundle
    return raw


def _flags(node: Node, raw: dict[str, Any]) -> None:
    if node.extraneous:  # reached by nobody, or only through optional peers: npm 11 writes this flag alone
        raw["extraneous"] = True
        return
    if node.dev:
        raw["dev"] = True
    if node.optional:
        raw["optional"] = True
    if node.dev_optional and not node.dev and not node.optional:
        raw["devOptional"] = True
    if node.peer:
        raw["peer"] = True


def _entry_raw(node: Node) -> dict[str, Any]:
    """One packages entry, with npm's key names."""
    if node.link_target is not None and node.parent is not None:
        raw: dict[str, Any] = {"resolved": node.link_target.location, "link": True}
        return raw
    if node.is_top:  # a workspace / file: folder
        pkg = node.package or {}
        raw = {}
        if node.package_name != node.name:  # npm: only a name its folder (or link) does not already say
            raw["name"] = node.package_name
        for key in _ROOT_KEYS[1:]:
            value = pkg.get(key)
            if value not in (None, {}, []):
                raw[key] = normalize_funding(value) if key == "funding" else value
        _flags(node, raw)
        return raw
    if node.lock_raw is not None:
        raw = {k: v for k, v in node.lock_raw.items() if k not in ("dev", "optional", "devOptional", "peer", "extraneous")}
        _flags(node, raw)
        return raw
    m = node.manifest
    raw = {}
    if node.package_name != node.name:
        raw["name"] = node.package_name
    if node.version is not None:
        raw["version"] = node.version
    if node.resolved is not None:
        raw["resolved"] = node.resolved
    if node.integrity is not None:
        raw["integrity"] = node.integrity
    _flags(node, raw)
    if m is not None:
        raw.update(manifest_fields(m))
    return raw


def manifest_fields(m: VersionManifest) -> dict[str, Any]:
    """The fields a lockfile entry copies from the package's version document, with npm's key
    names (also what an npm 6 lockfile's entries are filled in with when weir upgrades it)."""
    raw: dict[str, Any] = {}
    if m.has_install_script:
        raw["hasInstallScript"] = True
    if m.deprecated:
        raw["deprecated"] = m.deprecated
    if m.license:
        raw["license"] = m.license
    if m.workspaces is not None:  # a registry package's own workspaces, as published (pkijs)
        raw["workspaces"] = m.workspaces
    # npm keeps a name listed in both maps only under optionalDependencies (watchpack@1.7.5)
    deps = {k: v for k, v in m.dependencies.items() if k not in m.optional_dependencies}
    if deps:
        raw["dependencies"] = deps
    if m.optional_dependencies:
        raw["optionalDependencies"] = dict(m.optional_dependencies)
    if m.peer_dependencies:
        raw["peerDependencies"] = dict(m.peer_dependencies)
    if m.peer_dependencies_meta:
        raw["peerDependenciesMeta"] = dict(m.peer_dependencies_meta)
    if m.bundle_dependencies:  # as npm records it, so a run seeded from the lockfile knows them too
        raw["bundleDependencies"] = True if m.bundle_dependencies is True else list(m.bundle_dependencies)
    if m.bin:
        bins, _ = normalize_bin(m.name, dict(m.bin), None)
        if bins:
            raw["bin"] = bins
    if m.published_engines is not None:  # as published: npm keeps a string or an array too
        raw["engines"] = m.published_engines
    if m.os:
        raw["os"] = list(m.os)
    if m.cpu:
        raw["cpu"] = list(m.cpu)
    if m.libc:
        raw["libc"] = list(m.libc)
    if m.funding is not None:
        raw["funding"] = normalize_funding(m.funding)
    return raw


async def resolve(
    root: PackageJson,
    project_dir: Path,
    *,
    registry: RegistryLike,
    config: Any,
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
    loop = _Loop(root, project_dir, registry, config, reporter or ev.Reporter(), frozenset(update), edited or {})
    loop.on_pin = on_pin
    loop.placement = {}
    loop.placements = {}
    loop.virtual_roots = {}
    loop.build_root(lockfile)
    loop.tree.prefer_dedupe = prefer_dedupe
    failure: WeirError | None = None
    async with anyio.create_task_group() as tg:
        try:
            await loop.run(_Fetcher(registry, loop.reporter, tg, job_ids or ev.JobIds()))
        except WeirError as exc:  # raised outside the group, not wrapped in an ExceptionGroup
            failure = exc
        tg.cancel_scope.cancel()  # speculative prefetches nobody needs any more
    if failure is not None:
        raise failure
    return loop.finish()

