"""One install, end to end: resolve → fetch → link → scripts → write.

This module only orders the stages; each stage lives in its own module.

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
5. Every lockfile npm writes is installed (see ``lockfile``): an entry
   without ``resolved`` is fetched from the registry configured for its
   name, one without ``integrity`` either gets it from that registry's
   packument; an npm 6 (v1) lockfile is filled in from each version's
   manifest first, as npm does. `weir install` writes v2 back as v2 and
   anything older as v3, and honours ``omit-lockfile-registry-resolved``.
"""

from __future__ import annotations

import itertools
import json
import posixpath
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
from weir.core.store.content_store import ContentStore, StoreEntry, stop_workers
from weir.core.errors import FilesystemError, InputError, LockfileOutOfSync, WeirError, first_weir_error
from weir.core.store.fetch import TarballFetcher, Wanted, registry_tarball_url
from weir.core.tree.hidden_lockfile import read_hidden_lockfile, write_hidden_lockfile
from weir.core.npm.integrity import Integrity, pick
from weir.core.tree.lockfile import (
    LockEntry,
    Lockfile,
    entry_from_json,
    read_lockfile,
    registry_resolved,
    write_lockfile,
)
from weir.core.npm.package_json import (
    JsonStyle,
    PackageJson,
    package_json_from_dict,
    read_package_json,
    saved_spec,
    tidy_dependency_fields,
)
from weir.core.tree.selection import installed_paths, shipped_in_tarballs
from weir.core.resolve.workspaces import Workspace, reachable, select_workspaces, workspace_folders

if TYPE_CHECKING:
    from collections.abc import Callable

    from weir.core.resolve.decision import Decision
    from weir.core.registry.http import Http, Response, Sink
    from weir.core.npm.packument import Packument, VersionManifest
    from weir.core.registry.registry import Full, ManifestDone, Registry
    from weir.core.npm.spec import Spec

DEP_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")


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


@dataclass(frozen=True, slots=True)
class _WorkspaceEdit:
    """A selected workspace's package.json, before and after ``weir add/remove -w``."""

    workspace: Workspace
    path: Path
    old: dict[str, Any]
    new: dict[str, Any]
    style: JsonStyle


@dataclass(frozen=True, slots=True, kw_only=True)
class InstallResult:
    lockfile: Lockfile
    decisions: Mapping[str, Decision]
    link_mode: str | None
    linked: int
    removed: int
    blocked_scripts: tuple[str, ...]
    elapsed: float


