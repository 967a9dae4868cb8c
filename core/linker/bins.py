"""``node_modules/.bin``: one relative symlink per command a package declares.

Rules this module holds:

1. A package's bins go into the ``.bin`` of the ``node_modules`` holding it
   (``node_modules/a/node_modules/b`` → ``node_modules/a/node_modules/.bin``),
   as relative symlinks (``../b/cli.js``). Link entries (workspaces, ``file:``
   folders) get bins too, from their target's entry, and so do bundled
   packages, in their bundler's ``node_modules/.bin`` (npm's rebuild walks a
   bundler's bundled children). The root's own bins are not linked, as npm
   does for a non-global project.
2. The bin map comes from the lockfile entry and is re-checked with
   ``package_json.normalize_bin``: a name that is not a plain file name or a
   target that is absolute or leaves the package is dropped with a
   ``Warned(code="bin-dropped")``. A target that is not a file is dropped
   with ``bin-missing``.
3. Conflicts follow npm (arborist's rebuild + bin-links): packages are taken
   in (depth, path) order with ICU collation, and the first to claim a name
   keeps it; later claimants get ``Warned(code="bin-conflict")``. npm has no
   "package named like the bin wins" rule (that one is pnpm's), so neither
   does weir.
4. Each ``.bin`` is reconciled with what it should hold: a correct link is
   left untouched, a wrong or missing one is replaced via temp + rename, and
   anything else is removed, so removing a package removes its bins.
5. Targets are made executable (x wherever r is set). A target with more than
   one link shares its inode with the content store (hardlink mode), so it is
   never chmod-ed in place: it is replaced by a private executable copy
   (temp + rename). Extraction keeps the tarball's modes and leaves this to
   the linker, so in hardlink mode a non-executable bin costs one copy.
6. A target whose ``#!`` line ends in CRLF (a package built on Windows:
   human-id@4's ``dist/cli.js``) gets that one line ending turned into LF, as
   npm's bin-links does, or ``env`` would look for ``node\r``; it too becomes a
   private copy (temp + rename).
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from weir.core.errors import FilesystemError
from weir.core.events import Reporter, Warned
from weir.core.linker.modes import copy_file
from weir.core.linker.plan import TEMP_PREFIX
from weir.core.tree.lockfile import LockEntry, collation_key
from weir.core.tree.paths import container_of, depth, in_node_modules
from weir.core.npm.package_json import normalize_bin


@dataclass(frozen=True, slots=True)
class BinLink:
    location: str  # project-relative path of the link, e.g. node_modules/.bin/tsc
    target: str  # the symlink text, e.g. ../typescript/bin/tsc
    package: str  # install path of the package that owns it
    file: str  # project-relative path of the target file


@dataclass(frozen=True, slots=True)
class BinResult:
    linked: tuple[str, ...]  # links created or corrected
    removed: tuple[str, ...]  # links (or strays) removed from .bin folders
    kept: int


def plan_bins(
    desired: Mapping[str, LockEntry], reporter: Reporter | None = None
) -> dict[str, BinLink]:
    """Every bin link the tree should have, keyed by location (rules 1-3, without disk checks)."""
    reporter = reporter or Reporter()
    claims: list[tuple[str, dict[str, str]]] = []
    for path, entry in desired.items():
        if not in_node_modules(path):
            continue
        declared = entry.bin
        target = desired.get(entry.resolved) if entry.link and entry.resolved else None
        if not declared and target is not None:
            declared = target.bin
        if declared:
            claims.append((path, declared))
    # Only packages that declare bins are ordered: the collation key is costly, and most have none.
    claims.sort(key=lambda claim: (depth(claim[0]), collation_key(claim[0])))
    out: dict[str, BinLink] = {}
    for path, declared in claims:
        entry = desired[path]
        bins, problems = normalize_bin(entry.name, dict(declared), None)
        for problem in problems:
            reporter.event(
                Warned(
                    code="bin-dropped",
                    message=f"{entry.name}: {problem}",
                    package=entry.name,
                )
            )
        bin_dir = f"{container_of(path)}/.bin"
        for name, target in sorted(bins.items()):
            location = f"{bin_dir}/{name}"
            file = f"{path}/{target}"
            held = out.get(location)
            if held is not None:
                reporter.event(
                    Warned(
                        code="bin-conflict",
                        message=f"{location} is already linked to {held.package}; {path} does not replace it",
                        package=entry.name,
                    )
                )
                continue
            out[location] = BinLink(
                location, posixpath.relpath(file, bin_dir), path, file
            )
    return out


def link_bins(
    project: Path, desired: Mapping[str, LockEntry], *, reporter: Reporter | None = None
) -> BinResult:
    """Make every ``.bin`` folder in the tree match ``desired`` (rules 4-5)."""
    reporter = reporter or Reporter()
    wanted: dict[str, dict[str, BinLink]] = {}
    for link in plan_bins(desired, reporter).values():
        if _target_ok(project, link, desired, reporter):
            wanted.setdefault(posixpath.dirname(link.location), {})[
                posixpath.basename(link.location)
            ] = link
    folders = {"node_modules/.bin"} | set(wanted)
    for path, entry in desired.items():
        if path and not entry.link:
            folders.add(f"{path}/node_modules/.bin")
    linked: list[str] = []
    removed: list[str] = []
    kept = 0
    try:
        for folder in sorted(folders):
            k, lk, rm = _reconcile(project, folder, wanted.get(folder, {}))
            kept += k
            linked += lk
            removed += rm
    except OSError as e:
        raise FilesystemError(
            f"linking bins failed: {e.strerror} ({e.filename})",
            hint="check permissions on node_modules/.bin, then run the install again",
        ) from e
    return BinResult(linked=tuple(linked), removed=tuple(removed), kept=kept)


def _target_ok(
    project: Path, link: BinLink, desired: Mapping[str, LockEntry], reporter: Reporter
) -> bool:
    name = desired[link.package].name
    full = project / link.file
    try:
        st = os.stat(full)
    except OSError:
        st = None
    if st is None or not stat.S_ISREG(st.st_mode):
        reporter.event(
            Warned(
                code="bin-missing",
                message=f"{name}: bin target {link.file} is not a file; not linked",
                package=name,
            )
        )
        return False
    want = st.st_mode | ((st.st_mode & 0o444) >> 2)
    fixed = _unix_hashbang(full)
    if fixed is not None:  # a new file, never the content store's inode
        tmp = f"{full.parent}/{TEMP_PREFIX}{os.urandom(6).hex()}"
        with open(tmp, "xb") as out:
            out.write(fixed)
        os.chmod(tmp, stat.S_IMODE(want))
        os.rename(tmp, full)
    elif want != st.st_mode:
        if st.st_nlink > 1:  # shared with the content store: never chmod in place
            tmp = f"{full.parent}/{TEMP_PREFIX}{os.urandom(6).hex()}"
            copy_file(str(full), tmp, True)
            os.chmod(tmp, stat.S_IMODE(want))
            os.rename(tmp, full)
        else:
            os.chmod(full, stat.S_IMODE(want))
    return True


def _unix_hashbang(path: Path) -> bytes | None:
    """The file's bytes with a ``#!`` first line ending in CRLF ended in LF (rule 6), or None
    when it has no such line. npm's bin-links looks at the first 2048 bytes only."""
    with open(path, "rb") as f:
        head = f.read(2048)
        if not head.startswith(b"#!"):
            return None
        end = head.find(b"\n")
        if end < 4 or head[end - 1 : end] != b"\r":  # "#!", at least one byte, then CRLF
            return None
        data = head + f.read()
    return data[: end - 1] + data[end:]


