"""The registry: a stateless job → result function over HTTP and the ManifestStore.

Rules this module holds (DESIGN.md rule 1):

1. ``Registry.execute(job)`` keeps nothing between calls: no in-memory cache,
   no in-flight gate, no dedupe set. The resolver loop owns all of that and
   hands in the job id; it also emits JobQueued/JobStarted. This module emits
   only JobFinished.
2. Freshness as npm: a stored copy younger than its max-age (the response's
   Cache-Control max-age, else ``config.manifest_max_age``) is a ``hit`` with
   no request. Older, it is revalidated with its ETag / Last-Modified: 304 is
   ``revalidated`` (the body comes from the store), 200 is ``updated``. No
   usable copy is a ``miss``. ``prefer_offline`` uses any stored copy (past
   its max-age that is ``stale``, npm's word); ``offline`` never touches the
   network; ``prefer_online`` always revalidates.
3. Validators are sent only beside a stored body that decodes, so a 304 always
   has a body to stand for. A 304 to an unconditional request is a bad answer:
   the document is fetched once more, and never becomes an error by itself.
4. A document that is not JSON is retried when it claims to be JSON (a
   truncated body), and is an error naming URL and status otherwise (an HTML
   page from a proxy or captive portal).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from weir.core import events as ev
from weir.core.errors import NetworkError, ResolveError, WeirError
from weir.core.registry.manifest_store import ManifestStore, StoredManifest
from weir.core.npm.names import escape_for_url
from weir.core.npm.packument import (
    Packument,
    PackumentError,
    VersionManifest,
    decode_packument,
    decode_version,
)

if TYPE_CHECKING:
    from weir.core.config import Config
    from weir.core.registry.transport import Response, Transport

__all__ = ["ABBREVIATED", "Full", "ManifestDone", "ManifestJob", "Registry", "VersionDoc", "max_age"]

ABBREVIATED = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
_MAX_AGE = re.compile(r'(?:^|,)\s*max-age\s*=\s*"?(\d+)', re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Full:
    """The packument of ``name`` (abbreviated form)."""

    name: str


@dataclass(frozen=True, slots=True)
class VersionDoc:
    """One version document, ``GET /<name>/<version>``."""

    name: str
    version: str


ManifestJob = Full | VersionDoc


@dataclass(frozen=True, slots=True)
class ManifestDone:
    job: ManifestJob
    manifest: Packument | VersionManifest
    cache_status: ev.CacheStatus
    elapsed: float  # seconds
    retries: int
    bytes: int  # received over the network (0 for a hit)


def max_age(cache_control: str | None) -> float | None:
    """Seconds a Cache-Control value says the document stays fresh (``max-age=300``, also quoted);
    None without one. The registry's freshness rule 2 and ``weir doctor`` read it alike."""
    match = _MAX_AGE.search(cache_control or "")
    return float(match.group(1)) if match else None


def _label(job: ManifestJob) -> str:
    return job.name if isinstance(job, Full) else f"{job.name}@{job.version}"