class _Network:
    """The HTTP client and registry, built on first use.

    A warm install from a lockfile needs neither (every tarball is in the
    content store and the tree comes from the lockfile), so it never pays
    for importing and starting aiohttp.
    """

    def __init__(self, config: Config, reporter: ev.Reporter) -> None:
        self.config = config
        self.reporter = reporter
        self._http: Http | None = None
        self._registry: Registry | None = None
        self._packument_job_ids = itertools.count(_PACKUMENT_JOB_IDS)

    @property
    def http(self) -> Http:
        if self._http is None:
            from weir.core.registry.http import Http

            self._http = Http(self.config, self.reporter)
        return self._http

    async def execute(self, job: Full, *, job_id: int) -> ManifestDone:
        """The registry's job interface (the resolver's only way to the network)."""
        if self._registry is None:
            from weir.core.registry.manifest_store import ManifestStore
            from weir.core.registry.registry import Registry

            # The registry gets this object as its HTTP client, so a run where every packument
            # is fresh in the store (a warm resolve) never starts one.
            self._registry = Registry(self, ManifestStore(self.config.cache), self.config, self.reporter)  # type: ignore[arg-type]
        return await self._registry.execute(job, job_id=job_id)

    async def packument(self, name: str) -> Packument:
        """The packument of ``name``, for what the installer itself reads (not the resolver's jobs)."""
        from weir.core.registry.registry import Full

        job_id = next(self._packument_job_ids)
        self.reporter.event(ev.JobQueued(job_id=job_id, kind="manifest", package=name, lane="demand"))
        done = await self.execute(Full(name), job_id=job_id)
        return done.manifest  # type: ignore[return-value]  # a Full job answers a Packument

    async def get(self, url: str, *, headers: Mapping[str, str] | None = None, job_id: int | None = None) -> Response:
        """The HTTP client's get, for the registry."""
        return await self.http.get(url, headers=headers, job_id=job_id)

    async def download(self, url: str, *, job_id: int | None = None, sink_factory: Callable[[], Sink]) -> int:
        """The HTTP client's streaming download, for the tarball fetcher."""
        return await self.http.download(url, job_id=job_id, sink_factory=sink_factory)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()


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
    raw_pkg, style = _read_raw(pkg_path)
    _refuse_symlinked_outputs(project)
    selected = _selected_workspaces(project, read_package_json(pkg_path), options)
    edits = _workspace_edits(selected, options, config) if selected is not None and not options.ci else []
    lock = read_lockfile(project)
    network = _Network(config, reporter)
    if lock is not None and lock.lockfile_version == 1:
        lock = await _upgrade_v1(lock, raw_pkg, network, reporter)
    fetcher = TarballFetcher(
        network,  # type: ignore[arg-type]  # the registry's Http, built on first use
        ContentStore(config.cache, deep=options.ci),
        reporter,
        concurrency=config.maxsockets,
        project=project,
    )
    try:
        async with anyio.create_task_group() as prefetch_group:
            prefetch = None if options.lockfile_only else _Prefetch(prefetch_group, fetcher)
            if options.ci:
                desired, decisions, new_raw = _ci_tree(read_package_json(pkg_path), lock), {}, raw_pkg
            elif (
                lock is not None
                and lock.lockfile_version != 1  # its flags and edges are npm 6's guesses: resolve it, as npm does
                and not options.add
                and not options.remove
                and not _updating(options)
                and _lockfile_is_the_tree(raw_pkg, lock)
            ):
                desired, decisions, new_raw = lock, {}, raw_pkg
            else:
                from weir.core.resolve.resolver import resolve

                new_raw = _edit_manifest(raw_pkg, options, config) if selected is None or options.include_workspace_root else raw_pkg
                root = package_json_from_dict(new_raw, source=str(pkg_path), pkg_dir=project, path=pkg_path)
                edited = {e.workspace.location: package_json_from_dict(e.new, source=str(e.path), pkg_dir=e.path.parent, path=e.path) for e in edits}
                with _Phase(reporter, "resolve"):
                    resolution = await resolve(
                        root,
                        project,
                        registry=network,
                        config=config,
                        reporter=reporter,
                        lockfile=None if options.update_all else lock,
                        on_pin=prefetch.pin if prefetch is not None else None,
                        edited=edited,
                        update=_update_names(options, lock),
                        prefer_dedupe=options.dedupe,
                    )
                    seed = await _bundles_in_the_way(fetcher, network, prefetch, config, reporter, resolution.lockfile, lock)
                    if seed is not None:  # once: the shipped packages are seeded now
                        resolution = await resolve(
                            root, project, registry=network, config=config, reporter=reporter, lockfile=seed,
                            on_pin=prefetch.pin if prefetch is not None else None,
                        )
                desired, decisions = resolution.lockfile, resolution.decisions
                for location, decision in decisions.items():
                    reporter.event(ev.DecisionRecorded(location=location, decision=decision))
                if new_raw is not raw_pkg:
                    new_raw = _save_resolved_specs(new_raw, options, config, desired)
                if options.save_updates:
                    new_raw = _save_updated_ranges(new_raw, options, config, desired)
                edits = [replace(e, new=_save_resolved_specs(e.new, options, config, desired, e.workspace.location)) for e in edits]
                desired = _with_root_deps(desired, new_raw, project)
                desired = _with_workspace_deps(desired, edits)
            if options.lockfile_only:
                desired = await _bundles_for_lockfile_only(fetcher, network, config, reporter, desired, lock)
                _writes_begin()
                if options.save:
                    _write_manifest(pkg_path, raw_pkg, new_raw, style)
                    for e in edits:
                        _write_manifest(e.path, e.old, e.new, e.style)
                    omit = registry_resolved(desired) if config.omit_lockfile_registry_resolved else None
                    _write_lockfile(project, desired, lock, omit, style)
                from weir.core.resolve.decisions_store import save_decisions

                save_decisions(project, desired, decisions, cache_dir=config.cache)
                return _finish(reporter, started, desired, decisions, None, 0, 0, ())
            result = await _materialize(
                options, config, fetcher, network, prefetch, reporter, started, desired, lock, decisions, pkg_path, raw_pkg,
                new_raw, style, selected, edits,
            )
            prefetch_group.cancel_scope.cancel()  # copies pinned, then pruned: nobody needs them
            return result
    finally:
        await network.aclose()