def _reconcile(
    project: Path, folder: str, links: dict[str, BinLink]
) -> tuple[int, list[str], list[str]]:
    full = project / folder
    try:
        mode = os.lstat(full).st_mode
    except FileNotFoundError:
        if not links or not (full.parent).is_dir() or full.parent.is_symlink():
            return 0, [], []
        os.mkdir(full)
        mode = os.lstat(full).st_mode
    if stat.S_ISLNK(mode) or not stat.S_ISDIR(mode):
        raise FilesystemError(
            f"{full} is not a real folder; weir will not write bins through it",
            hint=f"remove {folder} and run the install again",
        )
    with os.scandir(full) as it:
        present = {e.name: e for e in it}
    kept = 0
    linked: list[str] = []
    removed: list[str] = []
    for name, entry in sorted(present.items()):
        if name in links:
            continue
        _delete(entry.path)
        removed.append(f"{folder}/{name}")
    for name, link in sorted(links.items()):
        there = present.get(name)
        if (
            there is not None
            and there.is_symlink()
            and os.readlink(there.path) == link.target
        ):
            kept += 1
            continue
        tmp = f"{full}/{TEMP_PREFIX}{os.urandom(6).hex()}"
        os.symlink(link.target, tmp)
        if there is not None and there.is_dir(follow_symlinks=False):
            shutil.rmtree(there.path)
        os.rename(tmp, f"{full}/{name}")
        linked.append(link.location)
    if not links and not os.listdir(full):
        os.rmdir(full)
    return kept, linked, removed


def _delete(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)
