"""A resolved tree's nodes as package-lock.json entries, with npm's key names.

Rules this module holds (so a fresh lockfile is byte-identical to npm 11's):

1. The root entry copies ``_ROOT_KEYS`` from package.json as written (``bin``
   normalized, ``funding`` as rule 4 says) and ``bundleDependencies`` spelled so,
   ``true`` expanded to the dependencies' names.
2. A link is ``{"resolved": <target's location>, "link": true}`` and nothing else;
   a workspace or file: folder records ``name`` only when its folder (or the name
   it is linked under) does not already say it, then package.json's own fields.
3. An entry an input lockfile gave is kept as written, its flags recomputed; a
   registry entry is name (only for an alias), version, resolved, integrity, the
   flags, then what ``manifest_fields`` copies from the version document.
4. Funding as npm writes it (``npm.fields.normalize_funding``): a bare URL as ``{"url": ...}``, a list as published.
5. The flags: ``extraneous`` alone, else ``dev`` / ``optional`` / ``devOptional``
   (only without the other two) / ``peer``.

The node is read through ``LockNode``, the few attributes this needs, so tree/
does not import the resolver's classes (the resolver's ``Node`` has them all).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from weir.core.npm.fields import normalize_funding
from weir.core.npm.package_json import PackageJson, normalize_bin
from weir.core.npm.packument import VersionManifest
from weir.core.tree.bundled import bundle_names, mark_root_bundle
from weir.core.tree.lockfile import LockEntry, Lockfile, collation_key, entry_from_json

__all__ = ["LockNode", "build_lockfile", "manifest_fields"]

_ROOT_KEYS = (
    "name", "version", "license", "workspaces", "dependencies", "devDependencies",
    "optionalDependencies", "peerDependencies", "peerDependenciesMeta", "bin", "engines", "funding", "os", "cpu",
)
_FLAGS = ("dev", "optional", "devOptional", "peer", "extraneous")


class _Located(Protocol):
    @property
    def location(self) -> str: ...


class LockNode(Protocol):
    """What an entry is made from: one placed folder (or link) of the ideal tree."""

    @property
    def name(self) -> str: ...
    @property
    def package_name(self) -> str: ...
    @property
    def version(self) -> str | None: ...
    @property
    def resolved(self) -> str | None: ...
    @property
    def integrity(self) -> str | None: ...
    @property
    def manifest(self) -> VersionManifest | None: ...
    @property
    def package(self) -> dict[str, Any] | None: ...
    @property
    def lock_raw(self) -> dict[str, Any] | None: ...
    @property
    def link_target(self) -> _Located | None: ...
    @property
    def parent(self) -> object | None: ...
    @property
    def is_top(self) -> bool: ...
    @property
    def extraneous(self) -> bool: ...
    @property
    def dev(self) -> bool: ...
    @property
    def optional(self) -> bool: ...
    @property
    def dev_optional(self) -> bool: ...
    @property
    def peer(self) -> bool: ...


def build_lockfile(root: PackageJson, nodes: Iterable[tuple[str, LockNode]]) -> Lockfile:
    """The lockfile of ``root`` and its tree's ``(location, node)`` pairs, keys in npm's order."""
    packages: dict[str, LockEntry] = {"": entry_from_json("", _root_raw(root))}
    for location, node in nodes:
        packages[location] = entry_from_json(location, _entry_raw(node))
    packages = mark_root_bundle(packages)
    return Lockfile(name=root.name, version=root.version, packages=dict(sorted(packages.items(), key=lambda kv: collation_key(kv[0]))))


def _root_raw(pkg: PackageJson) -> dict[str, Any]:
    """Rule 1."""
    raw: dict[str, Any] = {}
    for key in _ROOT_KEYS:
        value = pkg.raw.get(key)
        if value in (None, {}, []):
            continue
        if key == "bin":
            value = pkg.bin
        raw[key] = normalize_funding(value) if key == "funding" else value
    bundle = bundle_names(pkg.raw)
    if bundle:
        raw["bundleDependencies"] = bundle
    return raw


def _entry_raw(node: LockNode) -> dict[str, Any]:
    """One packages entry (rules 2 and 3)."""
    if node.link_target is not None and node.parent is not None:
        return {"resolved": node.link_target.location, "link": True}
    if node.is_top:  # a workspace / file: folder
        return _folder_raw(node, node.package or {})
    if node.lock_raw is not None:
        raw = {k: v for k, v in node.lock_raw.items() if k not in _FLAGS}
        _flags(node, raw)
        return raw
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
    if node.manifest is not None:
        raw.update(manifest_fields(node.manifest))
    return raw


def _folder_raw(node: LockNode, pkg: Mapping[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if node.package_name != node.name:  # npm: only a name its folder (or link) does not already say
        raw["name"] = node.package_name
    for key in _ROOT_KEYS[1:]:
        value = pkg.get(key)
        if value not in (None, {}, []):
            raw[key] = normalize_funding(value) if key == "funding" else value
    _flags(node, raw)
    return raw


def _flags(node: LockNode, raw: dict[str, Any]) -> None:
    """Rule 5."""
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