async def _materialize(
    options: InstallOptions,
    config: Config,
    fetcher: TarballFetcher,
    network: _Network,
    prefetch: _Prefetch | None,
    reporter: ev.Reporter,
    started: float,
    desired: Lockfile,
    previous: Lockfile | None,
    decisions: Mapping[str, Decision],
    pkg_path: Path,
    raw_pkg: dict[str, Any],
    new_raw: dict[str, Any],
    style: JsonStyle,
    selected: tuple[Workspace, ...] | None,
    edits: list[_WorkspaceEdit],
) -> InstallResult:
    from weir.core.linker.bins import link_bins
    from weir.core.tree.bundled import add_bundles
    from weir.core.linker import LinkSource, execute_link, plan_link
    from weir.core.linker.plan import is_managed
    from weir.core.linker.script_policy import read_policy
    from weir.core.linker.scripts import run_scripts, script_paths

    project = options.project
    raw_packages = {path: entry.raw for path, entry in desired.packages.items()}
    wanted = installed_paths(raw_packages, config.omit)
    current = None if options.ci else read_hidden_lockfile(project)
    if selected is not None:
        wanted = _in_selection(raw_packages, wanted, selected, options.include_workspace_root, current)
    install_set = {p: desired.packages[p] for p in wanted}
    # Workspace / file: folders are the project's own (their node_modules links point at them): nothing to
    # fetch; a dependency's bundle comes in its tarball (the root project's own bundle does not).
    shipped = shipped_in_tarballs({p for p, e in install_set.items() if e.in_bundle})
    registry_paths = [p for p in wanted if is_managed(p) and not install_set[p].link and p not in shipped]

    with _Phase(reporter, "fetch"):
        entries = await _fetch_all(fetcher, network, prefetch, config, reporter, desired.packages, registry_paths)
    # What bundlers ship is known only now, from their extracted tarballs. `weir ci` records it in
    # the hidden lockfile only: like npm ci, it never rewrites package-lock.json.
    bundled = add_bundles(desired, previous, entries, prune=False)
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
        policy = read_policy(new_raw, config.extra)
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
    omit = registry_resolved(desired) if config.omit_lockfile_registry_resolved else None  # both lockfiles, as npm
    # npm's --no-save: node_modules changes, package.json and the lockfile do not. Nor under `ci`,
    # which installs the lockfile as committed (its format and version too), as npm ci does.
    if options.save and not options.ci:
        _write_manifest(pkg_path, raw_pkg, new_raw, style)
        for e in edits:
            _write_manifest(e.path, e.old, e.new, e.style)
        _write_lockfile(project, desired, previous, omit, style)
    if decisions:  # `weir ci` resolves nothing; its lockfile is answered from the lockfile itself
        from weir.core.resolve.decisions_store import save_decisions  # a lockfile-is-the-tree install decides nothing

        save_decisions(project, desired, decisions)
    write_hidden_lockfile(project, install_set, name=desired.name, version=desired.version, omit_resolved=omit,
                          style=style)
    blocked = tuple(s.path for s in scripts.blocked)
    return _finish(reporter, started, desired, decisions, result.mode, len(result.linked), len(result.removed), blocked)


async def _bundles_in_the_way(
    fetcher: TarballFetcher,
    network: _Network,
    prefetch: _Prefetch | None,
    config: Config,
    reporter: ev.Reporter,
    resolved: Lockfile,
    previous: Lockfile | None,
) -> Lockfile | None:
    """The lockfile to resolve again from when a bundler ships a package where the resolver
    placed another (``weir.core.tree.bundled`` rule 7); None, fetching nothing, without new bundlers."""
    from weir.core.tree.bundled import bundlers_to_read, bundles_in_the_way

    paths = [p for p in bundlers_to_read(resolved, previous) if resolved.packages[p].resolved]
    if not paths:
        return None
    entries = await _fetch_all(fetcher, network, prefetch, config, reporter, resolved.packages, paths)
    return bundles_in_the_way(resolved, entries)


async def _bundles_for_lockfile_only(
    fetcher: TarballFetcher,
    network: _Network,
    config: Config,
    reporter: ev.Reporter,
    desired: Lockfile,
    previous: Lockfile | None,
) -> Lockfile:
    """npm's --package-lock-only downloads the tarball of each bundler whose bundled entries
    it lacks (one with a ``resolved``: npm leaves one without it as it is) to record what it ships."""
    from weir.core.tree.bundled import add_bundles, bundlers_to_read

    paths = [p for p in bundlers_to_read(desired, previous) if desired.packages[p].resolved]
    if not paths:
        return desired
    with _Phase(reporter, "fetch"):
        entries = await _fetch_all(fetcher, network, None, config, reporter, desired.packages, paths)
    return add_bundles(desired, previous, entries, prune=previous is not None)


