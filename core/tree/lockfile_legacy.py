"""The two older lockfile shapes: reading npm 6's v1 tree, writing v2's ``dependencies`` section.

npm 11 reads a v1 lockfile (npm 6: only the nested ``dependencies`` tree) and
upgrades it to v3 on its next write; it keeps a v2 lockfile v2, writing the
legacy ``dependencies`` section beside ``packages``. weir does both the same
way, so a team that still has either sees no churn.

Rules this module holds:

1. A v1 tree becomes ``packages`` entries as arborist migrates it: the
   location is the nesting (``a`` inside ``b`` is ``node_modules/b/node_modules/a``);
   ``version`` carries a version, an ``npm:`` alias, a ``file:`` path (a folder
   is a link), a git URL or a tarball URL; ``requires`` becomes
   ``dependencies``, or ``optionalDependencies`` where the required package is
   optional and the requirer is not. What v1 lacks (bins, engines, install
   scripts, licenses) the installer fills in from each version's manifest
   (``inflate``) before anything is installed or written.
2. The v2 ``dependencies`` section is derived from ``packages`` only, as
   arborist's ``#buildLegacyLockfile`` derives it from the tree: each entry's
   ``version`` (``file:`` for a link, ``npm:name@version`` for an alias, the
   spec for a tarball), ``resolved`` for registry packages, ``integrity``,
   ``bundled`` and the dependency flags, ``requires`` (every dependency but
   peers) and its nested children.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Mapping
from typing import Any

from weir.core.errors import InputError
from weir.core.tree.paths import child_path, depth, in_node_modules, name_of, parent_of, resolve_location

_TARBALL = re.compile(r"\.(?:tgz|tar\.gz|tar)$", re.IGNORECASE)
_GIT = re.compile(r"^(?:git(?:\+[a-z]+)?:|github:|gitlab:|bitbucket:|gist:)", re.IGNORECASE)
_SCP_LIKE = re.compile(r"^[^@/:]+@[^:/.]+\.[^:/]+:.+$")  # git@github.com:u/r.git
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:")
_GITHUB_SHORTHAND = re.compile(r"^[^./@:#\s][^/@:#\s]*/[^/@:#\s]+(?:#.*)?$")  # user/repo[#ref]
_EDGE_FIELDS = ("peerDependencies", "dependencies", "optionalDependencies")  # arborist's order: a later kind wins


# -- reading v1 -------------------------------------------------------------------------


def packages_from_v1(doc: Mapping[str, Any], *, source: str) -> dict[str, dict[str, Any]]:
    """The ``packages`` entries (root excluded) of an npm 6 lockfile (rule 1)."""
    packages: dict[str, dict[str, Any]] = {}

    def walk(location: str, deps: Any) -> None:
        if not isinstance(deps, dict):
            return
        for name, lock in deps.items():
            if not isinstance(lock, dict):
                raise InputError(f"{source}: dependencies[{name!r}] is not an object", package=name, code="EJSONPARSE")
            path = child_path(location, name)
            meta = _meta_from_v1(name, lock)
            packages[path] = meta
            if meta.get("link"):  # what npm 6 nested under a link lives in the link's target
                packages.setdefault(meta["resolved"], _flags_and_requires(lock))
                walk(meta["resolved"], lock.get("dependencies"))
            else:
                walk(path, lock.get("dependencies"))

    walk("", doc.get("dependencies"))
    _requires_to_dependencies(packages)
    return packages


def _flags_and_requires(lock: Mapping[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if isinstance(lock.get("requires"), dict):
        meta["requires"] = dict(lock["requires"])
    for flag in ("dev", "optional"):
        if lock.get(flag) is True:
            meta[flag] = True
    if lock.get("bundled") is True:
        meta["inBundle"] = True
    return meta


def _meta_from_v1(name: str, lock: Mapping[str, Any]) -> dict[str, Any]:
    version = lock.get("version") if isinstance(lock.get("version"), str) else ""
    resolved = lock.get("resolved") if isinstance(lock.get("resolved"), str) else None
    integrity = lock.get("integrity") if isinstance(lock.get("integrity"), str) else None
    meta = _flags_and_requires(lock)
    if integrity:
        meta["integrity"] = integrity
    if version.startswith("file:"):
        target = posixpath.normpath(version[len("file:") :].replace("\\", "/"))
        if not _TARBALL.search(target):
            return {"link": True, "resolved": target}
        meta["resolved"] = f"file:{target}"
        _version_from_tarball(name, target, meta)
    elif version.startswith("npm:"):
        real, _, real_version = version[len("npm:") :].rpartition("@")
        meta["name"], meta["version"] = real, real_version
        if resolved:
            meta["resolved"] = resolved
    elif _GIT.match(version) or ("/" in version and not version.startswith(("http:", "https:"))):
        meta["resolved"] = version  # a git dependency (npm 6 kept the commit's URL as the version)
    elif version.startswith(("http:", "https:")):
        meta["resolved"] = version
        _version_from_tarball(name, version, meta)
    else:
        if version:
            meta["version"] = version
        if resolved:
            meta["resolved"] = resolved
    return meta


def _version_from_tarball(name: str, where: str, meta: dict[str, Any]) -> None:
    """npm's guess of a tarball's version from its file name (``x-1.2.3.tgz``)."""
    stem = _TARBALL.sub("", where.rsplit("/", 1)[-1])
    bare = name.rsplit("/", 1)[-1]
    if stem.startswith(bare + "-"):
        meta["version"] = stem[len(bare) + 1 :]


def _requires_to_dependencies(packages: dict[str, dict[str, Any]]) -> None:
    """v1 ``requires`` says what a package needs, not how: a required package that is optional
    (and the requirer is not) is an optional dependency, anything else a regular one (rule 1)."""
    for path, meta in packages.items():
        requires = meta.pop("requires", None)
        if not isinstance(requires, dict):
            continue
        for dep_name, spec in requires.items():
            dep = packages.get(resolve_location(packages, path, dep_name) or "")
            field = "optionalDependencies" if dep and dep.get("optional") and not meta.get("optional") else "dependencies"
            meta.setdefault(field, {})[dep_name] = spec


# -- writing v2 -------------------------------------------------------------------------


def legacy_dependencies(
    packages: Mapping[str, Mapping[str, Any]], *, omit_resolved: bool
) -> dict[str, Any]:
    """The v2 ``dependencies`` section for the tree ``packages`` describes (rule 2)."""
    children: dict[str, list[str]] = {}
    for path in packages:
        parent = parent_of(path)
        if parent is not None:
            children.setdefault(parent, []).append(path)
    specs = required_by(packages)

    def build(path: str, seen: tuple[str, ...]) -> dict[str, Any]:
        raw = packages[path]
        target = _real(packages, path)
        out = _legacy_entry(path, raw, specs.get(path, ()), omit_resolved=omit_resolved)
        depender = packages.get(target, {})
        requires = _requires(depender, top=not in_node_modules(target))
        if requires is not None:
            out["requires"] = requires
        kids = {
            name_of(kid): build(kid, (*seen, target))
            for kid in children.get(target, ())
            if _real(packages, kid) not in seen  # a link back into its own ancestry
        }
        if kids:
            out["dependencies"] = kids
        return out

    return {name_of(kid): build(kid, ("",)) for kid in children.get("", ())}


def _real(packages: Mapping[str, Mapping[str, Any]], path: str) -> str:
    raw = packages[path]
    return raw["resolved"] if raw.get("link") is True and isinstance(raw.get("resolved"), str) else path


def _legacy_entry(path: str, raw: Mapping[str, Any], specs: tuple[str, ...], *, omit_resolved: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    resolved = raw.get("resolved") if isinstance(raw.get("resolved"), str) else None
    folder_name = name_of(path)
    spec = specs[0] if specs else ""
    spec_kind = _spec_kind(spec)
    resolved_kind = _spec_kind(resolved or "")
    if raw.get("link") is True:
        out["version"] = f"file:{resolved}"
    elif spec_kind in ("file", "remote"):
        out["version"] = resolved if resolved is not None else spec
    elif "git" in (spec_kind, resolved_kind):
        out["version"] = resolved
        if spec:
            out["from"] = f"{folder_name}@{spec}"
    elif isinstance(raw.get("name"), str) and raw["name"] != folder_name and raw.get("version"):
        out["version"] = f"npm:{raw['name']}@{raw['version']}"
    elif raw.get("version"):
        out["version"] = raw["version"]
    if raw.get("inBundle") is True:
        out["bundled"] = True
    registry = resolved_kind not in ("git", "file") and spec_kind not in ("file", "git", "remote")
    if resolved and raw.get("link") is not True and registry and not omit_resolved:
        out["resolved"] = resolved
    if raw.get("integrity"):
        out["integrity"] = raw["integrity"]
    if raw.get("link") is not True:
        for flag in ("peer", "devOptional", "dev", "optional"):
            if raw.get(flag) is True:
                out[flag] = True
    return out


def _requires(depender: Mapping[str, Any], *, top: bool) -> dict[str, str] | None:
    """Every dependency edge but peers, as arborist lists a node's edges (a later kind wins);
    an entry whose only edges are peers still gets an empty ``requires``."""
    peers = depender.get("peerDependencies") or {}
    fields = (*_EDGE_FIELDS[1:], *(("devDependencies",) if top else ()))
    requires: dict[str, str] = {}
    for field in fields:
        deps = depender.get(field)
        if isinstance(deps, dict):
            requires.update({k: v for k, v in deps.items() if isinstance(v, str)})
    if not requires and not peers:
        return None
    return requires


def required_by(packages: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """For each entry, the specs it is required by, the shallowest requirer first (ICU order
    breaks ties), as arborist picks the edge it records ``from`` and ``version`` for."""
    from weir.core.tree.lockfile import collation_key

    return {
        where: tuple(spec for _, _, spec in (sorted(edges, key=lambda e: (e[0], collation_key(e[1]))) if len(edges) > 1 else edges))
        for where, edges in edges_in(packages).items()
    }


def edges_in(packages: Mapping[str, Mapping[str, Any]]) -> dict[str, list[tuple[int, str, str]]]:
    """For each entry, its dependents' edges to it: (the dependent's depth, its path, the spec)."""
    found: dict[str, list[tuple[int, str, str]]] = {}
    for path, raw in packages.items():
        if raw.get("link") is True:
            continue
        top = not in_node_modules(path)  # the root and workspace folders: their devDependencies count
        edges: dict[str, str] = {}  # one edge per name, the last kind listing it wins
        for field in (*_EDGE_FIELDS, *(("devDependencies",) if top else ())):
            deps = raw.get(field)
            if isinstance(deps, dict):
                edges.update({k: v for k, v in deps.items() if isinstance(v, str)})
        for name, spec in edges.items():
            where = resolve_location(packages, path, name)
            if where is not None:
                found.setdefault(where, []).append((depth(path), path, spec))
    return found


def is_tarball_path(text: str) -> bool:
    """``file:vendor/x.tgz`` (a packed tarball) rather than a folder."""
    return bool(_TARBALL.search(text))


def is_git(text: str) -> bool:
    """A git URL or hosted-git shorthand, as a spec or as a ``resolved`` value."""
    return _spec_kind(text) == "git"


def is_registry_spec(spec: str) -> bool:
    """A version, range, tag or ``npm:`` alias: what npm-package-arg calls a registry spec."""
    return _spec_kind(spec) == "registry"


@functools.lru_cache(maxsize=8192)
def _spec_kind(text: str) -> str:
    """The npm-package-arg type family of a spec or a ``resolved`` value, as far as the
    lockfile writers care: git, file, remote, registry, or other (an unknown scheme)."""
    if not text:
        return "registry"
    lowered = text.lower()
    if _GIT.match(lowered) or _SCP_LIKE.match(lowered):
        return "git"
    if lowered.startswith("file:") or lowered.startswith(("./", "../", "/", "~/")):
        return "file"
    if lowered.startswith(("http://", "https://")):
        return "remote"
    if lowered.startswith("npm:"):
        return "registry"
    if _SCHEME.match(lowered):
        return "other"
    if _GITHUB_SHORTHAND.match(lowered):
        return "git"
    return "registry"
