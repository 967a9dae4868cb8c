"""The packages a dependency ships inside its own tarball, as npm records them in package-lock.json.

A package with ``bundleDependencies`` carries those dependencies (and their
own dependencies) in its tarball's ``node_modules``. They are never resolved
from the registry, but npm still writes a ``packages`` entry for each, read
from the shipped ``package.json`` after its extraction. This module reads the
shipped tree out of an extracted package and builds those entries.

Rules this module holds (what npm 11 writes, checked against it):

1. A shipped folder counts only if its ``package.json`` has a name and a
   version, and every package folder it is nested in counts too.
2. A folder is ``inBundle`` when the bundler lists it in
   ``bundleDependencies`` (``true`` meaning every dependency), when it is
   nested in a bundled folder, or when a bundled package's dependency resolves
   to it (a meta-dependency the bundle carries beside it). Shipped folders
   that are none of these are not recorded: nothing in the lockfile could
   install them.
3. The entry holds the fields npm keeps from a package.json it reads from disk
   (its normalization first: ``bundledDependencies`` spelled
   ``bundleDependencies``, ``true`` expanded, dependencies also listed as
   optional kept only as optional, a string ``funding`` as ``{url}``, ``bin``
   normalized, a license object reduced to its type, ``_``-prefixed fields
   dropped), ``name`` only when it differs from the folder name,
   ``hasInstallScript`` for an install/preinstall/postinstall script, and
   never ``resolved`` or ``integrity``: the bundler's tarball pins the bytes.
4. dev/optional/devOptional/peer follow npm's flag walk, started from the
   bundler's own flags and walking the edges inside the bundle: a bundled
   package reached only through an optional edge is optional even under a
   production bundler. One nobody reaches is ``extraneous``.
5. Which bundlers are read: one new or changed since the lockfile on disk
   (anything recorded under it is stale), and an unchanged one with nothing
   recorded under it (its bundled dependencies are unmet, so npm opens it;
   npm's --package-lock-only only when the entry has a ``resolved`` to fetch,
   which the installer checks). An unchanged bundler's recorded entries are
   kept as written, and an install puts back the ones a resolve pruned as
   extraneous, as npm's install keeps them. npm's --package-lock-only over an
   existing lockfile prunes every extraneous entry, bundled ones included.
6. The root project's own ``bundleDependencies`` are resolved and installed
   from the registry like any dependency (its bundle is what ``npm pack``
   would ship), but npm still marks them ``inBundle`` and keeps their
   ``resolved`` and ``integrity``: the listed top-level packages, everything
   nested in them, and each top-level package one of those depends on. A
   link (a bundled workspace) is not marked, and its folder's dependencies
   are not the bundle's.
7. What a bundler ships is in place before its other dependencies are
   placed, as npm's --package-lock-only opens the tarball first: where the
   resolver put a registry package at a path the bundle ships (tap@16's
   non-bundled dependencies wanted ansi-styles@4 at
   ``node_modules/tap/node_modules/ansi-styles``, where tap ships 3.2.1), the
   shipped package takes the path and the resolver runs again from that
   lockfile, placing what no longer fits deeper. A shipped package nobody
   needs (``extraneous``) takes no path from the resolver.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from weir.core.tree.lockfile import LockEntry, Lockfile, entry_from_json
from weir.core.tree.paths import ancestors_of, child_path, in_node_modules, is_inside, is_top_level, name_of, parent_of
from weir.core.npm.fields import normalize_funding
from weir.core.npm.names import is_valid_name
from weir.core.npm.package_json import normalize_bin
from weir.core.tree.selection import dependencies_of, shipped_in_tarballs

if TYPE_CHECKING:
    from weir.core.store.content_store import StoreEntry

_FLAGS = ("dev", "optional", "devOptional", "peer")
# package.json fields npm copies into a lockfile entry, when set and not empty
_KEPT = (
    "version", "dependencies", "peerDependencies", "peerDependenciesMeta", "optionalDependencies",
    "bundleDependencies", "acceptDependencies", "funding", "engines", "os", "cpu", "libc", "license",
    "bin", "deprecated", "workspaces",
)
_INSTALL_SCRIPTS = ("install", "preinstall", "postinstall")


def bundle_names(raw: Mapping[str, Any]) -> list[str]:
    """The names a lockfile entry (or package.json) says it ships, npm's ``true`` expanded."""
    bundle = raw.get("bundleDependencies", raw.get("bundledDependencies"))
    if bundle is True:
        deps = raw.get("dependencies")
        return list(deps) if isinstance(deps, dict) else []
    if isinstance(bundle, dict):
        return list(bundle)
    if isinstance(bundle, list):
        return [n for n in bundle if isinstance(n, str)]
    return []