async def _fetch_all(
    fetcher: TarballFetcher,
    network: _Network,
    prefetch: _Prefetch | None,
    config: Config,
    reporter: ev.Reporter,
    install_set: Mapping[str, LockEntry],
    paths: list[str],
) -> dict[str, StoreEntry]:
    """Every tarball verified and extracted into the content store, keyed by install path.

    Two paths with the same tarball share one fetch; a download the resolver
    already started (pipelined) is awaited instead of started again, provided
    it was checked against the same integrity the lockfile records.
    """
    packed = await _pack_git_entries(config, fetcher.project, install_set, paths)
    sources = await _tarball_sources(network, config, install_set, [p for p in paths if install_set[p].resolved not in packed])
    by_key: dict[tuple[str, str], list[str]] = {}
    for path in paths:
        resolved = install_set[path].resolved
        if resolved in packed:  # a git commit, packed from its clone
            by_key.setdefault((resolved, packed[resolved][1]), []).append(path)
            continue
        url, integrity = sources[path]
        by_key.setdefault((url, _strongest(integrity)), []).append(path)
    results: dict[str, StoreEntry] = {}
    jobs = sorted(by_key.items())
    wanted: list[Wanted] = []
    for n, (key, group) in enumerate(jobs):
        entry = install_set[group[0]]
        if key[0] in packed:  # a git commit: the packed tarball is read in ``one``
            continue
        if prefetch is None or not prefetch.started(key[0]):
            wanted.append((_FETCH_JOB_IDS + n, entry.name, entry.version or "", key[0], sources[group[0]][1]))
    reused = await fetcher.reuse_many(wanted)

    async def one(job_id: int, key: tuple[str, str], paths_for_key: list[str]) -> None:
        entry = install_set[paths_for_key[0]]
        if job_id in reused:
            for p in paths_for_key:
                results[p] = reused[job_id]
            return
        if key[0] in packed:
            tarball, digest = packed[key[0]]
            reporter.event(ev.JobQueued(job_id=job_id, kind="tarball", package=f"{entry.name}@{entry.version}"))
            stored = await fetcher.fetch(entry.name, entry.version or "", key[0], Integrity.parse(digest), job_id=job_id, packed=tarball)
            for p in paths_for_key:
                results[p] = stored
            return
        integrity = sources[paths_for_key[0]][1]
        stored = await prefetch.wait(key[0], key[1]) if prefetch is not None else None
        if stored is None:
            reporter.event(ev.JobQueued(job_id=job_id, kind="tarball", package=f"{entry.name}@{entry.version}"))
            stored = await fetcher.fetch(entry.name, entry.version or "", key[0], integrity, job_id=job_id)
        for p in paths_for_key:
            results[p] = stored

    async with anyio.create_task_group() as tg:
        for n, (key, group) in enumerate(jobs):
            tg.start_soon(one, _FETCH_JOB_IDS + n, key, group)
    return results


async def _tarball_sources(
    network: _Network, config: Config, entries: Mapping[str, LockEntry], paths: list[str]
) -> dict[str, tuple[str, Integrity]]:
    """Where each entry's tarball comes from and the hash it must have (rule 5).

    ``resolved`` names the URL; without it (npm's omit-lockfile-registry-resolved)
    the registry configured for the name serves ``name/-/name-version.tgz``.
    An entry without ``integrity`` takes the URL and hash of its version in
    that registry's packument, as npm does (one whose ``integrity`` is there
    but empty or malformed is refused: that is damage, not npm's output). What weir cannot install (a git
    dependency, a tarball URL off the registry with no hash) is refused here,
    before anything is downloaded, naming the package and what to do.
    """
    sources: dict[str, tuple[str, Integrity]] = {}
    from_packument: list[str] = []
    for path in paths:
        entry = entries[path]
        _refuse_uninstallable(path, entry, entries)
        version = entry.version or ""
        url = tarball_url(entry.resolved, entry.name, config) if entry.resolved else registry_tarball_url(
            config.registry_for(entry.name), entry.name, version
        )
        if "integrity" in entry.raw:  # present but empty or malformed is refused, never looked up
            sources[path] = (url, pick(entry.integrity, None, None, package=entry.name, version=version))
        elif entry.resolved is None or _on_registry(url, entry.name, config):
            from_packument.append(path)
        else:
            raise InputError(
                f"package-lock.json entry {path} ({entry.name}@{version}) records the tarball {entry.resolved} "
                "without an integrity, so weir cannot verify it",
                package=entry.name,
                spec=entry.resolved,
                hint=f"let npm record its integrity (delete {path} from package-lock.json and run `npm install`), "
                "or depend on a published version",
                code="ELOCKFILE",
            )
    if from_packument:
        packuments = await _packuments(network, sorted({entries[p].name for p in from_packument}))
        for path in from_packument:
            sources[path] = _from_packument(path, entries[path], packuments[entries[path].name])
    return sources


