"""One install, end to end: resolve → fetch → link → scripts → write.

This module only orders the stages; each stage lives in its own module (the
fetch stage's part of an install in ``install_fetch``, package.json edits in
``package_edits``). ``_install`` reads the project once into a ``_Run``, and
every stage takes that run-state: what was asked, the project as found, and
the fetch stage's tools (``Fetching``: the registry, the tarball fetcher and
the run's one job-id allocator).

Rules this module holds (DESIGN.md rule 4, "loses nothing"):

1. Nothing in the project changes until every tarball is verified and in the
   content store. A failed resolve or fetch leaves node_modules, the
   lockfile and package.json exactly as they were.
2. The write order is fixed: node_modules (package by package, atomically),
   bins, scripts, then package.json, package-lock.json, and last the hidden
   lockfile node_modules/.package-lock.json. Its presence (and freshness)
   is what says "this node_modules is complete"; an interrupted install
   never wrote it, so the next run re-diffs and repairs.
3. `weir ci` installs exactly the lockfile: it refuses a lockfile out of
   sync with package.json and removes node_modules only after everything
   it needs is fetched. It never writes package-lock.json.
4. The final writes (package.json, package-lock.json, the decisions, the
   hidden lockfile) are one step. From the first of them until ``install``
   returns, Ctrl-C is ignored (in the main thread, where Python handles
   signals; the caller's handler is restored on return): the writes take
   milliseconds, and an interruption between them would leave a lockfile
   written for an install that reports itself interrupted. A Ctrl-C before
   them leaves everything as rule 1 says.
5. Every lockfile npm writes is installed (see ``lockfile``; how an entry
   without ``resolved`` or ``integrity`` is fetched, and how an npm 6 (v1)
   lockfile is filled in first, is ``install_fetch``'s rule 2). `weir
   install` writes v2 back as v2 and anything older as v3, and honours
   ``omit-lockfile-registry-resolved``.
"""

from __future__ import annotations

import shutil
import signal
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from weir.core import events as ev
from weir.core.atomic import write_atomic
from weir.core.config import Config, load_config
from weir.core.errors import FilesystemError, InputError, LockfileOutOfSync, first_weir_error
from weir.core.install_fetch import Fetching, Prefetch, bundles_in_the_way, bundlers_to_fetch, fetch_all, upgrade_v1
from weir.core.npm.fields import DEPENDENCY_FIELDS
from weir.core.npm.package_json import JsonStyle, PackageJson, package_json_from_dict, read_package_json
from weir.core.package_edits import (
    WorkspaceEdit,
    edit_manifest,
    read_raw,
    save_resolved_specs,
    save_updated_ranges,
    selected_workspaces,
    update_names,
    updating,
    with_root_deps,
    with_workspace_deps,
    workspace_edits,
)
from weir.core.registry.connect import open_registry
from weir.core.resolve.workspaces import Workspace, reachable
from weir.core.store.content_store import ContentStore, stop_workers
from weir.core.store.fetch import TarballFetcher
from weir.core.tree.hidden_lockfile import read_hidden_lockfile, write_hidden_lockfile
from weir.core.tree.lockfile import LockEntry, Lockfile, dumps_lockfile, read_lockfile, registry_resolved
from weir.core.tree.paths import in_node_modules, parent_of
from weir.core.tree.selection import installed_paths, shipped_in_tarballs

if TYPE_CHECKING:
    from weir.core.resolve.decision import Decision


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallOptions:
    project: Path
    ci: bool = False
    add: tuple[str, ...] = ()  # CLI specs to add (npm install NAME@SPEC)
    remove: tuple[str, ...] = ()  # names to remove
    save_dev: bool = False
    save_optional: bool = False
    save_exact: bool = False
    save: bool = True
    lockfile_only: bool = False
    link_mode: str = "auto"
    cli_config: Mapping[str, Any] = field(default_factory=dict)
    workspaces: tuple[str, ...] = ()  # -w filters: workspace names or folders
    all_workspaces: bool = False  # --workspaces
    include_workspace_root: bool = False  # --include-workspace-root
    update: tuple[str, ...] = ()  # `weir update NAME…`: these names are picked again within their ranges
    update_all: bool = False  # `weir update`: every package picked again (npm resolves from no lockfile)
    save_updates: bool = False  # `weir update --save`: direct dependencies' ranges follow the new versions
    dedupe: bool = False  # `weir dedupe`: names held in several copies picked again, preferring a shared copy


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallResult:
    lockfile: Lockfile
    decisions: Mapping[str, Decision]
    link_mode: str | None
    linked: int
    removed: int
    blocked_scripts: tuple[str, ...]
    elapsed: float


