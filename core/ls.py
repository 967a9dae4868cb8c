"""The engine of ``weir ls``: what is installed, checked against what is required, as ``npm ls`` sees it.

``weir.tui.cli.ls_cli`` parses the flags and prints; this module decides what
the tree holds and what is wrong with it. Rules this module holds:

1. What is shown is what is installed: the hidden lockfile
   (``node_modules/.package-lock.json``) when npm's trust check accepts it,
   otherwise the package folders on disk. package.json and each package's
   own dependency fields are the requirements it is checked against; a
   project resolved with ``--lockfile-only`` therefore lists every
   dependency as UNMET, as ``npm ls`` does.
2. Dependencies resolve by node's lookup (``weir.core.tree.paths.resolve_location``).
   The tree is walked breadth first in name order; a package met again after
   its first (shallowest) appearance is shown once more as ``deduped``
   without children.
3. Missing, invalid and extraneous packages are problems, each one line
   (npm's ELSPROBLEMS); an invalid package is marked wherever it is shown.
4. Default depth 0 (the root's dependencies); ``--all`` the whole tree; NAME
   filters (``NAME`` or ``NAME@RANGE``) keep every path leading to a match,
   at any depth.
5. Workspaces are the root's dependencies too, and depth counts again from
   each workspace, as npm's does. A workspace selection (``-w``,
   ``--workspaces``, or running inside a workspace folder) shows only the
   selected workspaces' subtrees, with the root's own dependencies beside
   them for ``--include-workspace-root``.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from weir.core.npm.semver import satisfies
from weir.core.npm.spec import Spec, parse_arg
from weir.core.resolve.decision import Requirement
from weir.core.resolve.workspaces import Workspace, select_workspaces, workspace_folders
from weir.core.tree.hidden_lockfile import read_hidden_lockfile
from weir.core.tree.paths import child_path, name_of, parent_of, resolve_location
from weir.core.why import dependency_specs, requirement_range


@dataclass(slots=True)
class Item:
    """One printed line of the tree, with its children."""

    name: str
    location: str | None  # None for an unmet dependency
    version: str = ""
    spec: str = ""  # the range asked for, for unmet dependencies
    optional: bool = False
    deduped: bool = False
    extraneous: bool = False
    invalid: str | None = None  # '"^2.0.0" from node_modules/a'
    link: str | None = None  # link target, for workspaces and file: folders
    resolved: str | None = None
    real_name: str | None = None  # for aliases: the package it installs
    children: list[Item] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Listing:
    """What ``weir ls`` shows: the tree, its problems (rule 3), and whether NAME filters
    were given that nothing installed matches."""

    tree: Item
    problems: tuple[str, ...]
    unmatched: bool


def list_installed(
    project: Path,
    *,
    depth: float,
    packages: Sequence[str] = (),
    workspace: Sequence[str] = (),
    every_workspace: bool = False,
    include_workspace_root: bool = False,
) -> Listing:
    """The installed tree of ``project`` down to ``depth``, filtered to ``packages``
    (rule 4) and to the selected workspaces (rule 5)."""
    pkg_path = project / "package.json"
    root_raw: dict[str, Any] = json.loads(pkg_path.read_text(encoding="utf-8-sig")) if pkg_path.is_file() else {}
    installed = installed_tree(project)
    workspaces = workspace_folders(project, root_raw.get("workspaces") or []) if pkg_path.is_file() else []
    only = _selected_names(project, root_raw, workspaces, workspace, every_workspace, include_workspace_root)
    tree, problems = build_tree(project, root_raw, installed, {ws.name: ws.location for ws in workspaces}, only=only)
    _prune(tree, depth, 0, {ws.location for ws in workspaces})
    filters = [parse_arg(p) for p in packages]
    if filters:
        tree.children = [c for c in tree.children if _keep(c, filters)]
    return Listing(tree=tree, problems=tuple(problems), unmatched=bool(filters) and not tree.children)


def _selected_names(
    project: Path,
    root_raw: Mapping[str, Any],
    workspaces: list[Workspace],
    names: Sequence[str],
    every: bool,
    include_root: bool,
) -> set[str] | None:
    """The root's dependencies to show: the selected workspaces (and, with
    --include-workspace-root, the root's own); None shows them all (rule 5)."""
    if not names and not every:
        return None
    selected = {ws.name for ws in select_workspaces(project, workspaces, names, every=every)}
    if include_root:
        selected |= set(dependency_specs("", root_raw)) - {ws.name for ws in workspaces}
    return selected


