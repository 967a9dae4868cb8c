"""Workspaces as npm sees them: which folders they are, where the project root is, what ``-w`` picks.

Rules this module holds (npm 11: @npmcli/config's local prefix, map-workspaces,
get-workspaces, reify's workspace filter):

1. A workspace is a folder matched by a ``workspaces`` glob of the root's
   package.json that holds a package.json; ``!pattern`` removes matches, and
   nothing under a ``node_modules`` folder counts. Its name is its package
   name, else its folder's basename; two workspaces with one name are an error.
2. The project root: from the starting folder up, the nearest folder with a
   package.json or a node_modules is the prefix; then the first ancestor with
   a package.json whose workspaces include the prefix is the root, and the
   prefix becomes the implicit ``--workspace``. An explicit ``--prefix`` is
   taken as is (npm does not walk up from it).
3. ``-w X`` selects the workspace named X, the one at path X (relative to the
   root), or every workspace directly inside folder X. A filter that selects
   nothing is a usage error, as in npm.
4. A workspace filter limits what reaches node_modules, never the lockfile:
   the selected workspaces' links and everything they reach (with
   ``--include-workspace-root``, the root's own dependencies too).
"""

from __future__ import annotations

import glob
import os
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from weir.core.errors import InputError, UsageError
from weir.core.tree.lockfile import collation_key
from weir.core.npm.package_json import PackageJson, read_package_json

__all__ = ["Workspace", "workspace_folders", "select_workspaces", "reachable"]


@dataclass(frozen=True, slots=True)
class Workspace:
    name: str
    location: str  # relative to the root, "/"-separated
    package: PackageJson


def workspace_folders(root: Path, patterns: Iterable[str]) -> list[Workspace]:
    """The workspaces ``patterns`` match under ``root``, ordered by location (rule 1)."""
    root = root.resolve()
    found: dict[str, Path] = {}
    negated: set[str] = set()
    for pattern in patterns:
        negate = pattern.startswith("!")
        for match in glob.glob(os.path.join(root, pattern.lstrip("!")), recursive=True):
            folder = Path(match).resolve()
            if not folder.is_relative_to(root) or "node_modules" in folder.relative_to(root).parts:
                continue
            location = folder.relative_to(root).as_posix()
            if negate:
                negated.add(location)
            elif (folder / "package.json").is_file() and location != ".":
                found[location] = folder
    workspaces: list[Workspace] = []
    names: dict[str, str] = {}
    for location in sorted(set(found) - negated, key=collation_key):
        pkg = read_package_json(found[location] / "package.json")
        name = pkg.name or found[location].name
        if name in names:
            raise InputError(
                f"two workspaces are named {name}: {names[name]} and {location}",
                package=name,
                hint="give each workspace folder's package.json its own name",
                code="EDUPLICATEWORKSPACE",
            )
        names[name] = location
        workspaces.append(Workspace(name, location, pkg))
    return workspaces


def select_workspaces(root: Path, workspaces: Sequence[Workspace], filters: Sequence[str], *, every: bool) -> tuple[Workspace, ...]:
    """The workspaces ``-w`` filters (or ``--workspaces``) select, in location order (rule 3)."""
    root = root.resolve()
    if not workspaces:
        raise UsageError(
            f"no workspace folder present in {root}",
            hint='list workspace folders in package.json ("workspaces": ["packages/*"]), or drop -w/--workspaces',
            code="ENOWORKSPACES",
        )
    if every and not filters:
        return tuple(workspaces)
    chosen: list[Workspace] = []
    missing: list[str] = []
    for text in filters:
        folder = (root / text).resolve()
        hits = [ws for ws in workspaces if text == ws.name or root / ws.location == folder or (root / ws.location).parent == folder]
        if not hits:
            missing.append(text)
        chosen.extend(ws for ws in hits if ws not in chosen)
    if missing:
        raise UsageError(
            "no workspaces found: " + ", ".join(f"--workspace={m}" for m in missing),
            package=missing[0],
            hint="name a workspace by its package name or its folder; this project's are: " + ", ".join(ws.name for ws in workspaces),
            code="ENOWORKSPACES",
        )
    return tuple(sorted(chosen, key=lambda ws: collation_key(ws.location)))


def reachable(packages: Mapping[str, Mapping[str, Any]], workspaces: Iterable[Workspace], *, include_root: bool) -> set[str]:
    """Install paths of ``packages`` (a lockfile's entries) the selected workspaces reach (rule 4).

    Each workspace's link at the root and its folder count, then everything their
    dependencies resolve to, transitively; with ``include_root``, what the root's own
    (non-workspace) dependencies reach as well.
    """
    from weir.core.tree.paths import child_path, resolve_location  # the node_modules lookup `weir ls` and `why` use
    from weir.core.why import dependency_specs

    workspace_names = set()
    starts: list[str] = []
    for ws in workspaces:
        workspace_names.add(ws.name)
        starts += [child_path("", ws.name), ws.location]
    if include_root:
        root_deps = dependency_specs("", packages.get("", {}))
        starts += [p for name in root_deps if name not in workspace_names and (p := resolve_location(packages, "", name)) is not None]
    seen: set[str] = set()
    queue = deque(p for p in starts if p in packages)
    while queue:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        raw = packages[path]
        if raw.get("link"):
            queue.append(str(raw.get("resolved") or ""))
            continue
        for name in dependency_specs(path, raw):
            found = resolve_location(packages, path, name)
            if found is not None and found not in seen:
                queue.append(found)
    return {p for p in seen if p in packages}