@dataclass(frozen=True, slots=True, kw_only=True)
class _Run:
    """One install's state, built once by ``_install`` before any stage and only read after:
    what was asked, the project as found on disk, and the fetch stage's tools."""

    options: InstallOptions
    started: float  # perf_counter at the start, for RunFinished's elapsed
    pkg_path: Path
    raw_pkg: dict[str, Any]  # package.json as read
    style: JsonStyle  # its indent and line breaks, which every file written follows
    previous: Lockfile | None  # package-lock.json as read (an npm 6 one filled in, rule 5)
    selected: tuple[Workspace, ...] | None  # the workspaces the install is limited to; None: the whole project
    fetching: Fetching

    @property
    def project(self) -> Path:
        return self.options.project

    @property
    def config(self) -> Config:
        return self.fetching.config

    @property
    def reporter(self) -> ev.Reporter:
        return self.fetching.reporter


@dataclass(frozen=True, slots=True)
class _Target:
    """What the install puts in place: the tree, the Decisions that chose it (none when the
    lockfile is the tree), and package.json and the selected workspaces' as they will be saved."""

    lockfile: Lockfile
    decisions: Mapping[str, Decision]
    raw_pkg: dict[str, Any]
    edits: tuple[WorkspaceEdit, ...]


class _Phase:
    """Emits PhaseStarted/PhaseFinished around a stage."""

    def __init__(self, reporter: ev.Reporter, phase: ev.Phase) -> None:
        self.reporter = reporter
        self.phase = phase
        self.started = 0.0

    def __enter__(self) -> None:
        self.started = time.perf_counter()
        self.reporter.event(ev.PhaseStarted(phase=self.phase))

    def __exit__(self, *exc: object) -> None:
        self.reporter.event(ev.PhaseFinished(phase=self.phase, elapsed=time.perf_counter() - self.started))


async def install(options: InstallOptions, reporter: ev.Reporter) -> InstallResult:
    """Run one install; a failure inside concurrent work surfaces as its first WeirError."""
    on_main = threading.current_thread() is threading.main_thread()
    sigint = signal.getsignal(signal.SIGINT) if on_main else None
    try:
        return await _install(options, reporter)
    except BaseExceptionGroup as group:
        found = first_weir_error(group)
        if found is None:
            raise
        raise found from None
    finally:
        await stop_workers()
        if sigint is not None:  # rule 4
            signal.signal(signal.SIGINT, sigint)


