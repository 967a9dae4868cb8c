"""The fetch stage of an install: every tarball it needs, verified and extracted into the content store.

``weir.core.install`` orders the stages; this module is the fetch stage's
part of it, over the run's ``Fetching`` (registry, tarball fetcher, job ids).

Rules this module holds:

1. Every job this stage starts (a tarball, a packument the installer reads
   itself) takes its id from the run's one ``JobIds``, as the resolver's
   manifest jobs do: two jobs of a run never share an id, however many times
   the stage runs (a bundler read during resolution, then the whole tree).
2. An entry without ``resolved`` is fetched from the registry configured for
   its name; one without ``integrity`` takes both from that registry's
   packument. An npm 6 (v1) lockfile is filled in from each version's
   manifest first, as npm does.
3. Two paths with the same tarball share one fetch; a download the resolver
   started when it pinned the version (``Prefetch``) is awaited instead of
   started again, provided it was checked against the same integrity.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from weir.core import events as ev
from weir.core.config import Config
from weir.core.errors import InputError, WeirError
from weir.core.npm.integrity import Integrity, pick
from weir.core.npm.fields import DEPENDENCY_FIELDS
from weir.core.npm.package_json import read_package_json
from weir.core.registry.connect import OnFirstJob
from weir.core.store.content_store import StoreEntry
from weir.core.store.fetch import TarballFetcher, Wanted, registry_tarball_url
from weir.core.tree.lockfile import LockEntry, Lockfile, entry_from_json

if TYPE_CHECKING:
    from weir.core.npm.packument import Packument, VersionManifest

__all__ = ["NPMJS", "Fetching", "Prefetch", "bundlers_to_fetch", "bundles_in_the_way", "fetch_all",
           "tarball_url", "upgrade_v1"]

@dataclass(frozen=True, slots=True)
class Fetching:
    """What the fetch stage of one run works with; built once by the install and never changed
    (``prefetch`` is set, by ``replace``, when the resolver may start downloads)."""

    config: Config
    reporter: ev.Reporter
    registry: OnFirstJob
    fetcher: TarballFetcher
    job_ids: ev.JobIds
    prefetch: Prefetch | None = None

    async def packument(self, name: str) -> Packument:
        """The packument of ``name``, for what the installer itself reads (not the resolver's jobs)."""
        from weir.core.npm.packument import Packument
        from weir.core.registry.registry import Full

        job_id = self.job_ids.next()
        self.reporter.event(ev.JobQueued(job_id=job_id, kind="manifest", package=name, lane="demand"))
        manifest = (await self.registry.execute(Full(name), job_id=job_id)).manifest
        assert isinstance(manifest, Packument)  # a Full job answers a Packument
        return manifest


async def bundles_in_the_way(fetching: Fetching, resolved: Lockfile, previous: Lockfile | None) -> Lockfile | None:
    """The lockfile to resolve again from when a bundler ships a package where the resolver
    placed another (``weir.core.tree.bundled`` rule 7); None, fetching nothing, without new bundlers."""
    from weir.core.tree import bundled

    paths = bundlers_to_fetch(resolved, previous)
    if not paths:
        return None
    return bundled.bundles_in_the_way(resolved, await fetch_all(fetching, resolved.packages, paths))


def bundlers_to_fetch(lock: Lockfile, previous: Lockfile | None) -> list[str]:
    """The bundlers whose tarballs say what they ship (``weir.core.tree.bundled``): those with a
    ``resolved`` (npm leaves one without it as it is)."""
    from weir.core.tree.bundled import bundlers_to_read

    return [p for p in bundlers_to_read(lock, previous) if lock.packages[p].resolved]


async def fetch_all(fetching: Fetching, install_set: Mapping[str, LockEntry], paths: list[str]) -> dict[str, StoreEntry]:
    """Every tarball verified and extracted into the content store, keyed by install path.

    Two paths with the same tarball share one fetch; a download the resolver
    already started (pipelined) is awaited instead of started again, provided
    it was checked against the same integrity the lockfile records.
    """
    fetcher, prefetch, reporter = fetching.fetcher, fetching.prefetch, fetching.reporter
    packed = await _pack_git_entries(fetching.config, fetcher.project, install_set, paths)
    sources = await _tarball_sources(fetching, install_set, [p for p in paths if install_set[p].resolved not in packed])
    by_key: dict[tuple[str, str], list[str]] = {}
    for path in paths:
        resolved = install_set[path].resolved
        if resolved in packed:  # a git commit, packed from its clone
            by_key.setdefault((resolved, packed[resolved][1]), []).append(path)
            continue
        url, integrity = sources[path]
        by_key.setdefault((url, _strongest(integrity)), []).append(path)
    results: dict[str, StoreEntry] = {}
    jobs = [(fetching.job_ids.next(), key, group) for key, group in sorted(by_key.items())]
    wanted: list[Wanted] = []
    for job_id, key, group in jobs:
        entry = install_set[group[0]]
        if key[0] in packed:  # a git commit: the packed tarball is read in ``one``
            continue
        if prefetch is None or not prefetch.started(key[0]):
            wanted.append((job_id, entry.name, entry.version or "", key[0], sources[group[0]][1]))
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
        for job_id, key, group in jobs:
            tg.start_soon(one, job_id, key, group)
    return results


async def _tarball_sources(
    fetching: Fetching, entries: Mapping[str, LockEntry], paths: list[str]
) -> dict[str, tuple[str, Integrity]]:
    """Where each entry's tarball comes from and the hash it must have (rule 2).

    ``resolved`` names the URL; without it (npm's omit-lockfile-registry-resolved)
    the registry configured for the name serves ``name/-/name-version.tgz``.
    An entry without ``integrity`` takes the URL and hash of its version in
    that registry's packument, as npm does (one whose ``integrity`` is there
    but empty or malformed is refused: that is damage, not npm's output). What weir cannot install (a git
    dependency, a tarball URL off the registry with no hash) is refused here,
    before anything is downloaded, naming the package and what to do.
    """
    config = fetching.config
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
        packuments = await _packuments(fetching, sorted({entries[p].name for p in from_packument}))
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


async def _packuments(fetching: Fetching, names: list[str], *, skip_failures: bool = False) -> dict[str, Packument]:
    """The packuments of ``names``, fetched together; the first failure is raised, or with
    ``skip_failures`` that name is left out (the caller says what it did without it)."""
    found: dict[str, Packument] = {}

    async def one(name: str) -> None:
        try:
            found[name] = await fetching.packument(name)
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


def _strongest(integrity: Integrity) -> str:
    """What makes two integrities the same tarball: their strongest digests (the packument adds
    a sha1 shasum the lockfile does not record; comparing whole strings never matched)."""
    return " ".join(str(h) for h in integrity.digests(integrity.algorithm))


class Prefetch:
    """Tarball downloads started as the resolver pins versions (pipelining, as bun does).

    Only a hint: a pinned copy may be pruned later (then its download is
    cancelled with the group). A failure is kept, not raised here: the fetch
    stage re-raises it when it needs the same tarball under the same
    integrity, so a dead registry costs one bounded set of retries, not two.
    """

    def __init__(self, group: anyio.abc.TaskGroup, fetcher: TarballFetcher, job_ids: ev.JobIds) -> None:
        self.group = group
        self.fetcher = fetcher
        self.job_ids = job_ids
        self._pending: dict[str, tuple[str, anyio.Event, list[StoreEntry | WeirError]]] = {}

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
        self.group.start_soon(self._run, name, version, url, integrity, self.job_ids.next(), done, box)

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


async def upgrade_v1(fetching: Fetching, lock: Lockfile, raw_pkg: Mapping[str, Any]) -> Lockfile:
    """An npm 6 lockfile filled in as npm 11 fills it in (rule 2): each entry's version document
    gives what v1 never recorded (dependencies by kind, bins, engines, install scripts, license),
    the lockfile keeps its resolved, integrity and flags. A version the registry cannot give is
    kept as v1 recorded it, with a warning, as npm warns. The root entry is package.json's."""
    from weir.core.tree.lock_entries import manifest_fields

    inflatable = [p for p, e in lock.packages.items() if _inflatable(p, e)]
    packuments = await _packuments(fetching, sorted({lock.packages[p].name for p in inflatable}), skip_failures=True)
    packages: dict[str, LockEntry] = {"": entry_from_json("", _root_entry(raw_pkg)), **lock.packages}
    for path in inflatable:
        entry = lock.packages[path]
        packument = packuments.get(entry.name)
        manifest = packument.versions.get(entry.version or "") if packument is not None else None
        if manifest is None:
            message = f"could not fetch the metadata of {entry.name}@{entry.version} ({path}); kept as npm 6 recorded it"
            fetching.reporter.event(ev.Warned(code="lockfile-v1-metadata", message=message, package=entry.name))
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
    for field_name in DEPENDENCY_FIELDS:
        if raw_pkg.get(field_name):
            root[field_name] = dict(raw_pkg[field_name])
    return root