def mark_root_bundle(packages: Mapping[str, LockEntry]) -> dict[str, LockEntry]:
    """``packages`` with ``inBundle`` set as rule 6 says on every entry that is not in a
    dependency's bundle (those keep their flag)."""
    root = packages.get("")
    names = bundle_names(root.raw) if root is not None else []
    marked = {p for p, e in packages.items() if e.in_bundle}
    if not names and not marked:
        return dict(packages)
    shipped = shipped_in_tarballs(marked)
    raws = {p: e.raw for p, e in packages.items()}
    children: dict[str, list[str]] = {}
    for path in packages:
        parent = parent_of(path)
        if parent and path not in shipped:
            children.setdefault(parent, []).append(path)
    queue = [child_path("", n) for n in names]
    bundled = set(queue)
    for path in queue:
        if path not in packages or packages[path].link:
            continue
        found = [p for p in dependencies_of(path, raws) if is_top_level(p)]
        for p in found + children.get(path, []):
            if p not in bundled:
                bundled.add(p)
                queue.append(p)
    out = dict(packages)
    for path, entry in packages.items():
        if path and path not in shipped and entry.in_bundle != (path in bundled and not entry.link):
            raw = {k: v for k, v in entry.raw.items() if k != "inBundle"}
            if path in bundled:
                raw["inBundle"] = True
            out[path] = entry_from_json(path, raw)
    return out


def bundlers_to_read(lock: Lockfile, previous: Lockfile | None) -> list[str]:
    """Bundlers whose bundled entries must come from their tarball (rule 5), ``previous``
    being the lockfile on disk."""
    recorded = {a for p, e in lock.packages.items() if e.in_bundle for a in ancestors_of(p)}
    out = []
    for path, entry in lock.packages.items():
        if not in_node_modules(path) or entry.link or entry.in_bundle or not bundle_names(entry.raw):
            continue
        if not (_kept(path, lock, previous) and path in recorded):
            out.append(path)
    return sorted(out)


def add_bundles(lock: Lockfile, previous: Lockfile | None, stored: Mapping[str, StoreEntry], *, prune: bool) -> Lockfile:
    """``lock`` with the bundled entries rule 5 asks for, read from each bundler's extracted
    package in ``stored`` (one not there, as with --omit, gets none). With ``prune`` (npm's
    --package-lock-only over an existing lockfile) the extraneous ones are left out; without it
    the recorded ones a resolve pruned are put back."""
    read: dict[str, dict[str, dict[str, Any]]] = {}
    for path in bundlers_to_read(lock, previous):
        entry = stored.get(path)
        shipped = {} if entry is None else bundled_entries(path, lock.packages[path], entry.path, (f.path for f in entry.files))
        read[path] = {p: raw for p, raw in shipped.items() if not (prune and raw.get("extraneous"))}
    dropped: dict[str, LockEntry] = {}
    if not prune and previous is not None:
        for path, entry in previous.packages.items():
            if entry.in_bundle and path not in lock.packages:
                bundler = next((a for a in ancestors_of(path) if a in previous.packages and not previous.packages[a].in_bundle), None)
                if bundler is not None and bundler not in read and _kept(bundler, lock, previous):
                    dropped[path] = entry
    if not read and not dropped:
        return lock
    lock = with_bundles(lock, read) if read else lock
    return replace(lock, packages={**lock.packages, **dropped}) if dropped else lock


def _kept(path: str, lock: Lockfile, previous: Lockfile | None) -> bool:
    """The package at ``path`` is the one ``previous`` locked there."""
    was = previous.packages.get(path) if previous is not None else None
    now = lock.packages.get(path)
    return was is not None and now is not None and (was.name, was.version, was.integrity) == (now.name, now.version, now.integrity)


def bundles_in_the_way(lock: Lockfile, stored: Mapping[str, StoreEntry]) -> Lockfile | None:
    """Rule 7: ``lock`` with each shipped package in place of the registry package the resolver
    put at its path (and everything nested in that one), for the resolver to start from again;
    None when no bundle in ``stored`` (extracted bundlers keyed by install path) collides."""
    collisions: set[str] = set()
    read: dict[str, dict[str, dict[str, Any]]] = {}
    for path, entry in stored.items():
        shipped = bundled_entries(path, lock.packages[path], entry.path, (f.path for f in entry.files))
        hit = {p for p, raw in shipped.items() if not raw.get("extraneous") and p in lock.packages and not lock.packages[p].in_bundle}
        if hit:
            collisions |= hit
            read[path] = shipped
    if not collisions:
        return None
    kept = {p: e for p, e in lock.packages.items() if not any(p == c or is_inside(p, c) for c in collisions)}
    return with_bundles(replace(lock, packages=kept), read)