def _writes_begin() -> None:
    """Rule 4: the final writes are not interrupted (``install`` restores the handler)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


async def _install(options: InstallOptions, reporter: ev.Reporter) -> InstallResult:
    """The stages in their order: read the project, choose the tree, then write the lockfile
    alone (``--lockfile-only``) or fetch, link, run scripts and write."""
    started = time.perf_counter()
    project = options.project
    config = load_config(project, cli=options.cli_config)
    pkg_path = project / "package.json"
    if not pkg_path.is_file():
        raise InputError(
            f"no package.json in {project}",
            hint="run weir in your project's folder, or create one with `npm init -y`",
            code="ENOENT",
        )
    reporter.event(
        ev.RunStarted(
            command="ci" if options.ci else "install",
            project=str(project),
            registry=config.redact(config.registry),
            cache_dir=str(config.cache),
        )
    )
    for warning in config.warnings:
        reporter.event(ev.Warned(code="npmrc", message=warning))
    raw_pkg, style = read_raw(pkg_path)
    _refuse_symlinked_outputs(project)
    selected = selected_workspaces(project, read_package_json(pkg_path), options)
    edits = workspace_edits(selected, options, config) if selected is not None and not options.ci else []
    lock = read_lockfile(project)
    registry = open_registry(config, reporter)
    fetcher = TarballFetcher(
        registry.transport, ContentStore(config.cache, deep=options.ci), reporter, concurrency=config.maxsockets, project=project
    )
    fetching = Fetching(config, reporter, registry, fetcher, ev.JobIds())
    try:
        if lock is not None and lock.lockfile_version == 1:
            lock = await upgrade_v1(fetching, lock, raw_pkg)
        async with anyio.create_task_group() as prefetch_group:
            prefetch = None if options.lockfile_only else Prefetch(prefetch_group, fetcher, fetching.job_ids)
            run = _Run(
                options=options, started=started, pkg_path=pkg_path, raw_pkg=raw_pkg, style=style, previous=lock,
                selected=selected, fetching=replace(fetching, prefetch=prefetch),
            )
            target = await _target(run, tuple(edits))
            if options.lockfile_only:
                return await _write_lockfile_only(run, target)
            result = await _materialize(run, target)
            prefetch_group.cancel_scope.cancel()  # copies pinned, then pruned: nobody needs them
            return result
    finally:
        await registry.transport.aclose()


async def _target(run: _Run, edits: tuple[WorkspaceEdit, ...]) -> _Target:
    """The tree to install: the lockfile as it is (``ci``, or a lockfile that is the tree), else the resolver's."""
    options, lock = run.options, run.previous
    if options.ci:
        return _Target(_ci_tree(read_package_json(run.pkg_path), lock), {}, run.raw_pkg, edits)
    if (
        lock is not None
        and lock.lockfile_version != 1  # its flags and edges are npm 6's guesses: resolve it, as npm does
        and not options.add
        and not options.remove
        and not updating(options)
        and _lockfile_is_the_tree(run.raw_pkg, lock)
    ):
        return _Target(lock, {}, run.raw_pkg, edits)
    return await _resolved(run, edits)


async def _resolved(run: _Run, edits: tuple[WorkspaceEdit, ...]) -> _Target:
    """The resolve stage: the ideal tree for package.json as it will be saved (``add``/``remove``
    edits applied), resolved once more when a bundler ships a package where another was placed."""
    from weir.core.resolve.resolver import resolve

    options, config, reporter, project, pkg_path = run.options, run.config, run.reporter, run.project, run.pkg_path
    lock, fetching = run.previous, run.fetching
    new_raw = edit_manifest(run.raw_pkg, options, config) if run.selected is None or options.include_workspace_root else run.raw_pkg
    root = package_json_from_dict(new_raw, source=str(pkg_path), pkg_dir=project, path=pkg_path)
    edited = {e.workspace.location: package_json_from_dict(e.new, source=str(e.path), pkg_dir=e.path.parent, path=e.path) for e in edits}
    on_pin = fetching.prefetch.pin if fetching.prefetch is not None else None
    with _Phase(reporter, "resolve"):
        resolution = await resolve(
            root,
            project,
            registry=fetching.registry,
            config=config,
            reporter=reporter,
            lockfile=None if options.update_all else lock,
            on_pin=on_pin,
            edited=edited,
            update=update_names(options, lock),
            prefer_dedupe=options.dedupe,
            job_ids=fetching.job_ids,
        )
        seed = await bundles_in_the_way(fetching, resolution.lockfile, lock)
        if seed is not None:  # once: the shipped packages are seeded now
            resolution = await resolve(
                root, project, registry=fetching.registry, config=config, reporter=reporter, lockfile=seed, on_pin=on_pin,
                job_ids=fetching.job_ids,
            )
    desired, decisions = resolution.lockfile, resolution.decisions
    for location, decision in decisions.items():
        reporter.event(ev.DecisionRecorded(location=location, decision=decision))
    if new_raw is not run.raw_pkg:
        new_raw = save_resolved_specs(new_raw, options, config, desired)
    if options.save_updates:
        new_raw = save_updated_ranges(new_raw, options, config, desired)
    edits = tuple(replace(e, new=save_resolved_specs(e.new, options, config, desired, e.workspace.location)) for e in edits)
    desired = with_workspace_deps(with_root_deps(desired, new_raw, project), edits)
    return _Target(desired, decisions, new_raw, edits)


