"""What to change in ``node_modules``: the diff between the desired tree and what is there.

Rules this module holds:

1. Planning writes nothing. It reads directory listings (never following a
   symlink), readlink()s package links, and reads a ``package.json`` only when
   there is no trusted hidden lockfile to compare with.
2. A package folder is left untouched only when it is known to be the desired
   one: the hidden lockfile (``current``) records the same name, version,
   resolved and integrity, and a real directory (or, for a ``link`` entry, a
   symlink with the expected target) is at the path. Without a trusted hidden
   lockfile, a folder whose ``package.json`` names the desired name and version
   is kept, unless the package has install scripts: their build may not have
   finished, so it is rebuilt and its scripts run again.
3. Anything else at a desired path is replaced; every folder under
   ``node_modules`` that looks like a package (a non-dot directory or symlink,
   or one inside an ``@scope`` directory) and is not desired is removed. When a
   folder goes, everything nested in it goes too, so desired packages nested
   under a replaced folder are re-added and removals list only the topmost.
4. Entries a dependency bundles (``inBundle`` under a package that is not
   itself bundled) arrive inside their bundler's files and are never linked
   on their own; the root project's own bundled dependencies are installed
   like any other.
5. ``node_modules`` itself being a symlink is refused (FilesystemError): weir
   writes nothing outside the project, and a linked ``node_modules`` points
   outside it. (npm follows such a link; weir chooses not to.) A nested
   ``node_modules`` that is a symlink is not looked into; writing into it is
   refused by the executor.
6. Order is deterministic: every list is sorted by path, which puts a parent
   before anything nested in it.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson
from weir.core.errors import FilesystemError, InputError
from weir.core.tree.lockfile import LockEntry
from weir.core.tree.paths import ancestors_of, in_node_modules, name_of
from weir.core.tree.selection import shipped_in_tarballs

TEMP_PREFIX = ".weir-tmp-"


@dataclass(frozen=True, slots=True)
class LinkPlan:
    project: Path
    desired: Mapping[str, LockEntry]
    add: tuple[str, ...]  # nothing is at the path
    replace: tuple[str, ...]  # something else is at the path
    remove: tuple[str, ...]  # not desired; topmost folders only
    keep: tuple[str, ...]  # already right; not touched
    stale: tuple[str, ...]  # temp entries an interrupted run left behind

    @property
    def changes(self) -> tuple[str, ...]:
        """Paths to materialize, parents first."""
        return tuple(sorted(self.add + self.replace))

    @property
    def touches_disk(self) -> bool:
        return bool(self.add or self.replace or self.remove or self.stale)


def link_target(entry: LockEntry) -> str:
    """The relative symlink text for a ``link`` entry (``resolved`` is project-relative)."""
    if not entry.resolved:
        raise InputError(
            f"lockfile entry {entry.path!r} is a link without a target (no resolved)",
            package=entry.name,
            hint="regenerate the lockfile with `weir install`",
        )
    return posixpath.relpath(entry.resolved, posixpath.dirname(entry.path) or ".")


def plan_link(
    project: Path,
    desired: Mapping[str, LockEntry],
    current: Mapping[str, LockEntry] | None,
) -> LinkPlan:
    """Diff ``desired`` against ``node_modules`` as found (and as ``current`` describes it)."""
    root_nm = project / "node_modules"
    try:
        if stat.S_ISLNK(os.lstat(root_nm).st_mode):
            raise FilesystemError(
                f"{root_nm} is a symlink (to {os.readlink(root_nm)}); weir will not install through it",
                hint="remove the link and run weir again, or point the project at the real folder",
            )
    except FileNotFoundError:
        pass
    scan = _Scan(project)
    scan.node_modules("node_modules")
    for path, entry in sorted(desired.items()):
        if path and not in_node_modules(path) and not entry.link:
            scan.node_modules(f"{path}/node_modules")  # a workspace folder's own deps

    add: list[str] = []
    replace: list[str] = []
    keep: list[str] = []
    gone: set[str] = set()
    shipped = shipped_in_tarballs({p for p, e in desired.items() if e.in_bundle})
    for path in sorted(p for p in desired if in_node_modules(p)):
        entry = desired[path]
        if path in shipped:
            continue
        if any(a in gone for a in ancestors_of(path)):
            add.append(path)
            gone.add(path)
            continue
        kind = scan.found.get(path)
        if kind is None:
            add.append(path)
        elif _is_desired(project, entry, kind, scan.links.get(path), current):
            keep.append(path)
        else:
            replace.append(path)
            gone.add(path)

    remove: list[str] = []
    for path in sorted(scan.found):
        if path in desired or scan.found[path] == "file" or _shipped_inside(path, desired):
            continue
        if any(a in gone for a in ancestors_of(path)):
            continue
        remove.append(path)
        gone.add(path)
    return LinkPlan(
        project=project,
        desired=desired,
        add=tuple(add),
        replace=tuple(replace),
        remove=tuple(remove),
        keep=tuple(keep),
        stale=tuple(sorted(scan.stale)),
    )


def _shipped_inside(path: str, desired: Mapping[str, LockEntry]) -> bool:
    """A folder a package brought in its own tarball (its bundleDependencies): one of
    that package's files, not an extraneous package to remove."""
    chain = [*ancestors_of(path), path]
    for prefix, child in zip(chain, chain[1:]):
        entry = desired.get(prefix)
        if entry is not None:
            name = name_of(child)
            bundle = entry.raw.get("bundleDependencies") or entry.raw.get("bundledDependencies")
            if bundle is True and name in entry.dependencies:
                return True
            if isinstance(bundle, list) and name in bundle:
                return True
    return False


