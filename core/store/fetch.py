"""The tarball fetcher: pinned version in, verified and extracted store entry out.

Rules this module holds:

1. The installer calls ``fetch`` as soon as a version is pinned, so fetches
   overlap resolution. At most ``concurrency`` downloads run at once; a
   downloaded tarball then waits for an extraction worker (one per CPU)
   without holding a download slot, and at most ``PENDING_PER_SOCKET *
   concurrency`` fetches are under way in all, which bounds the verified
   tarballs held in memory. Holding the download slot through extraction, as
   weir first did, let two extraction workers pace the downloads: on the
   medium fixture only 27 of 207 downloads had started after one second.
2. Download, then extract. The body is hashed while it streams into memory
   (or a spool file when large); extraction starts only after the digest
   matched, in a worker process, so the resolver loop keeps running. Streaming
   extraction (untar while the body arrives) was measured in
   bench/extract_micro.py: for typical npm tarballs (< 100 KB, a few ms to
   extract) it would save almost nothing, and it would extract bytes not yet
   verified, which DESIGN.md rule 5 forbids.
3. Events, all carrying the caller's ``job_id``: JobStarted/JobFinished with
   kind ``tarball`` around the download (cache_status ``hit`` when the store
   already had the entry, ``miss`` otherwise), TarballFetched, then for a
   fresh entry JobStarted/JobFinished with kind ``extract``, Extracted, and
   one Warned (code ``tarball-entry-skipped``) per entry the extractor
   dropped. A failure ends the running job with ``ok=False`` and re-raises.
4. Tarballs come over http(s), or from the project's own disk. A
   ``resolved`` of ``file:<path>`` (npm's record of a ``file:`` tarball
   dependency) is read from the project folder given to the fetcher, only
   inside it (``local_tarball.local_tarball_path``), and goes through the
   same spool, hasher, integrity check and extraction as a download; a store
   entry under the locked integrity is reused without reading the file, as
   npm reuses its cache. Any other scheme (``ftp:``, ``javascript:``), and
   ``file:`` for a fetcher without a project, is refused before the store is
   consulted, so a lockfile cannot point weir at a file elsewhere even when
   the store already holds the bytes. A git dependency's ``resolved``
   (``git+…#<sha>``) is not fetched here: the installer hands over the
   tarball ``weir.core.resolve.git`` packed from that commit, with its digest.
"""

from __future__ import annotations

import errno
import gc
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from weir.core import events as ev
from weir.core.store.content_store import ContentStore, Download, StoreEntry
from weir.core.errors import InputError, IntegrityError, WeirError
from weir.core.npm.integrity import MISMATCH_HINT, Integrity

if TYPE_CHECKING:
    from weir.core.registry.transport import Sink, Transport


Wanted = tuple[int, str, str, str, Integrity]  # job id, name, version, tarball URL, integrity
PENDING_PER_SOCKET = 4
# Store lookups of a warm install, in parallel (reuse_many): with the large fixture's
# manifests out of the page cache their lookups took 0.88 s in one thread, 0.40 s in four
# (0.55 s in two, 0.50 s in eight); warm, 0.50 s and 0.43 s. Pages evicted by posix_fadvise.
LOOKUP_THREADS = 4
_READ_CHUNK = 1 << 16
_HTTP = ("https://", "http://")