# -- what is installed -------------------------------------------------------------------


def installed_tree(project: Path) -> dict[str, dict[str, Any]]:
    """install path → the package's fields (rule 1)."""
    hidden = read_hidden_lockfile(project)
    if hidden is not None:
        return {path: dict(entry.raw) for path, entry in hidden.items()}
    found: dict[str, dict[str, Any]] = {}
    _scan(project, "", found)
    return found


def _scan(project: Path, location: str, found: dict[str, dict[str, Any]]) -> None:
    folder = project / location / "node_modules" if location else project / "node_modules"
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.name.startswith("@") and entry.is_dir(follow_symlinks=False):
            for child in sorted(os.scandir(entry.path), key=lambda e: e.name):
                if not child.name.startswith("."):
                    _add(project, child_path(location, f"{entry.name}/{child.name}"), Path(child.path), found)
            continue
        _add(project, child_path(location, entry.name), Path(entry.path), found)


def _add(project: Path, location: str, path: Path, found: dict[str, dict[str, Any]]) -> None:
    if path.is_symlink():
        target = os.path.relpath(path.resolve(), project).replace(os.sep, "/")
        found[location] = {"link": True, "resolved": target}
        if target not in found and not target.startswith(".."):
            found[target] = _package_json(path.resolve())
            _scan(project, target, found)
        return
    if path.is_dir():
        found[location] = _package_json(path)
        _scan(project, location, found)