async def _write_lockfile_only(run: _Run, target: _Target) -> InstallResult:
    """``--lockfile-only``: package.json and the lockfile written, node_modules untouched. npm
    downloads the tarball of each bundler whose bundled entries it lacks, to record what it ships."""
    from weir.core.tree.bundled import add_bundles
    from weir.core.resolve.decisions_store import save_decisions

    desired, previous = target.lockfile, run.previous
    paths = bundlers_to_fetch(desired, previous)
    if paths:
        with _Phase(run.reporter, "fetch"):
            entries = await fetch_all(run.fetching, desired.packages, paths)
        desired = add_bundles(desired, previous, entries, prune=previous is not None)
    _writes_begin()
    lockfile = _lockfile_bytes(run, desired)
    if run.options.save:
        _write_project_files(run, target, lockfile)
    save_decisions(run.project, lockfile, target.decisions, cache_dir=run.config.cache)
    return _finish(run, desired, target.decisions)


async def _materialize(run: _Run, target: _Target) -> InstallResult:
    """The fetch, link and scripts stages, then the final writes (rules 1 and 2)."""
    from weir.core.linker import LinkSource, execute_link, plan_link
    from weir.core.linker.bins import link_bins
    from weir.core.linker.script_policy import read_policy
    from weir.core.linker.scripts import run_scripts, script_paths
    from weir.core.tree.bundled import add_bundles

    options, config, reporter, project = run.options, run.config, run.reporter, run.project
    desired, selected = target.lockfile, run.selected
    raw_packages = {path: entry.raw for path, entry in desired.packages.items()}
    wanted = installed_paths(raw_packages, config.omit)
    current = None if options.ci else read_hidden_lockfile(project)
    if selected is not None:
        wanted = _in_selection(raw_packages, wanted, selected, options.include_workspace_root, current)
    install_set = {p: desired.packages[p] for p in wanted}
    # Workspace / file: folders are the project's own (their node_modules links point at them): nothing to
    # fetch; a dependency's bundle comes in its tarball (the root project's own bundle does not).
    shipped = shipped_in_tarballs({p for p, e in install_set.items() if e.in_bundle})
    registry_paths = [p for p in wanted if in_node_modules(p) and not install_set[p].link and p not in shipped]

    with _Phase(reporter, "fetch"):
        entries = await fetch_all(run.fetching, desired.packages, registry_paths)
    # What bundlers ship is known only now, from their extracted tarballs. `weir ci` records it in
    # the hidden lockfile only: like npm ci, it never rewrites package-lock.json.
    bundled = add_bundles(desired, run.previous, entries, prune=False)
    if bundled is not desired:
        if not options.ci:
            desired = bundled
        chosen = set(install_set)
        install_set = {
            p: bundled.packages[p]
            for p in installed_paths({p: e.raw for p, e in bundled.packages.items()}, config.omit)
            if selected is None or _inside(p, chosen)
        }

    with _Phase(reporter, "link"):
        if options.ci:
            _remove_node_modules(project)
        plan = plan_link(project, install_set, current)
        reporter.event(ev.LinkPlanned(packages=len(plan.changes)))
        policy = read_policy(target.raw_pkg, config.extra)
        for warning in policy.warnings:
            reporter.event(ev.Warned(code="allow-scripts", message=warning))
        copies = script_paths(install_set, plan.changes, policy) if not config.ignore_scripts else set()
        sources = {p: LinkSource(dir=entries[p].path, files=tuple((f.path, f.executable) for f in entries[p].files)) for p in entries}
        result = await anyio.to_thread.run_sync(
            lambda: execute_link(plan, sources, mode=options.link_mode, reporter=reporter, copy_paths=copies)  # type: ignore[arg-type]
        )
        link_bins(project, install_set, reporter=reporter)

    with _Phase(reporter, "scripts"):
        everything = dict(install_set)
        everything[""] = desired.packages[""]
        scripts = run_scripts(
            project, everything, plan.changes, reporter=reporter, ignore_scripts=config.ignore_scripts, policy=policy
        )

    # Scripts run synchronously, so a Ctrl-C during them is only a pending cancellation: take it
    # here, before the writes, or the lockfile is written and the run still reports "interrupted".
    await anyio.lowlevel.checkpoint()
    _writes_begin()
    # npm's --no-save: node_modules changes, package.json and the lockfile do not. Nor under `ci`,
    # which installs the lockfile as committed (its format and version too), as npm ci does.
    saving = options.save and not options.ci
    lockfile = _lockfile_bytes(run, desired) if saving or target.decisions else b""  # serialized once for both
    if saving:
        _write_project_files(run, target, lockfile)
    if target.decisions:  # `weir ci` resolves nothing; its lockfile is answered from the lockfile itself
        from weir.core.resolve.decisions_store import save_decisions  # a lockfile-is-the-tree install decides nothing

        save_decisions(project, lockfile, target.decisions)
    write_hidden_lockfile(project, install_set, name=desired.name, version=desired.version, omit_resolved=_omitted(run, desired),
                          style=run.style)
    blocked = tuple(s.path for s in scripts.blocked)
    return _finish(run, desired, target.decisions, mode=result.mode, linked=len(result.linked), removed=len(result.removed),
                   blocked=blocked)