class Registry:
    def __init__(
        self,
        http: Transport,
        store: ManifestStore,
        config: Config,
        reporter: ev.Reporter,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.http = http
        self.store = store
        self.config = config
        self.reporter = reporter
        self.clock = clock

    async def execute(self, job: ManifestJob, *, job_id: int) -> ManifestDone:
        started = time.perf_counter()
        try:
            done = await self._execute(job, job_id, started)
        except WeirError as exc:
            if exc.package is None:  # a network failure names the package being fetched; the resolver adds its dependent
                exc.package = job.name
            self.reporter.event(
                ev.JobFinished(
                    job_id=job_id,
                    kind="manifest",
                    package=_label(job),
                    ok=False,
                    elapsed=time.perf_counter() - started,
                    error=exc.message,
                )
            )
            raise
        self.reporter.event(
            ev.JobFinished(
                job_id=job_id,
                kind="manifest",
                package=_label(job),
                ok=True,
                elapsed=done.elapsed,
                cache_status=done.cache_status,
                bytes=done.bytes,
                retries=done.retries,
            )
        )
        return done

    # -- one job ----------------------------------------------------------------------

    async def _execute(self, job: ManifestJob, job_id: int, started: float) -> ManifestDone:
        registry = self.config.registry_for(job.name)
        key = job.name if isinstance(job, Full) else f"{job.name}/{job.version}"
        url = registry.rstrip("/") + "/" + escape_for_url(job.name)
        if isinstance(job, VersionDoc):
            url += "/" + quote(job.version, safe="")
        stored = await self.store.read(registry, key)
        cached = self._decode_stored(job, stored)

        def finish(manifest: Packument | VersionManifest, status: ev.CacheStatus, retries: int, size: int) -> ManifestDone:
            return ManifestDone(job, manifest, status, time.perf_counter() - started, retries, size)

        if self.config.offline:
            if cached is None:
                raise ResolveError(
                    f"{_label(job)} is not in the cache and --offline forbids fetching it",
                    package=job.name,
                    hint="run once online or drop --offline",
                    code="ENOTCACHED",
                )
            return finish(cached, "hit" if stored is not None and self._fresh(stored) else "stale", 0, 0)
        if cached is not None and stored is not None:
            if not self.config.prefer_online and self._fresh(stored):
                return finish(cached, "hit", 0, 0)
            if self.config.prefer_offline:
                return finish(cached, "stale", 0, 0)
        else:
            stored = None  # an entry that does not decode has no validator worth sending

        accept = ABBREVIATED if isinstance(job, Full) else "application/json"
        retries = 0
        size = 0
        conditional = stored is not None
        last = "a 304 to an unconditional request"
        for _ in range(self.config.fetch_retries + 2):
            headers = {"accept": accept}
            if conditional and stored is not None:
                if stored.etag:
                    headers["if-none-match"] = stored.etag
                if stored.last_modified:
                    headers["if-modified-since"] = stored.last_modified
            response = await self.http.get(url, headers=headers, job_id=job_id)
            retries += response.retries
            size += len(response.body)
            if response.status == 304:
                if conditional and stored is not None and cached is not None:
                    await self.store.touch(registry, key, self._entry(stored.body, response, stored))
                    return finish(cached, "revalidated", retries, size)
                conditional = False  # a 304 we did not ask for: fetch the document itself
                last = "a 304 to an unconditional request"
                retries += 1
                continue
            self._check_status(job, url, response)
            try:
                manifest = self._decode(job, response.body)
            except PackumentError as exc:
                if "json" not in response.headers.get("content-type", ""):
                    raise NetworkError(
                        f"GET {self.config.redact(url)} answered {response.status} with a body that is not JSON "
                        f"({response.headers.get('content-type', 'no content type')})",
                        package=job.name,
                        hint="a proxy or captive portal may be answering; check the registry URL and your network",
                    ) from None
                last = str(exc)
                retries += 1
                continue
            await self.store.write(registry, key, self._entry(response.body, response, stored))
            return finish(manifest, "updated" if conditional else "miss", retries, size)
        raise NetworkError(
            f"GET {self.config.redact(url)} kept answering an unusable document: {last}",
            package=job.name,
            hint="check the registry URL and your network, or try --offline to use the cache",
        )

    def _fresh(self, stored: StoredManifest) -> bool:
        limit = stored.max_age if stored.max_age is not None else self.config.manifest_max_age
        return self.clock() - stored.fetched_at < limit

    def _entry(self, body: bytes, response: Response, previous: StoredManifest | None) -> StoredManifest:
        keep = previous if response.status == 304 else None
        return StoredManifest(
            body=body,
            etag=response.headers.get("etag") or (keep.etag if keep else None),
            last_modified=response.headers.get("last-modified") or (keep.last_modified if keep else None),
            fetched_at=self.clock(),
            max_age=max_age(response.headers["cache-control"]) if "cache-control" in response.headers else (keep.max_age if keep else None),
        )

    @staticmethod
    def _decode(job: ManifestJob, body: bytes) -> Packument | VersionManifest:
        return decode_packument(body) if isinstance(job, Full) else decode_version(body)

    def _decode_stored(self, job: ManifestJob, stored: StoredManifest | None) -> Packument | VersionManifest | None:
        if stored is None:
            return None
        try:
            return self._decode(job, stored.body)
        except PackumentError:
            return None

    def _check_status(self, job: ManifestJob, url: str, response: Response) -> None:
        if response.status == 200:
            return
        shown = self.config.redact(url)
        if response.status == 404:
            what = "package" if isinstance(job, Full) else "version"
            raise ResolveError(
                f"{_label(job)} is not in this registry ({shown} answered 404)",
                package=job.name,
                spec=job.version if isinstance(job, VersionDoc) else None,
                hint=f"check the spelling of the {what} name, or the registry / scope config in .npmrc",
                code="E404",
            )
        if response.status in (401, 403):
            raise NetworkError(
                f"{shown} refused access ({response.status})",
                package=job.name,
                hint="check the auth token for this registry in .npmrc (or run npm login)",
                code=f"E{response.status}",
            )
        raise NetworkError(
            f"GET {shown} answered {response.status}",
            package=job.name,
            hint="check the registry URL and your network, or try --offline to use the cache",
        )