def _refuse_uninstallable(path: str, entry: LockEntry, entries: Mapping[str, LockEntry]) -> None:
    """A folder entry that is no link, or an entry with neither a version nor a tarball: say which and what to do."""
    from weir.core.tree.lockfile_legacy import is_tarball_path

    if entry.resolved and entry.resolved.startswith("file:") and not is_tarball_path(entry.resolved) and _in_project(entry.resolved):
        raise InputError(
            f"package-lock.json entry {path} ({entry.name}) points at the folder {entry.resolved} but is not "
            "a link; npm records a folder dependency as a link to it",
            package=entry.name,
            spec=entry.resolved,
            hint=f"delete {path} from package-lock.json and run `weir install` to record it again",
            code="ELOCKFILE",
        )
    if not entry.resolved and not entry.version:
        raise InputError(
            f"package-lock.json entry {path} has neither a version nor a resolved URL",
            package=entry.name,
            hint="delete that entry from package-lock.json and run `weir install` to resolve it again",
            code="ELOCKFILE",
        )


def _in_project(file_url: str) -> bool:
    """A ``file:`` path that stays in the project; any other is the fetcher's to refuse (its rule 4)."""
    target = posixpath.normpath(file_url[len("file:") :].replace("\\", "/"))
    return not target.startswith(("/", "..")) and ":" not in target


def _on_registry(url: str, name: str, config: Config) -> bool:
    return url.startswith(config.registry_for(name).rstrip("/") + "/")


def _from_packument(path: str, entry: LockEntry, packument: Packument) -> tuple[str, Integrity]:
    version = entry.version or ""
    manifest = packument.versions.get(version)
    if manifest is None:
        from weir.core.errors import ResolveError

        raise ResolveError(
            f"package-lock.json pins {entry.name}@{version} ({path}), which the registry does not have",
            package=entry.name,
            spec=version,
            hint="if it was unpublished, delete its entry from package-lock.json and run `weir install`",
            code="ETARGET",
        )
    url = manifest.dist.tarball if entry.resolved is None else entry.resolved
    return url, pick(None, manifest.dist.integrity, manifest.dist.shasum, package=entry.name, version=version)


async def _packuments(network: _Network, names: list[str], *, skip_failures: bool = False) -> dict[str, Packument]:
    """The packuments of ``names``, fetched together; the first failure is raised, or with
    ``skip_failures`` that name is left out (the caller says what it did without it)."""
    found: dict[str, Packument] = {}

    async def one(name: str) -> None:
        try:
            found[name] = await network.packument(name)
        except WeirError:
            if not skip_failures:
                raise

    async with anyio.create_task_group() as tg:
        for name in names:
            tg.start_soon(one, name)
    return found


async def _pack_git_entries(
    config: Config, project: Path | None, install_set: Mapping[str, LockEntry], paths: list[str]
) -> dict[str, tuple[Path, str]]:
    """resolved → (packed tarball, its sha512) for each git entry: the recorded commit, cloned,
    prepared if the script policy allows it, and packed into the cache (or found there), one
    at a time in a worker thread."""
    from weir.core.tree.lockfile_legacy import is_git

    wanted = sorted({e.resolved for p in paths if (e := install_set[p]).resolved and is_git(e.resolved)})
    if not wanted or project is None:
        return {}
    from weir.core.resolve.git import fetch_resolved
    from weir.core.resolve.resolver import git_prepare

    trusted = read_package_json(project / "package.json").trusted_dependencies
    out: dict[str, tuple[Path, str]] = {}
    for resolved in wanted:
        name = sorted({install_set[p].name for p in paths if install_set[p].resolved == resolved})[0]
        prepare = git_prepare(config, trusted, name)
        tarball = await anyio.to_thread.run_sync(fetch_resolved, resolved, config.cache, f"{name}@{resolved}", prepare)
        out[resolved] = (tarball, await anyio.to_thread.run_sync(_sha512_sri, tarball))
    return out