class TarballFetcher:
    def __init__(
        self,
        http: Transport,
        store: ContentStore,
        reporter: ev.Reporter,
        *,
        concurrency: int = 16,
        project: Path | None = None,
    ) -> None:
        self.http = http
        self.store = store
        self.reporter = reporter
        self.project = project  # where ``file:`` tarballs are read from; None refuses them (rule 4)
        self._downloads = anyio.CapacityLimiter(concurrency)
        self._under_way = anyio.CapacityLimiter(PENDING_PER_SOCKET * concurrency)

    async def reuse_many(self, wanted: Sequence[Wanted]) -> dict[int, StoreEntry]:
        """The entries the store already holds, looked up in a few worker threads, keyed by job id.

        A warm install's whole fetch stage: ``LOOKUP_THREADS`` thread hops
        instead of one per package. The lookups wait on the disk when the
        page cache is cold (a manifest read and a stat per file); one thread
        waited for each in turn, several keep the disk busy. What is missing
        (or not an http(s) URL) is left for ``fetch``; a ``file:`` tarball
        outside the project is refused here already (rule 4).
        """
        local = {url for _job_id, name, version, url, _integrity in wanted if self._local_path(name, version, url) is not None}

        def look(part: Sequence[Wanted]) -> list[tuple[StoreEntry | None, float]]:
            found: list[tuple[StoreEntry | None, float]] = []
            for _job_id, name, version, url, integrity in part:
                started = time.perf_counter()
                reusable = url.startswith(_HTTP) or url in local
                entry = self.store.lookup(integrity, name, version) if reusable else None
                found.append((entry, time.perf_counter() - started))
            return found

        results: list[list[tuple[StoreEntry | None, float]]] = [[] for _ in range(LOOKUP_THREADS)]
        failures: list[Exception | None] = [None] * LOOKUP_THREADS
        size = -(-len(wanted) // LOOKUP_THREADS)

        async def look_part(index: int) -> None:
            try:
                results[index] = await anyio.to_thread.run_sync(look, wanted[index * size : (index + 1) * size])
            except Exception as exc:  # raised below as itself, not inside a task group's ExceptionGroup
                failures[index] = exc

        # Every manifest row becomes an object (46,000 for the large fixture) and none is
        # garbage, so the cyclic collector would only rescan the heap: paused, the lookups
        # of the large fixture take 195 ms of CPU instead of 280.
        collecting = gc.isenabled()
        gc.disable()
        try:
            async with anyio.create_task_group() as group:
                for index in range(LOOKUP_THREADS if wanted else 0):
                    group.start_soon(look_part, index)
        finally:
            if collecting:
                gc.enable()
        first_failure = next((exc for exc in failures if exc is not None), None)
        if first_failure is not None:
            raise first_failure

        report = self.reporter.event
        reused: dict[int, StoreEntry] = {}
        looked = (row for part in results for row in part)
        for (job_id, name, version, _url, _integrity), (entry, elapsed) in zip(wanted, looked):
            if entry is None:
                continue
            package = f"{name}@{version}"
            report(ev.JobStarted(job_id=job_id, kind="tarball", package=package))
            report(ev.TarballFetched(package=name, version=version, bytes=0, elapsed=elapsed, from_cache=True))
            report(ev.JobFinished(job_id=job_id, kind="tarball", package=package, ok=True, elapsed=elapsed, cache_status="hit"))
            reused[job_id] = entry
        return reused

    async def fetch(
        self, name: str, version: str, resolved_url: str, integrity: Integrity, *, job_id: int, packed: Path | None = None
    ) -> StoreEntry:
        """The store entry for ``name@version``, downloading and extracting it if the store lacks it.

        ``packed``: the tarball weir packed from a git dependency's commit (rule 4), read in place of ``resolved_url``.
        """
        package = f"{name}@{version}"
        local = packed or self._local_path(name, version, resolved_url)
        if local is None and not resolved_url.startswith(_HTTP):
            raise InputError(
                f"{package} resolves to {resolved_url!r}, which is neither an http(s) URL nor a tarball in the project; "
                "weir fetches tarballs only from registries and the project folder",
                package=name,
                spec=version,
                hint="restore package-lock.json from a trusted commit, or delete it and run `weir install`",
                code="ELOCKFILE",
            )
        report = self.reporter.event
        kind: ev.JobKind = "tarball"
        began = started = time.perf_counter()
        announced = False

        def announce() -> None:
            """The tarball job starts when its download does (or, for a hit, when it is found)."""
            nonlocal announced, started
            if not announced:
                announced, started = True, time.perf_counter()
                report(ev.JobStarted(job_id=job_id, kind="tarball", package=package))

        async with self._under_way:

            async def download(sink_factory: Callable[[], Sink]) -> int:
                if local is not None:
                    announce()
                    return await anyio.to_thread.run_sync(_read_local, local, sink_factory(), name, version)
                async with self._downloads:
                    announce()
                    return await self.http.download(resolved_url, job_id=job_id, sink_factory=sink_factory)

            def downloaded(d: Download) -> None:
                nonlocal kind, started
                report(ev.TarballFetched(package=name, version=version, bytes=d.size, elapsed=d.elapsed, from_cache=False))
                report(
                    ev.JobFinished(
                        job_id=job_id,
                        kind="tarball",
                        package=package,
                        ok=True,
                        elapsed=time.perf_counter() - started,
                        cache_status="miss",
                        bytes=d.size,
                    )
                )
                kind, started = "extract", time.perf_counter()
                report(ev.JobStarted(job_id=job_id, kind="extract", package=package))

            try:
                entry = await self.store.ensure(
                    integrity, name, version, download, url=str(local or resolved_url), on_downloaded=downloaded
                )
            except (WeirError, OSError) as e:
                if local is not None and isinstance(e, IntegrityError) and e.hint == MISMATCH_HINT:  # the digest check
                    e.hint = (
                        f"{local} is not the tarball package-lock.json was written for: restore it, or, if it "
                        f"changed on purpose, delete {name}'s entry from package-lock.json and run `weir install`"
                    )
                if isinstance(e, WeirError) and e.package is None:  # e.g. a refused connection: say whose tarball
                    e.package, e.spec = name, version
                announce()
                elapsed = time.perf_counter() - started
                report(ev.JobFinished(job_id=job_id, kind=kind, package=package, ok=False, elapsed=elapsed, error=str(e)))
                raise
        if entry.reused:
            announce()
            elapsed = time.perf_counter() - began
            report(ev.TarballFetched(package=name, version=version, bytes=0, elapsed=elapsed, from_cache=True))
            report(
                ev.JobFinished(
                    job_id=job_id, kind="tarball", package=package, ok=True, elapsed=elapsed, cache_status="hit"
                )
            )
            return entry
        elapsed = time.perf_counter() - started
        for warning in entry.warnings:
            report(ev.Warned(code="tarball-entry-skipped", message=warning, package=package))
        report(
            ev.Extracted(
                package=name, version=version, files=len(entry.files), bytes=entry.bytes, elapsed=entry.extract_s
            )
        )
        report(
            ev.JobFinished(job_id=job_id, kind="extract", package=package, ok=True, elapsed=elapsed, bytes=entry.bytes)
        )
        return entry

    def _local_path(self, name: str, version: str, url: str) -> Path | None:
        """The project file a ``file:`` URL names (refused outside the project), or None for other URLs."""
        if self.project is None or not url.startswith("file:"):
            return None
        from weir.core.registry.local_tarball import local_tarball_path  # only file: entries need it (and its tarfile, msgspec)

        return local_tarball_path(self.project, url, package=name, version=version)


def registry_tarball_url(registry: str, name: str, version: str) -> str:
    """Where a registry serves ``name@version``'s tarball: ``<registry>/@s/x/-/x-1.0.0.tgz``,
    the layout of the npm registry and of every registry that mirrors it (npm's
    omit-lockfile-registry-resolved relies on it: the lockfile records no URL)."""
    return f"{registry.rstrip('/')}/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"


def _read_local(path: Path, sink: Sink, name: str, version: str) -> int:
    """Stream a project tarball into ``sink`` (which hashes it), as a download would."""
    size = 0
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_READ_CHUNK):
                sink.write(chunk)
                size += len(chunk)
    except OSError as e:
        missing = e.errno == errno.ENOENT
        raise InputError(
            f"cannot read the tarball of {name}@{version} at {path}: {e.strerror or e}",
            package=name,
            spec=version,
            hint="put the tarball back where package.json's file: spec points"
            if missing
            else "make the tarball a readable file",
            code=errno.errorcode.get(e.errno or 0, "EIO"),
        ) from None
    return size
