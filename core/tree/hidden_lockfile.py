"""``node_modules/.package-lock.json``: npm's record of what a complete ``node_modules`` holds.

Rules this module holds:

1. Same format as package-lock.json v3, without the root entry, written from
   each entry's ``raw`` exactly as the lockfile writer writes it. Its header
   is package-lock.json's: ``name`` (package.json's, else the folder's) and
   ``version`` when the project has one, as npm writes it.
2. It is written last, atomically (temp + fsync + rename), after every
   package, bin and script is done; the linker deletes it before its first
   change. Its presence therefore means "this tree was completed".
3. It is trusted only as npm trusts it: no package folder, ``@scope``
   folder or ``node_modules`` folder may be newer than it, every package
   folder found must be in it, and every ``node_modules`` entry in it must be
   on disk. Anything else (unreadable, wrong version, a symlinked
   ``node_modules``) means "unknown", never an error: the linker then
   compares folders itself.
4. After writing, its mtime is set to at least ``node_modules``' own mtime,
   because the rename that put it there made the folder newer than the file.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Collection, Mapping
from pathlib import Path

from weir.core.atomic import write_atomic
from weir.core.errors import InputError
from weir.core.tree.lockfile import (
    LockEntry,
    Lockfile,
    dumps_lockfile,
    loads_lockfile,
)
from weir.core.npm.package_json import JsonStyle
from weir.core.tree.paths import in_node_modules
from weir.core.tree.selection import shipped_in_tarballs

HIDDEN_LOCKFILE = "node_modules/.package-lock.json"


def read_hidden_lockfile(project: Path) -> dict[str, LockEntry] | None:
    """The recorded tree (root excluded), or None when absent or not trustworthy (rule 3)."""
    path = project / HIDDEN_LOCKFILE
    try:
        if stat.S_ISLNK(os.lstat(project / "node_modules").st_mode):
            return None
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            return None
        lock = loads_lockfile(path.read_bytes(), source=str(path))
    except (OSError, InputError):
        return None
    packages = {p: e for p, e in lock.packages.items() if p}
    if not _consistent(project, packages, st.st_mtime_ns):
        return None
    return packages


def write_hidden_lockfile(
    project: Path,
    packages: Mapping[str, LockEntry],
    *,
    name: str | None = None,
    version: str | None = None,
    omit_resolved: Collection[str] | None = None,
    style: JsonStyle = JsonStyle(),
) -> None:
    """Record ``packages`` as the complete tree under package-lock.json's header (rule 1);
    call after everything else succeeded. The installer passes the header (and, under
    omit-lockfile-registry-resolved, the entries npm records without ``resolved``, and the
    root package.json's ``style``, which npm lays this file out in too); tools
    that only link (tests, bench/link_stages.py) may leave them out."""
    lock = Lockfile(name=name, version=version, packages={p: e for p, e in packages.items() if p})
    if not lock.packages and not os.path.isdir(project / "node_modules"):
        return  # an empty tree and no folder: npm creates none to hold the record
    path = project / HIDDEN_LOCKFILE
    write_atomic(path, dumps_lockfile(lock, include_root=False, omit_resolved=omit_resolved, style=style))
    folder = os.lstat(project / "node_modules").st_mtime_ns
    when = max(time.time_ns(), folder, os.lstat(path).st_mtime_ns)
    os.utime(path, ns=(when, when), follow_symlinks=False)


def forget_hidden_lockfile(project: Path) -> None:
    """Delete the record before changing the tree (rule 2)."""
    try:
        os.unlink(project / HIDDEN_LOCKFILE)
    except FileNotFoundError:
        pass


def _consistent(
    project: Path, packages: Mapping[str, LockEntry], lock_time: int
) -> bool:
    seen: set[str] = set()
    pending = ["node_modules"] + [
        f"{p}/node_modules"
        for p, e in packages.items()
        if not e.link and not in_node_modules(p)
    ]
    while pending:
        rel = pending.pop()
        try:
            st = os.lstat(project / rel)
        except FileNotFoundError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_mtime_ns > lock_time:
            return False
        with os.scandir(project / rel) as it:
            entries = list(it)
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = f"{rel}/{entry.name}"
            if entry.name.startswith("@") and entry.is_dir(follow_symlinks=False):
                if entry.stat(follow_symlinks=False).st_mtime_ns > lock_time:
                    return False
                with os.scandir(entry.path) as scoped:
                    children = [c for c in scoped if not c.name.startswith(".")]
            else:
                children = [entry]
            for child in children:
                child_path = (
                    f"{rel}/{entry.name}/{child.name}" if child is not entry else path
                )
                if child.is_symlink():
                    if child_path not in packages:
                        return False
                    seen.add(child_path)
                elif child.is_dir(follow_symlinks=False):
                    if (
                        child_path not in packages
                        or child.stat(follow_symlinks=False).st_mtime_ns > lock_time
                    ):
                        return False
                    seen.add(child_path)
                    pending.append(f"{child_path}/node_modules")
    shipped = shipped_in_tarballs({p for p, e in packages.items() if e.in_bundle})
    wanted = {p for p in packages if in_node_modules(p) and p not in shipped}
    return wanted <= seen
