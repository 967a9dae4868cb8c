"""Carry out a LinkPlan: remove, then build each changed package beside its place and swap it in.

Rules this module holds:

1. A package appears at its final path in one ``rename``: it is built at a
   temp name in the ``node_modules`` that will hold it
   (``node_modules/.weir-tmp-…``), the old folder (if any) is renamed aside to
   another temp name, the new one renamed into place, and the old one
   deleted. An interrupted run leaves only temp entries, which the next plan
   lists as ``stale`` and this module deletes first.
2. The hidden lockfile is deleted before the first change, so a run that
   dies part-way leaves no record claiming the tree is complete; the installer
   writes it again last (``hidden_lockfile.write_hidden_lockfile``).
3. Every directory between the project and a package's place must be a real
   directory: a symlink there is refused (FilesystemError), never written
   through. Removing a package that is a symlink removes the link, never its
   target.
4. ``copy_paths`` (packages whose install scripts will run) get their own
   files even in hardlink mode, so a script can never edit the cache.
   Clones are already private copies.
5. ``Linked`` reports the mode each package actually got; ``Removed`` each
   removed folder. Phase events belong to the installer.
"""

from __future__ import annotations

import errno
import os
import posixpath
import shutil
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from weir.core.errors import FilesystemError
from weir.core.events import Linked, Removed, Reporter
from weir.core.tree.hidden_lockfile import forget_hidden_lockfile
from weir.core.linker.modes import (
    LinkMode,
    RequestedMode,
    place_tree,
    probe_mode,
    walk_files,
)
from weir.core.linker.plan import TEMP_PREFIX, LinkPlan, link_target
from weir.core.tree.paths import container_of

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class LinkSource:
    """A package's extracted files in the content store; ``files`` as (relative path,
    executable), or None to list ``dir`` once."""

    dir: Path
    files: Sequence[tuple[str, bool]] | None = None


@dataclass(frozen=True, slots=True)
class LinkResult:
    mode: LinkMode | None  # what "auto" settled on; None when no package was built
    linked: tuple[str, ...]  # paths (re)materialized, parents first
    removed: tuple[str, ...]
    kept: int
    files: int


def execute_link(
    plan: LinkPlan,
    sources: Mapping[str, LinkSource],
    *,
    mode: RequestedMode = "auto",
    reporter: Reporter | None = None,
    copy_paths: frozenset[str] | set[str] = frozenset(),
) -> LinkResult:
    """Make ``node_modules`` match the plan. Raises FilesystemError naming the path on failure."""
    reporter = reporter or Reporter()
    if not plan.touches_disk:
        return LinkResult(
            mode=None, linked=(), removed=(), kept=len(plan.keep), files=0
        )
    run = _Run(plan.project)
    try:
        run.real_dirs("node_modules")
        forget_hidden_lockfile(plan.project)
        for path in plan.stale:
            _delete(plan.project / path)
        for path in plan.remove:
            run.discard(path)
            reporter.event(Removed(location=path))
        _drop_empty_scopes(plan.project, plan.remove)
        resolved = _resolve_mode(mode, plan, sources) if plan.changes else None
        replacing = set(plan.replace)
        total = 0
        for path in plan.changes:
            entry = plan.desired[path]
            if entry.link:
                run.swap(
                    path, partial(os.symlink, link_target(entry)), path in replacing
                )
                used, count = "symlink", 0
            else:
                assert resolved is not None
                source = sources[path]
                files = (
                    source.files
                    if source.files is not None
                    else walk_files(str(source.dir))
                )
                want: LinkMode = (
                    "copy"
                    if resolved == "hardlink" and path in copy_paths
                    else resolved
                )
                used = run.swap(
                    path,
                    partial(_place, str(source.dir), files, want),
                    path in replacing,
                )
                count = len(files)
            total += count
            reporter.event(
                Linked(
                    package=entry.name,
                    version=entry.version or "",
                    location=path,
                    files=count,
                    mode=used,
                )
            )
    except OSError as e:
        raise FilesystemError(
            f"linking into {plan.project / 'node_modules'} failed: {e.strerror} ({e.filename})",
            hint="check free space and permissions, then run the install again; it resumes where it stopped",
        ) from e
    return LinkResult(
        mode=resolved,
        linked=plan.changes,
        removed=plan.remove,
        kept=len(plan.keep),
        files=total,
    )


def _resolve_mode(
    mode: RequestedMode, plan: LinkPlan, sources: Mapping[str, LinkSource]
) -> LinkMode:
    if mode != "auto":
        return mode
    for path in plan.changes:
        if plan.desired[path].link:
            continue
        source = sources[path]
        files = (
            source.files if source.files is not None else walk_files(str(source.dir))
        )
        if files:
            return probe_mode(
                str(source.dir / files[0][0]), str(plan.project / "node_modules")
            )
    return "copy"


class _Run:
    def __init__(self, project: Path) -> None:
        self.project = project
        self.checked: set[str] = set()

    def real_dirs(self, rel: str) -> None:
        """Make sure every component of ``rel`` is a real directory (rule 3), creating missing ones."""
        if rel in self.checked:
            return
        parent = posixpath.dirname(rel)
        if parent:
            self.real_dirs(parent)
        full = self.project / rel
        try:
            mode = os.lstat(full).st_mode
        except FileNotFoundError:
            os.mkdir(full, 0o777)
        else:
            if stat.S_ISLNK(mode):
                raise FilesystemError(
                    f"{full} is a symlink where weir needs a real folder; it will not write through it",
                    hint=f"remove the link {rel} and run the install again",
                )
            if not stat.S_ISDIR(mode):
                raise FilesystemError(
                    f"{full} is a file where weir needs a folder",
                    hint=f"remove {rel} and run the install again",
                )
        self.checked.add(rel)

    def temp(self, path: str) -> Path:
        return (
            self.project / container_of(path) / f"{TEMP_PREFIX}{os.urandom(6).hex()}"
        )

    def swap(self, path: str, build: Callable[[str], _T], replacing: bool) -> _T:
        """Build ``path`` at a temp name with ``build(tmp)``, then put it in place (rule 1)."""
        self.real_dirs(posixpath.dirname(path))
        tmp = self.temp(path)
        try:
            built = build(str(tmp))
            if replacing:
                self.discard(path)
            os.rename(tmp, self.project / path)
        except BaseException:
            _delete(tmp)
            raise
        return built

    def discard(self, path: str) -> None:
        """Rename ``path`` aside, then delete it: it vanishes in one step."""
        aside = self.temp(path)
        try:
            os.rename(self.project / path, aside)
        except FileNotFoundError:
            return
        _delete(aside)


def _place(
    src: str, files: Sequence[tuple[str, bool]], mode: LinkMode, dst: str
) -> LinkMode:
    return place_tree(src, dst, files, mode)


def _delete(path: Path) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _drop_empty_scopes(project: Path, removed: Sequence[str]) -> None:
    for path in removed:
        parent = posixpath.dirname(path)
        if posixpath.basename(parent).startswith("@"):
            try:
                os.rmdir(project / parent)
            except OSError as e:
                if e.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
                    raise