def _sha512_sri(path: Path) -> str:
    import base64
    import hashlib

    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


NPMJS = "https://registry.npmjs.org/"


def tarball_url(resolved: str, name: str, config: Config) -> str:
    """Where to download a locked tarball from (npm's `replace-registry-host=npmjs`).

    A lockfile written against the public registry names registry.npmjs.org
    in every `resolved`; with another registry configured (a mirror, a
    corporate proxy) npm fetches the same path from that registry instead,
    and so does weir. Other hosts are kept as written.
    """
    registry = config.registry_for(name)
    if resolved.startswith(NPMJS) and registry.rstrip("/") + "/" != NPMJS:
        return registry.rstrip("/") + "/" + resolved[len(NPMJS) :]
    return resolved


_FETCH_JOB_IDS = 1_000_000  # tarball job ids, apart from the resolver's manifest job ids
_PREFETCH_JOB_IDS = 2_000_000
_PACKUMENT_JOB_IDS = 3_000_000  # packuments the installer reads itself (entries without integrity, npm 6 lockfiles)


def _strongest(integrity: Integrity) -> str:
    """What makes two integrities the same tarball: their strongest digests (the packument adds
    a sha1 shasum the lockfile does not record; comparing whole strings never matched)."""
    return " ".join(str(h) for h in integrity.digests(integrity.algorithm))


class _Prefetch:
    """Tarball downloads started as the resolver pins versions (pipelining, as bun does).

    Only a hint: a pinned copy may be pruned later (then its download is
    cancelled with the group). A failure is kept, not raised here: the fetch
    stage re-raises it when it needs the same tarball under the same
    integrity, so a dead registry costs one bounded set of retries, not two.
    """

    def __init__(self, group: anyio.abc.TaskGroup, fetcher: TarballFetcher) -> None:
        self.group = group
        self.fetcher = fetcher
        self._pending: dict[str, tuple[str, anyio.Event, list[StoreEntry | WeirError]]] = {}
        self._next_id = _PREFETCH_JOB_IDS

    def pin(self, name: str, version: str, manifest: VersionManifest) -> None:
        url = manifest.dist.tarball
        if not url or url in self._pending:
            return
        try:
            integrity = pick(None, manifest.dist.integrity, manifest.dist.shasum, package=name, version=version)
        except WeirError:
            return  # the fetch stage reports it with the lockfile's context
        done = anyio.Event()
        box: list[StoreEntry | WeirError] = []
        self._pending[url] = (_strongest(integrity), done, box)
        self._next_id += 1
        self.group.start_soon(self._run, name, version, url, integrity, self._next_id, done, box)

    async def _run(
        self,
        name: str,
        version: str,
        url: str,
        integrity: Integrity,
        job_id: int,
        done: anyio.Event,
        box: list[StoreEntry | WeirError],
    ) -> None:
        try:
            self.fetcher.reporter.event(ev.JobQueued(job_id=job_id, kind="tarball", package=f"{name}@{version}", lane="prefetch"))
            box.append(await self.fetcher.fetch(name, version, url, integrity, job_id=job_id))
        except WeirError as error:
            box.append(error)
        finally:
            done.set()

    def started(self, url: str) -> bool:
        return url in self._pending

    async def wait(self, url: str, integrity: str) -> StoreEntry | None:
        """The prefetched entry for ``url`` if one was started against ``integrity``; its error if it failed."""
        pending = self._pending.get(url)
        if pending is None or pending[0] != integrity:
            return None
        await pending[1].wait()
        if not pending[2]:
            return None
        if isinstance(pending[2][0], WeirError):
            raise pending[2][0]
        return pending[2][0]


def _finish(
    reporter: ev.Reporter,
    started: float,
    lock: Lockfile,
    decisions: Mapping[str, Decision],
    mode: str | None,
    linked: int,
    removed: int,
    blocked: tuple[str, ...],
) -> InstallResult:
    elapsed = time.perf_counter() - started
    reporter.event(ev.RunFinished(ok=True, exit_code=0, elapsed=elapsed))
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
    for field_name in DEP_FIELDS:
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


