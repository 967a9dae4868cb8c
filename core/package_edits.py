"""package.json as an install saves it: `weir add`/`remove` edits, the specs saved for what was
added, `weir update --save` ranges, and the workspaces an install is limited to.

Rules this module holds:

1. Pure functions of package.json's raw mapping, the options and the resolved lockfile:
   nothing here reads the network or writes a file (``weir.core.install`` writes,
   in its fixed order). A function that changes nothing returns its input as it is.
2. Fields move as npm moves them: ``add -D`` takes a name out of ``dependencies``,
   an object left empty is dropped (``tidy_dependency_fields``).
3. A saved spec is what npm saves (``saved_spec``): ``^version`` unless the range
   typed is narrower; exact with ``--save-exact`` or ``save-exact`` in .npmrc.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from weir.core.config import Config
from weir.core.errors import InputError
from weir.core.npm.fields import DEPENDENCY_FIELDS
from weir.core.npm.package_json import (
    JsonStyle,
    PackageJson,
    read_package_json,
    saved_spec,
    tidy_dependency_fields,
)
from weir.core.resolve.workspaces import Workspace, select_workspaces, workspace_folders
from weir.core.tree.lockfile import Lockfile
from weir.core.tree.paths import in_node_modules, name_of, resolve_location

if TYPE_CHECKING:
    from weir.core.install import InstallOptions
    from weir.core.npm.spec import Spec

__all__ = ["WorkspaceEdit", "edit_manifest", "read_raw", "save_resolved_specs", "save_updated_ranges",
           "selected_workspaces", "update_names", "updating", "with_root_deps", "with_workspace_deps",
           "workspace_edits"]


@dataclass(frozen=True, slots=True)
class WorkspaceEdit:
    """A selected workspace's package.json, before and after ``weir add/remove -w``."""

    workspace: Workspace
    path: Path
    old: dict[str, Any]
    new: dict[str, Any]
    style: JsonStyle



# -- package.json edits (weir install NAME, weir remove NAME) --------------------------


def read_raw(path: Path) -> tuple[dict[str, Any], JsonStyle]:
    pkg = read_package_json(path)  # raises a located InputError on malformed JSON
    return dict(pkg.raw), JsonStyle.of(path.read_bytes().decode("utf-8-sig"))  # not read_text: it turns CRLF into LF


def _target_field(options: InstallOptions) -> str:
    if options.save_dev:
        return "devDependencies"
    if options.save_optional:
        return "optionalDependencies"
    return "dependencies"


def edit_manifest(raw: dict[str, Any], options: InstallOptions, config: Config) -> dict[str, Any]:
    """package.json as it will be after `install NAME` / `remove NAME` (npm's moves between fields)."""
    from weir.core.npm.spec import parse_arg  # only when adding packages (it pulls in semver)

    if not options.add and not options.remove:
        return raw
    new = json.loads(json.dumps(raw))
    for name in options.remove:
        for f in DEPENDENCY_FIELDS:
            if isinstance(new.get(f), dict):
                new[f].pop(name, None)
    target = _target_field(options)
    for arg in options.add:
        spec = parse_arg(arg)
        name, saved = _git_added(spec, config) if spec.kind == "git" else (spec.name, spec.raw or "latest")
        for f in ("dependencies", "devDependencies", "optionalDependencies"):
            if f != target and isinstance(new.get(f), dict):
                new[f].pop(name, None)
        new.setdefault(target, {})
        new[target][name] = saved
    return tidy_dependency_fields(new)


def _git_added(spec: Spec, config: Config) -> tuple[str, str]:
    """``weir add <git spec>``: the name (from the repository's package.json when the argument
    has none, as npm reads it) and the spec as npm saves it (``user/repo`` → ``github:user/repo``)."""
    from weir.core.resolve.git import fetch_git, parse_git

    source = parse_git(spec.fetch_spec)
    name = spec.name
    if name is None:
        who = spec.raw
        name = fetch_git(spec.fetch_spec, config.cache, who, None).manifest.name
        if not name:
            raise InputError(f"{who}: the repository's package.json has no name", spec=who, code="EINVALIDPACKAGENAME",
                             hint="add it as NAME@<git spec>")
    return name, source.save_spec()


def save_resolved_specs(raw: dict[str, Any], options: InstallOptions, config: Config, lock: Lockfile, location: str = "") -> dict[str, Any]:
    """Each added registry package saved as npm saves it (``saved_spec``): ``^version`` unless
    the range typed is narrower; exact with --save-exact or save-exact in .npmrc. The version is
    the one the package.json at ``location`` (the root, or a workspace) resolves to."""
    from weir.core.npm.spec import parse_arg  # only when adding packages (it pulls in semver)

    if not options.add:
        return raw
    new = json.loads(json.dumps(raw))
    target = _target_field(options)
    prefix = "" if options.save_exact or config.save_exact else config.save_prefix
    for arg in options.add:
        spec = parse_arg(arg)
        if spec.name is None:  # a git spec added without a name is saved as _git_added saved it
            continue
        found = resolve_location(lock.packages, location, spec.name)
        entry = lock.packages.get(found) if found is not None else None
        if entry is None or entry.version is None:
            continue
        saved = saved_spec(spec, entry.version, prefix)
        if saved is not None:
            new[target][spec.name] = saved
    return new


