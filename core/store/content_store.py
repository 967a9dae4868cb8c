"""The content store: each package extracted once, keyed by its tarball's integrity.

Layout under the cache directory::

    content/<alg>/<hex[:2]>/<hex[2:]>/package/        the extracted files (what the linker links)
    content/<alg>/<hex[:2]>/<hex[2:]>/manifest.json   the completion marker and file manifest
    tmp/                                              downloads and staging, same filesystem

Rules this module holds (DESIGN.md rules 4 and 5):

1. Nothing unverified is extracted. A download is hashed while it streams
   into a spool (memory up to ``SPOOL_MAX``, then a file under ``tmp/``); only
   after the digest matches is it extracted, into a fresh staging directory
   under ``tmp/``. Any failure removes the spool and the staging directory.
2. An entry appears by one ``rename`` of a staging directory that already
   holds ``package/`` and ``manifest.json``, so an entry is complete or absent.
   The manifest records name, version, integrity, and every file's path, size,
   executable bit and CRC-32, so linking never walks the tree.
3. An entry whose manifest is missing, unreadable, of another ``FORMAT`` or does not match the files
   on disk (a file missing, not regular, or of another size) is damaged: it
   is moved aside and rebuilt. This size check runs on every reuse; a deep
   check (CRC-32 of every file, and no extra files) runs on every reuse when
   the store is opened with ``deep=True`` (``weir ci`` does: a clean install
   must not inherit a damaged cache), and through ``verify_entry``.
4. Several weir processes may share one cache without locks. Each builds in
   its own staging directory; if the rename finds the entry already there
   and sound, the loser discards its copy and uses the winner's. Damaged
   entries are moved aside (renamed into ``tmp/``) before removal, so a
   rebuild never races a deletion. Within one process, concurrent
   ``ensure`` calls for the same key share one download.
5. Only the extracted tree is kept, not the tarball: ``weir ci --offline``
   needs the files and the manifest, and keeping both would double the
   cache. The integrity of a stored entry is the key it was verified under.
6. The tarball's ``package.json`` must name the expected package and version
   (versions compared after dropping a leading ``v`` or ``=``, as npm
   tolerates); anything else is an IntegrityError and nothing is kept.
7. Extraction (tar parsing, file creation, the manifest) runs in worker
   processes (``anyio.to_process``), not threads: it is Python-heavy, and in
   threads it held the GIL the downloads and the resolver loop need. On the
   large fixture this took a cold install from 10.8 s to 6.8 s and halved its
   kernel time (less lock contention). Workers ignore Ctrl-C; the installer
   decides. Errors cross the process boundary intact (``WeirError.__reduce__``).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import anyio
import orjson
from weir.core.errors import FilesystemError, IntegrityError
from weir.core.store.extract import LIMITS, ExtractResult, FileEntry, Limits
from weir.core.npm.integrity import Hash, Integrity

SPOOL_MAX = 8 << 20  # tarballs up to this size are kept in memory between download and extraction
MANIFEST = "manifest.json"
PACKAGE = "package"
# An entry of another format is rebuilt once from its tarball (rule 3).
# 2: per-file CRC-32 instead of sha1; 3: .gitignore stored as .npmignore, as npm extracts it.
FORMAT = 3

Sink = Any  # weir.core.registry.http.Sink: write(chunk) and abort()
Fetcher = Callable[[Callable[[], Sink]], Awaitable[int]]  # streams the tarball into fresh sinks


@dataclass(frozen=True, slots=True)
class StoreEntry:
    path: Path  # the package folder to link from
    name: str
    version: str
    integrity: str  # SRI of the hash this entry was verified under (its key)
    files: tuple[FileEntry, ...]
    bytes: int
    reused: bool  # found in the store, nothing downloaded
    tarball_bytes: int = 0
    download_s: float = 0.0
    extract_s: float = 0.0
    warnings: tuple[str, ...] = ()  # entries the extractor skipped (only when just extracted)

    @property
    def executables(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files if f.executable)


@dataclass(slots=True)
class Download:
    """A verified tarball in its spool, ready for extraction."""

    spool: IO[bytes]
    hash: Hash
    size: int
    elapsed: float


class _Spool:
    """The download sink: hashes every chunk as it is written (rule 1)."""

    def __init__(self, tmp: Path, integrity: Integrity) -> None:
        import tempfile  # here, not at the top: a warm install downloads nothing

        # Closed by abort() or by ContentStore.ensure once extracted.
        self.file: IO[bytes] = tempfile.SpooledTemporaryFile(SPOOL_MAX, dir=str(tmp), prefix="dl-")  # noqa: SIM115
        self.hasher = integrity.hasher()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)
        self.hasher.update(chunk)
        self.size += len(chunk)

    def abort(self) -> None:
        self.file.close()


class ContentStore:
    def __init__(self, cache: Path, *, limits: Limits = LIMITS, deep: bool = False) -> None:
        self.deep = deep  # rule 3's deep check on every reuse (`weir ci` asks for it)
        self.root = cache / "content"
        self.tmp = cache / "tmp"
        self.limits = limits
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.tmp.mkdir(parents=True, exist_ok=True)
        except OSError as e:  # read-only or unwritable cache: a user's problem to fix, not a crash
            raise FilesystemError(
                f"cannot write to the cache {cache}: {e.strerror or e}",
                hint="make the cache directory writable, or point --cache (npm's `cache`) somewhere writable",
                code=errno.errorcode.get(e.errno or 0, "EFS"),
            ) from e
        self._locks: dict[str, anyio.Lock] = {}
        self._workers_started = False

    # -- where entries live -----------------------------------------------------------

    def entry_dir(self, h: Hash) -> Path:
        return Path(f"{self.root}/{h.algorithm}/{h.hex[:2]}/{h.hex[2:]}")

    def candidates(self, integrity: Integrity) -> tuple[Hash, ...]:
        """The keys an entry for ``integrity`` may be stored under (any-match: one per digest)."""
        return integrity.digests(integrity.algorithm)

    # -- the whole path -----------------------------------------------------------------

    async def ensure(
        self,
        integrity: Integrity,
        name: str,
        version: str,
        fetcher: Fetcher,
        *,
        url: str = "",
        on_downloaded: Callable[[Download], None] | None = None,
    ) -> StoreEntry:
        """The stored entry for this tarball, downloading, verifying and extracting it if needed."""
        key = " ".join(str(h) for h in self.candidates(integrity))
        lock = self._locks.setdefault(key, anyio.Lock())
        try:
            async with lock:
                if self._may_hold(integrity):
                    found = await anyio.to_thread.run_sync(self.lookup, integrity, name, version)
                    if found is not None:
                        return found
                if self._workers_started:
                    download = await self.download(integrity, name, version, fetcher, url=url)
                else:
                    self._workers_started = True
                    download = await self._download_starting_workers(integrity, name, version, fetcher, url)
                try:
                    if on_downloaded is not None:
                        on_downloaded(download)
                    return await self._add_elsewhere(download, name, version)
                finally:
                    download.spool.close()
        finally:
            if lock.statistics().tasks_waiting == 0:
                self._locks.pop(key, None)

    async def _download_starting_workers(
        self, integrity: Integrity, name: str, version: str, fetcher: Fetcher, url: str
    ) -> Download:
        """``download``, while the extraction workers start (``_start_workers``)."""
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._start_workers)
                return await self.download(integrity, name, version, fetcher, url=url)
        except BaseExceptionGroup as group:  # the download's own error, not wrapped
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise

    async def _start_workers(self) -> None:
        """Start every extraction worker while the first tarball downloads.

        A worker is a fresh interpreter that imports anyio and this module before it can
        extract; started on demand, that start-up sat between the first finished download
        and the first extraction, and every extraction queued behind it.
        """
        import signal

        import anyio.to_process

        # A Ctrl-C that lands while a worker interpreter is still starting would kill it
        # before ``_worker_ready`` can ignore SIGINT (the parent would see a broken worker,
        # not an interruption). Blocked here, SIGINT is blocked in each child from birth
        # (the mask survives exec) and is delivered to the installer once the workers are up.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            async with anyio.create_task_group() as tg:
                for _ in range(int(anyio.to_process.current_default_process_limiter().total_tokens)):
                    tg.start_soon(anyio.to_process.run_sync, _worker_ready)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    async def _add_elsewhere(self, download: Download, name: str, version: str) -> StoreEntry:
        """Extract in a worker process: tar parsing and file creation are Python-heavy and
        would otherwise hold the GIL the resolver loop and the downloads need."""
        import anyio.to_process  # here, not at the top: a warm install extracts nothing

        download.spool.seek(0)
        data = download.spool.read()
        return await anyio.to_process.run_sync(
            _add_in_worker, str(self.root.parent), self.limits, self.deep, data, download.hash, download.size, download.elapsed, name, version
        )

    async def download(
        self, integrity: Integrity, name: str, version: str, fetcher: Fetcher, *, url: str = ""
    ) -> Download:
        """Stream the tarball into a spool, hashing as it comes; raise IntegrityError on mismatch."""
        spools: list[_Spool] = []

        def sink() -> _Spool:
            spools.append(_Spool(self.tmp, integrity))
            return spools[-1]

        started = time.perf_counter()
        try:
            await fetcher(sink)
            last = spools[-1]
            matched = integrity.verify(last.hasher.digests(), package=name, version=version, url=url)
        except BaseException:
            for s in spools:
                s.abort()
            raise
        for s in spools[:-1]:
            s.abort()
        last.file.seek(0)
        return Download(last.file, matched, last.size, time.perf_counter() - started)

    def _may_hold(self, integrity: Integrity) -> bool:
        """Whether any candidate entry has a manifest: one ``stat`` on the event loop, so a cold
        install does not pay a thread hop per package to learn what it already knows. An entry
        folder without a manifest is left to ``_publish``, which replaces it."""
        return any(os.path.exists(f"{self.entry_dir(h)}/{MANIFEST}") for h in self.candidates(integrity))

    # -- blocking parts (run in a worker thread) ---------------------------------------

    def lookup(self, integrity: Integrity, name: str, version: str) -> StoreEntry | None:
        """A sound stored entry, or None; a damaged one is moved aside (rule 3)."""
        for h in self.candidates(integrity):
            directory = self.entry_dir(h)
            entry = self._read(directory)
            if entry is None:
                self._discard(directory)
                continue
            _check_identity(entry.name, entry.version, name, version, where=f"cached entry {entry.path}")
            return entry
        return None

    def add(self, download: Download, name: str, version: str) -> StoreEntry:
        """Extract a verified download into staging, check it, and rename it into place."""
        from weir.core.store.extract import extract

        started = time.perf_counter()
        staging = self.tmp / f"stage-{_token()}"
        staging.mkdir()
        try:
            result = extract(download.spool, staging / PACKAGE, limits=self.limits)
            _check_package_json(staging / PACKAGE, name, version)
            _write_manifest(staging, name, version, str(download.hash), result)
            target = self.entry_dir(download.hash)
            built = StoreEntry(
                path=target / PACKAGE,
                name=name,
                version=version,
                integrity=str(download.hash),
                files=result.files,
                bytes=result.bytes,
                reused=False,
            )
            entry = self._publish(staging, target, built)
        except IntegrityError as e:
            if e.package is not None:
                raise
            raise IntegrityError(
                f"{name}@{version}: {e.message}", package=name, spec=version, hint=e.hint, code=e.code
            ) from e
        except FilesystemError as e:  # name the package: "disk full" alone does not say what was being stored
            raise FilesystemError(
                f"cannot store {name}@{version} in the cache: {e.message}", package=name, spec=version, hint=e.hint
            ) from e
        except OSError as e:
            raise FilesystemError(
                f"cannot store {name}@{version} in the cache at {self.root.parent}: {e.strerror or e}",
                package=name,
                spec=version,
                hint="check free space and permissions of the cache directory",
            ) from e
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return replace(
            entry,
            reused=False,
            tarball_bytes=download.size,
            download_s=download.elapsed,
            extract_s=time.perf_counter() - started,
            warnings=result.warnings,
        )

    def _publish(self, staging: Path, target: Path, built: StoreEntry) -> StoreEntry:
        """Rename staging into place; if another process got there first with a sound entry, use theirs.

        Our own entry is returned as built: it was just extracted and checked, so
        reading its manifest back and statting every file again would only cost time.
        """
        target.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                os.rename(staging, target)
            except OSError:
                if not target.exists():
                    raise
                theirs = self._read(target)
                if theirs is not None:
                    return theirs
                self._discard(target)
                continue
            return built
        raise IntegrityError(
            f"cache entry {target} keeps being damaged while weir writes it",
            hint="another program is changing the weir cache; stop it, or remove the cache directory",
        )

    def _read(self, directory: Path) -> StoreEntry | None:
        """The entry at ``directory`` if its manifest is sound and the sizes match, else None."""
        try:
            raw = orjson.loads(_read_small(f"{directory}/{MANIFEST}"))
            if raw.get("weir") != FORMAT:
                return None
            files = tuple(map(FileEntry._make, raw["files"]))
            entry = StoreEntry(
                path=Path(f"{directory}/{PACKAGE}"),
                name=str(raw["name"]),
                version=str(raw["version"]),
                integrity=str(raw["integrity"]),
                files=files,
                bytes=int(raw["bytes"]),
                reused=True,
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        return entry if not verify_entry(entry, deep=self.deep) else None

    def _discard(self, directory: Path) -> None:
        """Move a damaged entry aside, then delete it (rule 4); absent already is fine."""
        trash = self.tmp / f"trash-{_token()}"
        try:
            os.rename(directory, trash)
        except FileNotFoundError:
            return
        shutil.rmtree(trash, ignore_errors=True)

    def entries(self) -> Iterator[tuple[Path, StoreEntry | None]]:
        """Every entry directory with its entry (None if damaged): for `weir cache verify`."""
        for manifest in sorted(self.root.glob(f"*/*/*/{MANIFEST}")):
            yield manifest.parent, self._read(manifest.parent)


def _add_in_worker(
    cache: str, limits: Limits, deep: bool, data: bytes, h: Hash, size: int, elapsed: float, name: str, version: str
) -> StoreEntry:
    """``ContentStore.add`` in a worker process (see ``_add_elsewhere``).

    A worker ignores Ctrl-C: the terminal sends it to the whole process group,
    and it is the installer's to act on (it waits for the entry being written,
    then stops), not the worker's to die of mid-file.
    """
    import io
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    store = ContentStore(Path(cache), limits=limits, deep=deep)
    return store.add(Download(spool=io.BytesIO(data), hash=h, size=size, elapsed=elapsed), name, version)


def _worker_ready() -> None:
    """Runs first in each extraction worker: unpickling it imported this module; this imports
    the extractor, so the first real extraction starts at once."""
    import signal

    import weir.core.store.extract  # noqa: F401

    signal.signal(signal.SIGINT, signal.SIG_IGN)


async def stop_workers() -> None:
    """End this event loop's extraction workers, each with one SIGKILL, and reap them here.

    Left to anyio, its shutdown killed every worker twice when the loop ended:
    once from the root task's done callback and again from its pool shutdown
    task, whose ``returncode is None`` check ran before asyncio's watcher
    thread had reaped the first kill. The second ``Popen.kill`` polls the
    child first, so it reaped the worker itself, and the watcher thread,
    finding no child, printed "Unknown child process pid N, will report
    returncode 255" on stderr (3 installs in 20). Here every worker is idle
    (each extraction is shielded and done by now), so it is alive and blocked
    on its stdin: one kill, then a wait the watcher answers, then nothing is
    left for anyio to kill. anyio keeps its pool in module variables with no
    public way to end it; if a later anyio moves them, its own shutdown runs
    as before.
    """
    import anyio.to_process

    workers_var = getattr(anyio.to_process, "_process_pool_workers", None)
    idle_var = getattr(anyio.to_process, "_process_pool_idle_workers", None)
    try:
        workers, idle = workers_var.get(), idle_var.get()  # type: ignore[union-attr]
    except (LookupError, AttributeError):
        return  # no worker was started in this event loop
    stopping = [process for process in workers if process.returncode is None]
    workers.clear()
    idle.clear()
    with anyio.CancelScope(shield=True):
        for process in stopping:
            process.kill()
        for process in stopping:
            await process.aclose()


def verify_entry(entry: StoreEntry, *, deep: bool = False) -> tuple[str, ...]:
    """Problems with a stored entry: missing, non-regular or resized files; with ``deep``,
    also files whose CRC-32 changed and files the manifest does not list."""
    problems: list[str] = []
    root = f"{entry.path}/"
    for f in entry.files:
        full = root + f.path
        try:
            st = os.lstat(full)
        except (OSError, TypeError, ValueError):
            problems.append(f"{f.path}: missing")
            continue
        if not stat.S_ISREG(st.st_mode):
            problems.append(f"{f.path}: not a regular file")
        elif st.st_size != f.size:
            problems.append(f"{f.path}: size {st.st_size}, expected {f.size}")
        elif deep and _crc32(full) != f.crc32:
            problems.append(f"{f.path}: content changed")
    if deep:
        listed = {f.path for f in entry.files}
        base = str(entry.path)
        for dirpath, _dirs, names in os.walk(base):
            for n in names:
                rel = os.path.relpath(os.path.join(dirpath, n), base).replace(os.sep, "/")
                if rel not in listed:
                    problems.append(f"{rel}: not in the manifest")
    return tuple(problems)


def _token() -> str:
    return os.urandom(16).hex()


def _read_small(path: str) -> bytes:
    """A whole small file in as few system calls as ``open`` allows (no buffering layer)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _crc32(path: str) -> int:
    from isal import isal_zlib  # only the deep check reads files back

    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            crc = isal_zlib.crc32(chunk, crc)
    return crc