async def _upgrade_v1(lock: Lockfile, raw_pkg: Mapping[str, Any], network: _Network, reporter: ev.Reporter) -> Lockfile:
    """An npm 6 lockfile filled in as npm 11 fills it in (rule 5): each entry's version document
    gives what v1 never recorded (dependencies by kind, bins, engines, install scripts, license),
    the lockfile keeps its resolved, integrity and flags. A version the registry cannot give is
    kept as v1 recorded it, with a warning, as npm warns. The root entry is package.json's."""
    from weir.core.tree.lock_entries import manifest_fields

    inflatable = [p for p, e in lock.packages.items() if _inflatable(p, e)]
    packuments = await _packuments(network, sorted({lock.packages[p].name for p in inflatable}), skip_failures=True)
    packages: dict[str, LockEntry] = {"": entry_from_json("", _root_entry(raw_pkg)), **lock.packages}
    for path in inflatable:
        entry = lock.packages[path]
        packument = packuments.get(entry.name)
        manifest = packument.versions.get(entry.version or "") if packument is not None else None
        if manifest is None:
            message = f"could not fetch the metadata of {entry.name}@{entry.version} ({path}); kept as npm 6 recorded it"
            reporter.event(ev.Warned(code="lockfile-v1-metadata", message=message, package=entry.name))
            continue
        raw = {k: v for k, v in entry.raw.items() if k in ("name", "version", "resolved", "integrity", "inBundle", "dev", "optional")}
        if "integrity" not in raw and manifest.dist.integrity:
            raw["integrity"] = manifest.dist.integrity
        raw.update(manifest_fields(manifest))
        packages[path] = entry_from_json(path, raw)
    return replace(lock, packages=packages)


def _inflatable(path: str, entry: LockEntry) -> bool:
    """What npm fills in from the registry: every installed package with a version, but links,
    project tarballs and git dependencies."""
    from weir.core.tree.lockfile_legacy import is_git

    return bool(path) and not entry.link and bool(entry.version) and not (entry.resolved or "").startswith("file:") and not (
        entry.resolved and is_git(entry.resolved)
    )


def _root_entry(raw_pkg: Mapping[str, Any]) -> dict[str, Any]:
    root: dict[str, Any] = {k: raw_pkg[k] for k in ("name", "version") if isinstance(raw_pkg.get(k), str)}
    for field_name in DEP_FIELDS:
        if raw_pkg.get(field_name):
            root[field_name] = dict(raw_pkg[field_name])
    return root


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


# -- package.json edits (weir install NAME, weir remove NAME) --------------------------


def _read_raw(path: Path) -> tuple[dict[str, Any], JsonStyle]:
    pkg = read_package_json(path)  # raises a located InputError on malformed JSON
    return dict(pkg.raw), JsonStyle.of(path.read_bytes().decode("utf-8-sig"))  # not read_text: it turns CRLF into LF


def _target_field(options: InstallOptions) -> str:
    if options.save_dev:
        return "devDependencies"
    if options.save_optional:
        return "optionalDependencies"
    return "dependencies"


def _edit_manifest(raw: dict[str, Any], options: InstallOptions, config: Config) -> dict[str, Any]:
    """package.json as it will be after `install NAME` / `remove NAME` (npm's moves between fields)."""
    from weir.core.npm.spec import parse_arg  # only when adding packages (it pulls in semver)

    if not options.add and not options.remove:
        return raw
    new = json.loads(json.dumps(raw))
    for name in options.remove:
        for f in DEP_FIELDS:
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


def _save_resolved_specs(raw: dict[str, Any], options: InstallOptions, config: Config, lock: Lockfile, location: str = "") -> dict[str, Any]:
    """Each added registry package saved as npm saves it (``saved_spec``): ``^version`` unless
    the range typed is narrower; exact with --save-exact or save-exact in .npmrc. The version is
    the one the package.json at ``location`` (the root, or a workspace) resolves to."""
    from weir.core.npm.spec import parse_arg  # only when adding packages (it pulls in semver)
    from weir.core.why import lookup

    if not options.add:
        return raw
    new = json.loads(json.dumps(raw))
    target = _target_field(options)
    prefix = "" if options.save_exact or config.save_exact else config.save_prefix
    for arg in options.add:
        spec = parse_arg(arg)
        if spec.name is None:  # a git spec added without a name is saved as _git_added saved it
            continue
        found = lookup(lock.packages, location, spec.name)
        entry = lock.packages.get(found) if found is not None else None
        if entry is None or entry.version is None:
            continue
        saved = saved_spec(spec, entry.version, prefix)
        if saved is not None:
            new[target][spec.name] = saved
    return new