def with_root_deps(lock: Lockfile, raw: dict[str, Any], project: Path) -> Lockfile:
    """The root entry records package.json's dependency fields as saved; a project without a
    name is named after its folder in the lockfile's header, as npm names it."""
    if lock.name is None:
        lock = replace(lock, name=project.absolute().name)
    root = lock.packages.get("")
    if root is None:
        return lock
    new_root_raw = dict(root.raw)
    for f in DEPENDENCY_FIELDS:
        if raw.get(f):
            new_root_raw[f] = dict(raw[f])
        else:
            new_root_raw.pop(f, None)
    packages = dict(lock.packages)
    packages[""] = replace(root, raw=new_root_raw)
    return replace(lock, packages=packages)


# -- weir update / weir dedupe ----------------------------------------------------------------


def updating(options: InstallOptions) -> bool:
    return bool(options.update) or options.update_all or options.dedupe


def update_names(options: InstallOptions, lock: Lockfile | None) -> frozenset[str]:
    """The names freed from their lockfile pins: those named, or for ``dedupe`` every name the
    lockfile holds in more than one copy (arborist's dedupe: an update of exactly those)."""
    if not options.dedupe or lock is None:
        return frozenset(options.update)
    seen: dict[str, int] = {}
    for path, entry in lock.packages.items():
        if path and in_node_modules(path) and not entry.link:
            name = entry.name or name_of(path)
            seen[name] = seen.get(name, 0) + 1
    return frozenset(name for name, copies in seen.items() if copies > 1) | frozenset(options.update)


def save_updated_ranges(raw: dict[str, Any], options: InstallOptions, config: Config, lock: Lockfile) -> dict[str, Any]:
    """npm's ``update --save``: each updated direct dependency's range becomes what ``weir add``
    would save for its new version (``^1.0.0`` → ``^1.1.0``); a range its version pins exactly
    (``1.0.0``) and a narrower range (``~1.0.0``) stay as written."""
    from weir.core.npm.semver import subset
    from weir.core.npm.spec import parse_spec

    new = json.loads(json.dumps(raw))
    prefix = "" if config.save_exact else config.save_prefix
    for field_name in ("dependencies", "devDependencies", "optionalDependencies"):
        for name, text in (new.get(field_name) or {}).items():
            entry = lock.packages.get(f"node_modules/{name}")
            if (options.update and name not in options.update) or entry is None or entry.version is None or not isinstance(text, str):
                continue
            try:
                spec = parse_spec(name, text)
                pinned = subset(text, entry.version, loose=True)
            except (InputError, ValueError):
                continue
            saved = None if pinned else saved_spec(spec, entry.version, prefix)
            if saved is not None:
                new[field_name][name] = saved
    return new


# -- workspaces (-w, --workspaces, or run inside a workspace folder) ---------------------


def selected_workspaces(project: Path, root: PackageJson, options: InstallOptions) -> tuple[Workspace, ...] | None:
    """The workspaces the install is limited to; None when it acts on the whole project."""
    if not options.workspaces and not options.all_workspaces:
        return None
    return select_workspaces(project, workspace_folders(project, root.workspaces), options.workspaces, every=options.all_workspaces)


def workspace_edits(selected: tuple[Workspace, ...], options: InstallOptions, config: Config) -> list[WorkspaceEdit]:
    """``weir add/remove NAME -w ws`` edits each selected workspace's package.json, not the root's."""
    if not options.add and not options.remove:
        return []
    edits = []
    for ws in selected:
        path = options.project / ws.location / "package.json"
        old, style = read_raw(path)
        edits.append(WorkspaceEdit(ws, path, old, edit_manifest(old, options, config), style))
    return edits


def with_workspace_deps(lock: Lockfile, edits: Sequence[WorkspaceEdit]) -> Lockfile:
    """A workspace's entry records its package.json's dependency fields as saved."""
    if not edits:
        return lock
    packages = dict(lock.packages)
    for e in edits:
        entry = packages.get(e.workspace.location)
        if entry is None:
            continue
        # the resolver read the edited package.json: only the saved specs (`^1.2.3` for `latest`) differ
        raw = {k: dict(e.new[k]) if k in DEPENDENCY_FIELDS and e.new.get(k) else v for k, v in entry.raw.items()}
        packages[e.workspace.location] = replace(entry, raw=raw)
    return replace(lock, packages=packages)
