"""The nodes and edges the loop works on: the root, workspaces, the lockfile's tree, and each candidate.

Rules this module holds (arborist's, so the tree and the lockfile agree with npm 11):

1. The root node stands for the project folder; each workspace is a top of the
   tree (resolving through the root) and a link at ``node_modules/<name>``. The
   root's edge to a workspace's name replaces its own dependency on that name.
   A workspace's package.json is the one ``weir add -w`` is about to save, when
   there is one (``edited``), else the file on disk.
2. Edges are read as arborist reads them: peers first, then prod, then
   optional, a later kind replacing an earlier one for the same name; a top
   (the root, a workspace, a file: folder) adds its devDependencies. With
   ``legacy_peer_deps`` there are no peer edges. An ``overrides`` rule replaces
   a spec before it is parsed, except on a link's edges.
3. Seeded from package-lock.json: every entry under a ``node_modules/`` becomes a
   node (shallowest first, then location order) with the edges it recorded; a
   link entry, or one whose parent is missing or already taken, is left out.
4. A file: folder is read once, whoever names it first, and becomes a top of
   the tree plus a link to it placed like any dependency; its own file: specs
   are relative to it. ``workspace:<range>`` means this project's workspace of
   that name and nothing else, and its version must fit (ETARGET otherwise).
5. A registry candidate's integrity is the version's SRI, or its sha1 shasum as
   an SRI; a spec a published manifest cannot parse is dropped with a warning,
   never fatal (it is somebody else's package).
6. Every node made here gets its Why (``records`` rule 1) as it is made.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weir.core.errors import InputError, ResolveError
from weir.core.npm.overrides import OverrideSet, build_overrides
from weir.core.npm.package_json import PackageJson, read_package_json
from weir.core.npm.packument import VersionManifest
from weir.core.npm.spec import Spec, parse_spec
from weir.core.registry.local_tarball import read_local_tarball
from weir.core.registry.registry import ManifestDone
from weir.core.resolve.decision import Candidate, Metadata, Rule
from weir.core.resolve.pick import Pick
from weir.core.resolve.placement import Edge, Node, Tree, dep_valid
from weir.core.resolve.records import Warnings, Why, dependent_path
from weir.core.resolve.workspaces import workspace_folders
from weir.core.tree.lockfile import Lockfile, collation_key
from weir.core.tree.paths import depth, in_node_modules, name_of, parent_of

if TYPE_CHECKING:
    from weir.core.resolve.git import GitPackage

__all__ = ["TreeBuilder", "bundled"]


class TreeBuilder:
    """Makes the tree's nodes and their edges; ``start`` lays out the root, the workspaces and the lockfile."""

    def __init__(
        self, root_pkg: PackageJson, project_dir: Path, edited: Mapping[str, PackageJson], *,
        legacy_peer_deps: bool, prefer_dedupe: bool, warnings: Warnings,
    ) -> None:
        self.root_pkg = root_pkg
        self.project_dir = project_dir
        self.edited = edited
        self.legacy_peer_deps = legacy_peer_deps
        self.warnings = warnings
        self.overrides: OverrideSet | None = build_overrides(
            root_pkg.overrides, {**root_pkg.dev_dependencies, **root_pkg.optional_dependencies, **root_pkg.dependencies}
        )
        root = Node(root_pkg.name or project_dir.name, version=root_pkg.version, package=root_pkg.raw, overrides=self.overrides)
        root.realpath = str(project_dir)
        self.tree = Tree(root, prefer_dedupe=prefer_dedupe)
        self.folder_pkgs: dict[Node, PackageJson] = {}  # each top's package.json
        self.locked: frozenset[str] = frozenset()  # the input lockfile's paths
        self.seeded = False  # started from a package-lock.json

    # -- the start: root, workspaces, lockfile (rules 1 and 3) ----------------------------

    def start(self, lock: Lockfile | None) -> Tree:
        tree = self.tree
        for location, pkg in self._workspaces():
            self._add_folder(pkg, location, workspace=True)
        self._add_edges(tree.root, self.root_pkg)
        for top in tree.tops[1:]:
            self._add_edges(top, self.folder_pkgs[top])
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
        any dependency, by the loop.
        """
        basename = Path(location).name
        package_name = pkg.name or link_name or basename
        name = link_name if link_name is not None and link_name != package_name else basename
        top = Node(name, package_name=package_name, version=pkg.version, package=pkg.raw, overrides=self.overrides)
        top.is_workspace = workspace
        top.realpath = str((self.project_dir / location).resolve())
        self.folder_pkgs[top] = pkg
        self.tree.add_top(top, location)
        if workspace:
            self.tree.attach(self._link_to(top, top.package_name), self.tree.root)
        return top

    def _link_to(self, top: Node, name: str) -> Node:
        link = Node(name, package_name=top.package_name, version=top.version, package=top.package, overrides=self.overrides)
        link.link_target = top
        link.realpath = top.realpath
        link.why = Why("workspace" if top.is_workspace else "link")
        return link

    def _add_edges(self, node: Node, pkg: PackageJson) -> None:
        """A top's edges (rule 2), devDependencies included."""
        deps = edge_kinds(pkg, legacy_peer_deps=self.legacy_peer_deps)
        for name, spec in pkg.dev_dependencies.items():
            deps[name] = ("dev", spec)
        if node.is_root:  # the root's edge to a workspace replaces its own dependency on that name (arborist)
            for link in list(node.children.values()):
                if link.link_target is not None and link.link_target.is_workspace:
                    deps[link.name] = ("workspace", link.link_target.top_location)
        where = Path(node.realpath) if node.realpath else self.project_dir
        for name, (kind, raw) in deps.items():
            self.tree.add_edge(node, self.edge(node, name, kind, raw, where))

    def edge(self, node: Node, name: str, kind: str, raw: str, where: Path | None) -> Edge:
        """``node``'s edge to ``name``, its spec after overrides, file: specs relative to ``where``."""
        rule = node.overrides.rule_for(name, raw) if node.overrides is not None else None
        override = rule.value if rule is not None and rule.value is not None and not node.is_link else None
        text = override if override is not None else raw
        if kind == "workspace":
            spec = Spec("file", name, raw, str((self.project_dir / raw).resolve()))
        else:
            try:
                spec = parse_spec(name, text, where=where)
            except InputError as exc:
                exc.path = dependent_path(node)
                raise
        return Edge(node, name, kind, spec, raw, override)

    def workspace_link(self, name: str) -> Node | None:
        """The root's link to the workspace called ``name``, if this project has one."""
        link = self.tree.root.children.get(name)
        return link if link is not None and link.link_target is not None and link.link_target.is_workspace else None

    def _seed(self, lock: Lockfile) -> None:
        """Rule 3: start from the lockfile's tree, each entry a node with its recorded edges."""
        self.seeded = True
        entries = sorted(
            ((p, e) for p, e in lock.packages.items() if in_node_modules(p)),
            key=lambda pe: (depth(pe[0]), collation_key(pe[0])),
        )
        by_location: dict[str, Node] = {n.location: n for n in self.tree.nodes}
        for path, entry in entries:
            if entry.link:
                continue
            name = name_of(path)
            parent = by_location.get(parent_of(path) or "")
            if parent is None or name in parent.children:
                continue
            node = Node(name, package_name=entry.name or name, version=entry.version, resolved=entry.resolved, integrity=entry.integrity)
            node.lock_raw = dict(entry.raw)
            if entry.resolved is not None and entry.resolved.startswith("file:"):  # a local tarball
                node.realpath = os.path.normpath(self.project_dir / entry.resolved[len("file:"):])
            node.in_bundle = entry.in_bundle
            node.overrides = parent.overrides
            meta = entry.raw.get("peerDependenciesMeta") or {}
            deps: dict[str, tuple[str, str]] = {}
            if not self.legacy_peer_deps:
                for dn, ds in entry.peer_dependencies.items():
                    deps[dn] = ("peerOptional" if (meta.get(dn) or {}).get("optional") else "peer", ds)
            for dn, ds in entry.dependencies.items():
                deps[dn] = ("prod", ds)
            for dn, ds in entry.optional_dependencies.items():
                deps[dn] = ("optional", ds)
            for dn, (kind, ds) in deps.items():
                node.edges_out[dn] = self.edge(node, dn, kind, ds, None)
            self.tree.attach(node, parent)
            by_location[node.location] = node
            node.why = Why("lockfile", (Candidate(version=entry.version or "", verdict="lockfile-pin-kept"),))

    # -- candidates (rules 4-6) -----------------------------------------------------------

    def folder_node(self, edge: Edge, spec: Spec) -> Node:
        """A workspace, or a file: folder: a top of the tree (read once, whoever names it
        first) and a link to it, placed like any dependency (npm hoists it to the root
        unless another copy of the name is there). Its own file: specs are relative to it."""
        if spec.kind == "workspace":
            return self._workspace_node(edge, spec)
        folder = Path(spec.fetch_spec)
        top = next((t for t in self.tree.tops[1:] if t.realpath == str(folder.resolve())), None)
        if top is None:
            pj = folder / "package.json"
            if not pj.is_file():
                raise InputError(f"{spec.raw} is not a folder with a package.json", package=edge.name, spec=spec.raw, path=dependent_path(edge.source), code="ENOENT")
            rel = os.path.relpath(folder, self.project_dir).replace(os.sep, "/")
            pkg = read_package_json(pj)
            top = self._add_folder(pkg, rel, workspace=False, link_name=edge.name)
            self._add_edges(top, pkg)
        return self._link_to(top, edge.name)

    def _workspace_node(self, edge: Edge, spec: Spec) -> Node:
        """``workspace:<range>`` always means this project's workspace of that name, and its version must fit."""
        link = self.workspace_link(edge.name)
        if link is None:
            raise InputError(
                f'"{edge.name}": "{edge.raw}" asks for a workspace, and this project has no workspace named {edge.name}',
                package=edge.name,
                spec=edge.raw,
                path=dependent_path(edge.source),
                hint='add its folder to "workspaces" in the root package.json, or ask for a registry version (e.g. "^1.0.0"); '
                'npm itself reads no workspace: specs',
                code="ENOWORKSPACE",
            )
        if not dep_valid(link, edge):
            raise ResolveError(
                f"{edge.name}@{spec.raw}: the workspace {link.link_target.top_location if link.link_target else edge.name} is version {link.version}",
                package=edge.name, spec=spec.raw, path=dependent_path(edge.source),
                hint=f"change the range to workspace:* or one that {link.version} satisfies, or bump the workspace's version",
                code="ETARGET",
            )
        return link

    def remote_node(self, edge: Edge, spec: Spec) -> Node:
        """A tarball URL: its manifest is read when it is fetched."""
        dep = Node(edge.name, resolved=spec.fetch_spec, overrides=self._child_overrides(edge))
        dep.why = Why("remote")
        return dep

    def tarball_node(self, edge: Edge, spec: Spec) -> Node:
        """A file: tarball: a package like a registry one, read from the project's disk."""
        try:
            m = read_local_tarball(Path(spec.fetch_spec), self.project_dir, spec=spec.raw)
        except InputError as exc:
            exc.package, exc.path = edge.name, dependent_path(edge.source)
            raise
        dep = Node(edge.name, package_name=m.name or edge.name, version=m.version, resolved=m.dist.tarball, integrity=m.dist.integrity, manifest=m, overrides=self._child_overrides(edge))
        dep.realpath = spec.fetch_spec
        for name, (kind, raw) in edge_kinds(m, legacy_peer_deps=self.legacy_peer_deps).items():
            dep.edges_out[name] = self.edge(dep, name, kind, raw, Path(spec.fetch_spec).parent)
        dep.why = Why("remote")
        return dep

    def git_node(self, edge: Edge, got: GitPackage) -> Node:
        """A git dependency, its checkout packed at one commit (``weir.core.resolve.git``)."""
        m = got.manifest
        dep = Node(edge.name, package_name=m.name or edge.name, version=m.version, resolved=got.resolved, manifest=m, overrides=self._child_overrides(edge))
        for name, (kind, raw) in edge_kinds(m, legacy_peer_deps=self.legacy_peer_deps).items():
            dep.edges_out[name] = self.edge(dep, name, kind, raw, None)
        dep.why = Why("git")
        return dep

    def registry_node(self, edge: Edge, pick: Pick, done: ManifestDone) -> Node:
        """The version ``pick`` chose from the packument ``done`` brought (rule 5)."""
        m = pick.manifest
        dep = Node(
            edge.name, package_name=m.name or edge.name, version=pick.version, resolved=m.dist.tarball,
            integrity=m.dist.integrity or _sha1_sri(m.dist.shasum), manifest=m, overrides=self._child_overrides(edge),
        )
        for name, (kind, raw) in edge_kinds(m, legacy_peer_deps=self.legacy_peer_deps).items():
            try:
                dep.edges_out[name] = self.edge(dep, name, kind, raw, None)
            except InputError as exc:
                self.warnings.warn("invalid-spec", f"{m.name}@{pick.version}: ignoring {name}@{raw}: {exc.message}", name)
        rule: Rule = "override" if edge.override is not None else pick.rule
        meta = Metadata(cache_status=done.cache_status, elapsed_ms=done.elapsed * 1000, retries=done.retries)
        dep.why = Why(rule, pick.candidates, meta)
        return dep

    def _child_overrides(self, edge: Edge) -> OverrideSet | None:
        scope = edge.source.overrides
        if scope is None:
            return None
        rule = scope.rule_for(edge.name, edge.raw)
        return rule if rule is not None else scope


def edge_kinds(pkg: PackageJson | VersionManifest, *, legacy_peer_deps: bool) -> dict[str, tuple[str, str]]:
    """name -> (edge type, spec) from a package.json or a registry manifest (rule 2)."""
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


def bundled(node: Node) -> frozenset[str]:
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


def _sha1_sri(shasum: str | None) -> str | None:
    if not shasum:
        return None
    try:
        return "sha1-" + base64.b64encode(bytes.fromhex(shasum)).decode()
    except ValueError:
        return None