def _is_desired(
    project: Path,
    entry: LockEntry,
    kind: str,
    found_target: str | None,
    current: Mapping[str, LockEntry] | None,
) -> bool:
    if entry.link:
        if kind != "link" or found_target != link_target(entry):
            return False
    elif kind != "dir":
        return False
    if current is not None:
        was = current.get(entry.path)
        return was is not None and _same_package(was, entry)
    if entry.link:
        return True
    if entry.has_install_script:
        return False
    try:
        manifest = orjson.loads((project / entry.path / "package.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return False
    return (
        isinstance(manifest, dict)
        and manifest.get("name") == entry.name
        and manifest.get("version") == entry.version
    )


def _same_package(a: LockEntry, b: LockEntry) -> bool:
    """Same name, version and link, then the same bytes: by integrity when both record one
    (as npm decides; npm with omit-lockfile-registry-resolved writes no ``resolved``),
    otherwise by ``resolved``."""
    if (a.name, a.version, a.link) != (b.name, b.version, b.link):
        return False
    if a.integrity and b.integrity:
        return a.integrity == b.integrity
    return (a.resolved, a.integrity) == (b.resolved, b.integrity)


class _Scan:
    """What is under each ``node_modules``: package-looking entries and leftover temps."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.found: dict[str, str] = {}  # path -> "dir" | "link" | "file"
        self.links: dict[str, str] = {}  # path -> readlink text
        self.stale: list[str] = []

    def node_modules(self, rel: str) -> None:
        full = self.project / rel
        if os.path.islink(full):  # rule 5: never looked into
            return
        try:
            with os.scandir(full) as it:
                entries = sorted(it, key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            path = f"{rel}/{entry.name}"
            if entry.name.startswith(TEMP_PREFIX):
                self.stale.append(path)
            elif entry.name.startswith("."):
                continue
            elif entry.name.startswith("@") and entry.is_dir(follow_symlinks=False):
                with os.scandir(entry.path) as scoped:
                    for child in sorted(scoped, key=lambda e: e.name):
                        if not child.name.startswith("."):
                            self._package(f"{path}/{child.name}", child)
            else:
                self._package(path, entry)

    def _package(self, path: str, entry: os.DirEntry[str]) -> None:
        if entry.is_symlink():
            self.found[path] = "link"
            self.links[path] = os.readlink(entry.path)
        elif entry.is_dir(follow_symlinks=False):
            self.found[path] = "dir"
            self.node_modules(f"{path}/node_modules")
        else:
            self.found[path] = "file"