def _omitted(run: _Run, lock: Lockfile) -> frozenset[str] | None:
    """The entries written without ``resolved`` in both lockfiles (omit-lockfile-registry-resolved, as npm)."""
    return registry_resolved(lock) if run.config.omit_lockfile_registry_resolved else None


def _write_project_files(run: _Run, target: _Target, lockfile: bytes) -> None:
    """package.json, the selected workspaces' package.json, then package-lock.json (rule 2)."""
    _write_manifest(run.pkg_path, run.raw_pkg, target.raw_pkg, run.style)
    for e in target.edits:
        _write_manifest(e.path, e.old, e.new, e.style)
    write_atomic(run.project / "package-lock.json", lockfile)


def _finish(
    run: _Run,
    lock: Lockfile,
    decisions: Mapping[str, Decision],
    *,
    mode: str | None = None,
    linked: int = 0,
    removed: int = 0,
    blocked: tuple[str, ...] = (),
) -> InstallResult:
    elapsed = time.perf_counter() - run.started
    run.reporter.event(ev.RunFinished(ok=True, exit_code=0, elapsed=elapsed))
    return InstallResult(
        lockfile=lock,
        decisions=decisions,
        link_mode=mode,
        linked=linked,
        removed=removed,
        blocked_scripts=blocked,
        elapsed=elapsed,
    )


# -- weir ci --------------------------------------------------------------------------


def _out_of_sync(pkg_raw: Mapping[str, Any], lock: Lockfile) -> tuple[str, list[str]] | None:
    """The first dependency field where package.json and the lockfile's root entry differ."""
    root = lock.packages.get("")
    recorded = root.raw if root is not None else {}
    for field_name in DEPENDENCY_FIELDS:
        want = pkg_raw.get(field_name) or {}
        have = recorded.get(field_name) or {}
        if want != have:
            return field_name, sorted(set(want) ^ set(have) | {k for k in set(want) & set(have) if want[k] != have[k]})
    return None


def _lockfile_is_the_tree(pkg_raw: Mapping[str, Any], lock: Lockfile) -> bool:
    """A lockfile whose root records exactly package.json's dependencies is the tree, as npm takes it.

    Skipping the resolver then saves its whole cost on the common warm path.
    Overrides and workspaces are not recorded in the root entry, so a project
    with either always goes through the resolver (seeded from the lockfile).
    """
    if pkg_raw.get("overrides") or pkg_raw.get("workspaces"):
        return False
    if _out_of_sync(pkg_raw, lock) is not None:
        return False
    # A required dependency without its entry (one deleted by hand to have it resolved again, as
    # npm's hints suggest) makes the lockfile a partial tree: installing it would remove the package.
    required = (name for f in ("dependencies", "devDependencies") for name in pkg_raw.get(f) or {})
    return all(f"node_modules/{name}" in lock.packages for name in required)