def _package_json(folder: Path) -> dict[str, Any]:
    try:
        raw = json.loads((folder / "package.json").read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


# -- the tree ------------------------------------------------------------------------------


def _who(location: str, installed: Mapping[str, dict[str, Any]], root_raw: Mapping[str, Any]) -> str:
    raw = root_raw if location == "" else installed.get(location, {})
    name = raw.get("name") or (name_of(location) if location else "")
    return f"{name}@{raw.get('version', '')}"


def build_tree(
    project: Path,
    root_raw: Mapping[str, Any],
    installed: Mapping[str, dict[str, Any]],
    workspaces: Mapping[str, str] | None = None,
    *,
    only: set[str] | None = None,
) -> tuple[Item, list[str]]:
    """The whole tree (rule 2), and the problems found anywhere in it; ``workspaces``
    (name -> folder) are the root's dependencies too, and ``only`` limits which of the
    root's dependencies are shown, with no extraneous report (rule 5)."""
    root = Item(name=str(root_raw.get("name") or project.name), location="", version=str(root_raw.get("version") or ""))
    problems: list[str] = []
    reached: set[str] = {""}
    seen: set[str] = set()
    invalid: dict[str, str] = {}  # a package is invalid wherever it is shown, as in npm
    queue: deque[tuple[Item, str]] = deque([(root, "")])

    def raw_of(location: str) -> Mapping[str, Any]:
        return root_raw if location == "" else installed.get(location, {})

    while queue:
        item, location = queue.popleft()
        source = location
        raw = raw_of(location)
        if raw.get("link"):
            source = str(raw.get("resolved") or "")
            raw = raw_of(source)
        deps = dependency_specs(source, raw)
        if source == "":
            deps.update({name: (f"file:{project / loc}", "prod") for name, loc in (workspaces or {}).items()})
            if only is not None:
                deps = {name: dep for name, dep in deps.items() if name in only}
        for dep, (spec, kind) in sorted(deps.items()):
            target = resolve_location(installed, source, dep)
            optional = kind in ("optional", "peerOptional")
            if target is None:
                child = Item(name=dep, location=None, spec=spec, optional=optional)
                if not optional:
                    problems.append(f"missing: {dep}@{spec}, required by {_who(source, installed, root_raw)}")
                item.children.append(child)
                continue
            child = _installed_item(dep, target, installed)
            rng = requirement_range(Requirement(spec=spec, kind=kind, path=()), dep)
            if rng is not None and child.link is None and not satisfies(child.version, rng, loose=True):
                invalid.setdefault(target, f'"{spec}" from {"the root project" if source == "" else source}')
                problems.append(f"invalid: {child.real_name or dep}@{child.version} {project / target}")
            item.children.append(child)
            if target in seen:
                child.deduped = True
                continue
            seen.add(target)
            reached.add(target)
            if child.link is not None:
                reached.add(child.link)
            queue.append((child, target))
    _mark_invalid(root, invalid)
    if only is None:
        _attach_extraneous(root, project, installed, reached, problems)
    return root, list(dict.fromkeys(problems))  # one report per package, however many ask for it


def _mark_invalid(item: Item, invalid: Mapping[str, str]) -> None:
    for child in item.children:
        child.invalid = invalid.get(child.location or "")
        _mark_invalid(child, invalid)


def _prune(item: Item, depth: float, level: int, workspaces: set[str]) -> None:
    """Drop what lies deeper than ``depth`` (0: only the root's own dependencies); a
    workspace counts as the root does (rule 5)."""
    if item.link in workspaces:
        level = 0
    if level > depth:
        item.children = []
    for child in item.children:
        _prune(child, depth, level + 1, workspaces)


def _installed_item(dep: str, location: str, installed: Mapping[str, dict[str, Any]]) -> Item:
    raw = installed.get(location, {})
    if raw.get("link"):
        target = str(raw.get("resolved") or "")
        return Item(name=dep, location=location, version=str(installed.get(target, {}).get("version") or ""), link=target)
    real = raw.get("name")
    return Item(
        name=dep,
        location=location,
        version=str(raw.get("version") or ""),
        resolved=raw.get("resolved") if isinstance(raw.get("resolved"), str) else None,
        real_name=real if isinstance(real, str) and real != dep else None,
    )


def _attach_extraneous(
    root: Item,
    project: Path,
    installed: Mapping[str, dict[str, Any]],
    reached: set[str],
    problems: list[str],
) -> None:
    """Packages nothing requires, shown under the root as npm does, each a problem."""
    for location in sorted(installed):
        if location in reached or parent_of(location) is None or installed[location].get("link"):
            continue
        if parent_of(location) != "" and parent_of(location) not in reached:
            continue  # inside an extraneous package: reported with it
        item = _installed_item(name_of(location), location, installed)
        item.extraneous = True
        root.children.append(item)
        problems.append(f"extraneous: {item.real_name or item.name}@{item.version} {project / location}")


def _keep(item: Item, filters: list[Spec]) -> bool:
    """Prune ``item`` to the paths leading to a match; True when anything is left."""
    item.children = [c for c in item.children if _keep(c, filters)]
    return bool(item.children) or any(_matches(item, f) for f in filters)


def _matches(item: Item, spec: Spec) -> bool:
    if spec.name not in (item.name, item.real_name) or item.location is None:
        return False
    if not spec.raw or spec.kind == "tag":
        return True
    return satisfies(item.version, spec.fetch_spec, loose=True)


def to_json(tree: Item, problems: Sequence[str]) -> dict[str, Any]:
    """npm ls --json's shape."""
    doc: dict[str, Any] = {"name": tree.name}
    if tree.version:
        doc["version"] = tree.version
    if problems:
        doc["problems"] = list(problems)
    if tree.children:
        doc["dependencies"] = {c.name: _item_json(c) for c in tree.children}
    return doc


def _item_json(item: Item) -> dict[str, Any]:
    if item.location is None:
        return {"required": item.spec, "missing": True, **({"optional": True} if item.optional else {})}
    doc: dict[str, Any] = {"version": item.version}
    if item.real_name:
        doc["name"] = item.real_name
    if item.resolved:
        doc["resolved"] = item.resolved
    if item.link is not None:
        doc["resolved"] = f"file:{item.link}"
    doc["overridden"] = False
    if item.extraneous:
        doc["extraneous"] = True
    if item.invalid is not None:
        doc["invalid"] = item.invalid
    if item.children:
        doc["dependencies"] = {c.name: _item_json(c) for c in item.children}
    return doc