def _with_root_deps(lock: Lockfile, raw: dict[str, Any], project: Path) -> Lockfile:
    """The root entry records package.json's dependency fields as saved; a project without a
    name is named after its folder in the lockfile's header, as npm names it."""
    if lock.name is None:
        lock = replace(lock, name=project.absolute().name)
    root = lock.packages.get("")
    if root is None:
        return lock
    new_root_raw = dict(root.raw)
    for f in DEP_FIELDS:
        if raw.get(f):
            new_root_raw[f] = dict(raw[f])
        else:
            new_root_raw.pop(f, None)
    packages = dict(lock.packages)
    packages[""] = replace(root, raw=new_root_raw)
    return replace(lock, packages=packages)


# -- weir update / weir dedupe ----------------------------------------------------------------


def _updating(options: InstallOptions) -> bool:
    return bool(options.update) or options.update_all or options.dedupe


def _update_names(options: InstallOptions, lock: Lockfile | None) -> frozenset[str]:
    """The names freed from their lockfile pins: those named, or for ``dedupe`` every name the
    lockfile holds in more than one copy (arborist's dedupe: an update of exactly those)."""
    if not options.dedupe or lock is None:
        return frozenset(options.update)
    seen: dict[str, int] = {}
    for path, entry in lock.packages.items():
        if path and "node_modules/" in path and not entry.link:
            name = entry.name or path.rpartition("node_modules/")[2]
            seen[name] = seen.get(name, 0) + 1
    return frozenset(name for name, copies in seen.items() if copies > 1) | frozenset(options.update)


def _save_updated_ranges(raw: dict[str, Any], options: InstallOptions, config: Config, lock: Lockfile) -> dict[str, Any]:
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


def _selected_workspaces(project: Path, root: PackageJson, options: InstallOptions) -> tuple[Workspace, ...] | None:
    """The workspaces the install is limited to; None when it acts on the whole project."""
    if not options.workspaces and not options.all_workspaces:
        return None
    return select_workspaces(project, workspace_folders(project, root.workspaces), options.workspaces, every=options.all_workspaces)


def _workspace_edits(selected: tuple[Workspace, ...], options: InstallOptions, config: Config) -> list[_WorkspaceEdit]:
    """``weir add/remove NAME -w ws`` edits each selected workspace's package.json, not the root's."""
    if not options.add and not options.remove:
        return []
    edits = []
    for ws in selected:
        path = options.project / ws.location / "package.json"
        old, style = _read_raw(path)
        edits.append(_WorkspaceEdit(ws, path, old, _edit_manifest(old, options, config), style))
    return edits


def _with_workspace_deps(lock: Lockfile, edits: list[_WorkspaceEdit]) -> Lockfile:
    """A workspace's entry records its package.json's dependency fields as saved."""
    if not edits:
        return lock
    packages = dict(lock.packages)
    for e in edits:
        entry = packages.get(e.workspace.location)
        if entry is None:
            continue
        # the resolver read the edited package.json: only the saved specs (`^1.2.3` for `latest`) differ
        raw = {k: dict(e.new[k]) if k in DEP_FIELDS and e.new.get(k) else v for k, v in entry.raw.items()}
        packages[e.workspace.location] = replace(entry, raw=raw)
    return replace(lock, packages=packages)


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
        if "/node_modules/" not in path:
            return False
        path = path.rpartition("/node_modules/")[0]
    return True


def _write_lockfile(
    project: Path, lock: Lockfile, previous: Lockfile | None, omit: frozenset[str] | None, style: JsonStyle
) -> None:
    """package-lock.json in the version npm 11 keeps: a v2 lockfile stays v2, v1 becomes v3;
    ``omit``: the entries written without ``resolved`` (omit-lockfile-registry-resolved);
    ``style``: package.json's indent and line break, which npm lays the lockfile out in."""
    version = 2 if previous is not None and previous.lockfile_version == 2 else 3
    write_lockfile(project, replace(lock, lockfile_version=version), omit_resolved=omit, style=style)


def _write_manifest(path: Path, old: dict[str, Any], new: dict[str, Any], style: JsonStyle) -> None:
    if new == old:
        return
    write_atomic(path, style.dumps(new).encode("utf-8"))