def _ci_tree(pkg: PackageJson, lock: Lockfile | None) -> Lockfile:
    if lock is None:
        raise LockfileOutOfSync(
            "weir ci needs a package-lock.json, and there is none",
            hint="run `weir install` to create it, commit it, then use `weir ci`",
            code="EUSAGE",
        )
    difference = _out_of_sync(pkg.raw, lock)
    if difference is None and lock.lockfile_version == 1:  # its root entry is package.json's own
        missing = [
            name for f in ("dependencies", "devDependencies") for name in pkg.raw.get(f) or {}
            if f"node_modules/{name}" not in lock.packages
        ]
        if missing:
            difference = ("dependencies" if missing[0] in (pkg.raw.get("dependencies") or {}) else "devDependencies", missing)
    if difference is not None:
        field_name, changed = difference
        want = pkg.raw.get(field_name) or {}
        name = changed[0] if changed else None
        raise LockfileOutOfSync(
            f"package.json and package-lock.json are out of sync ({field_name}: {', '.join(changed[:5])})",
            package=name,
            spec=want.get(name) if name else None,
            hint="run `weir install` to update package-lock.json, then commit it",
            code="EUSAGE",
        )
    return lock

def _refuse_symlinked_outputs(project: Path) -> None:
    """Refuse before any work: the final writes would otherwise fail after node_modules changed."""
    for name in ("package-lock.json", "node_modules"):
        path = project / name
        if path.is_symlink():
            raise FilesystemError(
                f"{path} is a symlink; weir will not write through it",
                hint=f"replace the link with a real {'file' if name.endswith('.json') else 'folder'}, then run weir again",
            )


def _remove_node_modules(project: Path) -> None:
    node_modules = project / "node_modules"
    if node_modules.is_symlink():
        raise FilesystemError(
            f"{node_modules} is a symlink; weir will not delete through it",
            hint="remove the link yourself, then run weir again",
        )
    if node_modules.exists():
        aside = project / f"node_modules.weir-old-{time.time_ns()}"
        node_modules.rename(aside)
        shutil.rmtree(aside, ignore_errors=True)

# -- workspaces ------------------------------------------------------------------------


def _in_selection(
    packages: Mapping[str, Mapping[str, Any]], wanted: list[str], selected: tuple[Workspace, ...], include_root: bool, current: Mapping[str, LockEntry] | None,
) -> list[str]:
    """What a workspace-limited install puts in node_modules: what the selected workspaces reach,
    and whatever is installed already and unchanged (npm leaves the rest of the tree alone)."""
    keep = reachable(packages, selected, include_root=include_root)
    installed = current or {}
    return [p for p in wanted if p in keep or (p in installed and installed[p].raw == packages[p])]


def _inside(path: str, chosen: set[str]) -> bool:
    """``path`` is chosen, or lies in a chosen package's folder (what a bundler ships)."""
    while path not in chosen:
        parent = parent_of(path)
        if not parent:
            return False
        path = parent
    return True


def _lockfile_bytes(run: _Run, lock: Lockfile) -> bytes:
    """package-lock.json as this run writes it: in the version npm 11 keeps (a v2 lockfile stays
    v2, v1 becomes v3), without ``resolved`` where omit-lockfile-registry-resolved says so, laid
    out in package.json's indent and line break. The decision log is keyed to these bytes."""
    version = 2 if run.previous is not None and run.previous.lockfile_version == 2 else 3
    return dumps_lockfile(replace(lock, lockfile_version=version), omit_resolved=_omitted(run, lock), style=run.style)


def _write_manifest(path: Path, old: dict[str, Any], new: dict[str, Any], style: JsonStyle) -> None:
    if new == old:
        return
    write_atomic(path, style.dumps(new).encode("utf-8"))