def _clean_version(v: str) -> str:
    return v.strip().lstrip("=v").strip()


def _check_identity(got_name: str, got_version: str, name: str, version: str, *, where: str) -> None:
    if got_name != name or _clean_version(got_version) != _clean_version(version):
        raise IntegrityError(
            f"{where} is {got_name}@{got_version}, expected {name}@{version}",
            package=name,
            spec=version,
            hint="the registry metadata points at another package's tarball; report it to the registry",
        )


def _check_package_json(package: Path, name: str, version: str) -> None:
    try:
        data = orjson.loads((package / "package.json").read_bytes())
    except (OSError, ValueError) as e:
        raise IntegrityError(
            f"the tarball of {name}@{version} has no readable package.json ({e})",
            package=name,
            spec=version,
            hint="the published tarball is broken; report it to the package's maintainers",
        ) from None
    if not isinstance(data, dict):
        data = {}
    _check_identity(
        str(data.get("name")), str(data.get("version")), name, version, where=f"the tarball of {name}@{version}"
    )


def _write_manifest(staging: Path, name: str, version: str, integrity: str, result: ExtractResult) -> None:
    body = {
        "weir": FORMAT,
        "name": name,
        "version": version,
        "integrity": integrity,
        "bytes": result.bytes,
        "files": [[f.path, f.size, f.executable, f.crc32] for f in result.files],
    }
    with open(staging / MANIFEST, "xb") as out:
        out.write(orjson.dumps(body))
