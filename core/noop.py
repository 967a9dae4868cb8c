"""Is `weir install` a no-op here? Answered from three files, without the network stack.

A second install with nothing changed must touch nothing and finish in the
time it takes to read package.json, package-lock.json and
node_modules/.package-lock.json (the hidden lockfile, written last by a
complete install). This module imports only the standard library and
orjson, so the CLI can ask before importing anyio, httpx or textual.

It is a no-op when:
1. package.json's dependency fields equal the lockfile root entry's (npm
   records them there), each dependency and devDependency has its
   ``node_modules/<name>`` entry, and its workspaces are unchanged;
2. the hidden lockfile is at least as new as package.json and
   package-lock.json (an edit since the last install means re-checking);
3. the hidden lockfile lists exactly the entries this install would put in
   node_modules (same --omit), each with the same metadata (a missing
   ``resolved`` beside an integrity counts as the same; so do different
   ``dev``/``optional``/``devOptional``/``peer`` flags: npm's hidden lockfile
   holds them recomputed from the tree, a committed lockfile may hold stale
   ones, and npm's "up to date" compares version, integrity and resolved, never
   flags; which entries belong, flags included, is already the set above),
   and each of their folders exists;
4. the hidden lockfile's header (``name``, ``version``) is package-lock.json's,
   as npm writes it: a hidden lockfile from before weir wrote the header is
   rewritten once by a full install, then the next one is a no-op again;
5. no package folder sits at the top of node_modules (or in one of its
   ``@scope`` folders) that the hidden lockfile does not list: npm prunes
   such an extraneous folder, so the full install runs and removes it. One
   directory listing, plus one per scope; nested node_modules are not listed.
The caller passes ``omit`` from ``weir.core.settings`` (flags, ``npm_config_omit``,
every .npmrc, NODE_ENV), the settings a full install types into ``Config.omit``,
so the two never disagree on what belongs.
Anything unreadable simply means "not a no-op": the full install decides.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

import orjson

from weir.core.npm.fields import DEPENDENCY_FIELDS
from weir.core.tree.paths import child_path, is_top_level
from weir.core.tree.selection import installed_paths

_FLAGS = frozenset({"dev", "optional", "devOptional", "peer"})


def is_noop(project: Path, *, omit: Collection[str]) -> bool:
    try:
        pkg_stat = os.stat(project / "package.json")
        lock_stat = os.stat(project / "package-lock.json")
        hidden_path = project / "node_modules" / ".package-lock.json"
        hidden_stat = os.lstat(hidden_path)
        if os.path.islink(project / "node_modules"):
            return False
        if hidden_stat.st_mtime_ns < max(pkg_stat.st_mtime_ns, lock_stat.st_mtime_ns):
            return False
        pkg = orjson.loads((project / "package.json").read_bytes())
        lock = orjson.loads((project / "package-lock.json").read_bytes())
        hidden = orjson.loads(hidden_path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return False
    if not (isinstance(pkg, dict) and isinstance(lock, dict) and isinstance(hidden, dict)):
        return False
    if hidden.get("name") != lock.get("name") or hidden.get("version") != lock.get("version"):
        return False
    packages = lock.get("packages")
    hidden_packages = hidden.get("packages")
    if not isinstance(packages, dict) or not isinstance(hidden_packages, dict):
        return False
    root = packages.get("")
    if not isinstance(root, dict):
        return False
    for field in DEPENDENCY_FIELDS:
        if (pkg.get(field) or {}) != (root.get(field) or {}):
            return False
    if (pkg.get("workspaces") or None) != (root.get("workspaces") or None) and "workspaces" in pkg:
        return False
    if not all(child_path("", name) in packages for f in ("dependencies", "devDependencies") for name in pkg.get(f) or {}):
        return False  # an entry deleted by hand, to be resolved again
    wanted = installed_paths(packages, omit)
    if sorted(p for p in hidden_packages if p) != wanted:
        return False
    root = str(project)
    for path in wanted:
        if not _same_entry(hidden_packages[path], packages[path]):
            return False
        if not os.path.isdir(f"{root}/{path}"):  # a str join: pathlib's was a third of this check's time
            return False
    try:
        return _top_level_folders(f"{root}/node_modules") == {p for p in wanted if is_top_level(p)}
    except OSError:
        return False


def _top_level_folders(node_modules: str) -> set[str]:
    """Rule 5: every ``node_modules/<name>`` and ``node_modules/@scope/<name>`` that looks like
    a package to npm (a folder or a link, not a dot-name)."""
    found: set[str] = set()
    with os.scandir(node_modules) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not (entry.is_dir(follow_symlinks=False) or entry.is_symlink()):
                continue
            if entry.name.startswith("@") and not entry.is_symlink():
                with os.scandir(entry.path) as scoped:
                    found.update(
                        f"node_modules/{entry.name}/{child.name}"
                        for child in scoped
                        if not child.name.startswith(".") and (child.is_dir(follow_symlinks=False) or child.is_symlink())
                    )
            else:
                found.add(f"node_modules/{entry.name}")
    return found


def _same_entry(hidden: object, locked: object) -> bool:
    """The hidden entry records the lockfile's, except for the dependency flags (rule 3) and
    that npm configured with omit-lockfile-registry-resolved leaves ``resolved`` out (the
    integrity still pins the bytes)."""
    if hidden == locked:
        return True
    if not (isinstance(hidden, dict) and isinstance(locked, dict)):
        return False
    hidden = {k: v for k, v in hidden.items() if k not in _FLAGS}
    locked = {k: v for k, v in locked.items() if k not in _FLAGS}
    if hidden == locked:
        return True
    if "resolved" in hidden or not hidden.get("integrity"):
        return False
    return hidden == {k: v for k, v in locked.items() if k != "resolved"}