def with_bundles(lock: Lockfile, read: Mapping[str, Mapping[str, dict[str, Any]]]) -> Lockfile:
    """``lock`` with the bundled entries under each bundler in ``read`` replaced by the ones read.

    A path the lockfile already holds for a package that is not bundled is
    kept, with anything read inside it: the linker installs that one there.
    """
    packages = {
        p: e for p, e in lock.packages.items() if not (e.in_bundle and any(is_inside(p, b) for b in read))
    }
    refused: list[str] = []
    for entries in read.values():
        for path in sorted(entries):
            if path in packages or any(is_inside(path, r) for r in refused):
                refused.append(path)
            else:
                packages[path] = entry_from_json(path, entries[path])
    return replace(lock, packages=packages)


@dataclass(slots=True)
class _Shipped:
    path: str  # install path
    pkg: dict[str, Any]  # normalized package.json
    edges: dict[str, str] = field(default_factory=dict)  # name -> "prod" | "optional" | "peer" | "peerOptional"; a later kind wins, as npm's
    flags: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(_FLAGS, True))
    extraneous: bool = True


def bundled_entries(bundler_path: str, bundler: LockEntry, package_dir: Path, files: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The lockfile entries (npm's JSON shape) for what ``bundler`` ships, keyed by install path.

    ``package_dir`` is the extracted package, ``files`` its file paths (relative,
    ``/``-separated), so no directory is walked to find the shipped folders.
    """
    shipped = _read_shipped(bundler_path, package_dir, files)
    if not shipped:
        return {}
    bundled = _in_bundle(bundler_path, bundle_names(bundler.raw), shipped)
    _walk_flags(bundler_path, bundler, shipped)
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(bundled):
        node = shipped[path]
        raw = _entry(node)
        if node.extraneous:
            raw["extraneous"] = True
        else:
            for flag in _FLAGS:
                if node.flags[flag]:
                    raw[flag] = True
        out[path] = raw
    return out


def _read_shipped(bundler_path: str, package_dir: Path, files: Iterable[str]) -> dict[str, _Shipped]:
    """Every shipped package folder (rule 1), keyed by install path."""
    folders = sorted(
        f[: -len("/package.json")] for f in files if f.endswith("/package.json") and f.startswith("node_modules/")
    )
    shipped: dict[str, _Shipped] = {}
    for rel in folders:
        parent = _parent_folder(rel)
        if parent is None or (parent and f"{bundler_path}/{parent}" not in shipped):
            continue
        pkg = _read_package(package_dir / rel)
        if pkg is None:
            continue
        path = f"{bundler_path}/{rel}"
        node = _Shipped(path, pkg)
        meta = _object(pkg.get("peerDependenciesMeta"))
        for name in _str_keys(pkg.get("peerDependencies")):
            optional = isinstance(meta.get(name), dict) and meta[name].get("optional") is True
            node.edges[name] = "peerOptional" if optional else "peer"
        node.edges.update(dict.fromkeys(_str_keys(pkg.get("dependencies")), "prod"))
        node.edges.update(dict.fromkeys(_str_keys(pkg.get("optionalDependencies")), "optional"))
        shipped[path] = node
    return shipped


def _parent_folder(rel: str) -> str | None:
    """``node_modules/a/node_modules/@s/b`` → ``node_modules/a``; ``""`` for a top folder;
    None when ``rel`` is not a chain of ``node_modules/<package name>`` segments."""
    head, sep, name = rel.rpartition("node_modules/")
    if not sep or not is_valid_name(name) or (head and not head.endswith("/")):
        return None
    return head.rstrip("/")


def _read_package(folder: Path) -> dict[str, Any] | None:
    """The folder's package.json as npm normalizes it on reading, or None without a name and version."""
    try:
        pkg = orjson.loads((folder / "package.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(pkg, dict) or not _truthy(pkg.get("name")) or not _truthy(pkg.get("version")):
        return None
    pkg = {k: v for k, v in pkg.items() if not k.startswith("_")}
    if "bundleDependencies" not in pkg and "bundledDependencies" in pkg:
        pkg["bundleDependencies"] = pkg["bundledDependencies"]
    pkg.pop("bundledDependencies", None)
    bundle = pkg.get("bundleDependencies")
    if bundle is False:
        pkg["bundleDependencies"] = []
    elif bundle is True:
        pkg["bundleDependencies"] = list(pkg["dependencies"]) if isinstance(pkg.get("dependencies"), dict) else []
    elif isinstance(bundle, dict):
        pkg["bundleDependencies"] = list(bundle)
    elif not isinstance(bundle, list):
        pkg.pop("bundleDependencies", None)
    deps, optional = pkg.get("dependencies"), pkg.get("optionalDependencies")
    if _truthy(deps) and isinstance(optional, dict) and isinstance(deps, dict):
        deps = {k: v for k, v in deps.items() if k not in optional}
        if deps:
            pkg["dependencies"] = deps
        else:
            del pkg["dependencies"]
    scripts = pkg.get("scripts")
    if isinstance(scripts, dict):
        pkg["scripts"] = {k: v for k, v in scripts.items() if isinstance(v, str)}
    if pkg.get("funding"):
        pkg["funding"] = normalize_funding(pkg["funding"])
    name = pkg["name"] if isinstance(pkg["name"], str) else None
    bins, _ = normalize_bin(name, pkg.get("bin") or None, pkg.get("directories"), folder)
    pkg["bin"] = bins
    return pkg


def _in_bundle(bundler_path: str, names: list[str], shipped: Mapping[str, _Shipped]) -> set[str]:
    """Rule 2, to a fixed point: listed names, their nested folders, and what bundled packages reach."""
    bundled = {child_path(bundler_path, n) for n in names} & shipped.keys()
    while True:
        grown = {p for p in shipped if any(is_inside(p, b) for b in bundled)}
        for path in bundled | grown:
            for name in shipped[path].edges:
                found = _resolve(bundler_path, path, name, shipped)
                if found is not None:
                    grown.add(found)
        if grown <= bundled:
            return bundled
        bundled |= grown


def _resolve(bundler_path: str, start: str, name: str, shipped: Mapping[str, _Shipped]) -> str | None:
    """Where Node finds ``name`` from ``start``, looking no higher than the bundler's node_modules."""
    here = start
    while True:
        candidate = child_path(here, name)
        if candidate in shipped:
            return candidate
        if here == bundler_path:
            return None
        here = parent_of(here) or ""


def _walk_flags(bundler_path: str, bundler: LockEntry, shipped: Mapping[str, _Shipped]) -> None:
    """npm's dep-flag walk (rule 4): flags start set and are cleared along every edge that does
    not carry them, from the bundler (with its own flags) through the bundle."""
    top = _Shipped(bundler_path, {}, extraneous=False)
    top.flags = {"dev": bundler.dev, "optional": bundler.optional, "devOptional": bundler.dev_optional, "peer": bundler.peer}
    top.edges = dict.fromkeys(bundler.peer_dependencies, "peer")
    top.edges.update(dict.fromkeys(bundler.dependencies, "prod"))
    top.edges.update(dict.fromkeys(bundler.optional_dependencies, "optional"))
    queue = [top]
    while queue:
        node = queue.pop()
        if not node.extraneous:
            _keep_ancestors(bundler_path, node.path, shipped)
        for name, kind in node.edges.items():
            found = _resolve(bundler_path, node.path, name, shipped)
            if found is None:
                continue
            to = shipped[found]
            optional_edge = kind in ("optional", "peerOptional")
            peer_edge = kind in ("peer", "peerOptional")
            clears = {
                "dev": not node.flags["dev"],
                "optional": not node.flags["optional"] and not optional_edge,
                "devOptional": not (node.flags["devOptional"] or node.flags["dev"] or node.flags["optional"] or optional_edge),
                "peer": not node.flags["peer"] and not peer_edge,
            }
            changed = False
            if to.extraneous and not node.extraneous and kind != "peerOptional":
                to.extraneous = False
                changed = True
            for flag, clear in clears.items():
                if clear and to.flags[flag]:
                    to.flags[flag] = False
                    changed = True
            if changed:
                queue.append(to)
    for node in shipped.values():
        if node.flags["devOptional"] and (node.flags["dev"] or node.flags["optional"]):
            node.flags["devOptional"] = False


def _keep_ancestors(bundler_path: str, path: str, shipped: Mapping[str, _Shipped]) -> None:
    """A package someone needs keeps the folders it is nested in (npm unmarks them extraneous)."""
    while is_inside(path, bundler_path):
        path = parent_of(path) or ""
        node = shipped.get(path)
        if node is None or not node.extraneous:
            return
        node.extraneous = False


def _entry(node: _Shipped) -> dict[str, Any]:
    pkg = node.pkg
    raw: dict[str, Any] = {}
    if pkg["name"] != name_of(node.path):
        raw["name"] = pkg["name"]
    for key in _KEPT:
        value = pkg.get(key)
        if key == "license" and isinstance(value, dict) and _truthy(value.get("type")):
            value = value["type"]
        if _truthy(value):
            raw[key] = value
    raw["inBundle"] = True
    scripts = _object(pkg.get("scripts"))
    if _truthy(pkg.get("hasInstallScript")) or any(_truthy(scripts.get(s)) for s in _INSTALL_SCRIPTS):
        raw["hasInstallScript"] = True
    return raw


def _truthy(value: Any) -> bool:
    """JavaScript truthiness, with npm's extra rule that an empty object or array counts as unset."""
    if value is None or value is False or value == "" or (isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0):
        return False
    if isinstance(value, (dict, list)):
        return bool(value)
    return True


def _str_keys(value: Any) -> list[str]:
    return [k for k in value if isinstance(k, str)] if isinstance(value, dict) else []


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
