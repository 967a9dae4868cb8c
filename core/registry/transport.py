"""What the registry and the tarball fetcher need from HTTP, and the one way an install builds it.

Rules this module holds:

1. ``Transport`` is the typed seam between HTTP and its two users: the
   registry asks ``get`` for documents, the tarball fetcher asks ``download``
   to stream bodies. ``weir.core.registry.http.Http`` implements it; a test
   may hand in anything else that does.
2. This module imports no HTTP stack: ``OnFirstUse`` builds the real ``Http``
   at the first request, so a warm install (every packument fresh in the
   manifest store, every tarball in the content store) never imports or
   starts aiohttp and httpx.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from weir.core import events as ev
    from weir.core.config import Config
    from weir.core.registry.http import Http

__all__ = ["OnFirstUse", "Response", "Sink", "Transport"]


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes
    http_version: str
    url: str  # the final URL, after redirects (not redacted: callers may need it)
    retries: int = 0  # attempts that failed before this answer


class Sink(Protocol):
    """Where ``download`` streams a body; a fresh one per attempt."""

    def write(self, chunk: bytes) -> None: ...

    def abort(self) -> None: ...


class Transport(Protocol):
    """HTTP as the registry and the tarball fetcher use it (rule 1)."""

    async def get(self, url: str, *, headers: Mapping[str, str] | None = None, job_id: int | None = None) -> Response:
        """GET ``url``, redirects and retries included; any final status is returned."""
        ...

    async def download(self, url: str, *, job_id: int | None = None, sink_factory: Callable[[], Sink]) -> int:
        """Stream ``url``'s body into a fresh sink per attempt; the bytes written."""
        ...

    async def aclose(self) -> None:
        """Release the connections."""
        ...


class OnFirstUse:
    """A ``Transport`` that builds ``Http`` at its first request (rule 2)."""

    def __init__(self, config: Config, reporter: ev.Reporter) -> None:
        self.config = config
        self.reporter = reporter
        self._http: Http | None = None

    def _built(self) -> Http:
        if self._http is None:
            from weir.core.registry.http import Http

            self._http = Http(self.config, self.reporter)
        return self._http

    async def get(self, url: str, *, headers: Mapping[str, str] | None = None, job_id: int | None = None) -> Response:
        return await self._built().get(url, headers=headers, job_id=job_id)

    async def download(self, url: str, *, job_id: int | None = None, sink_factory: Callable[[], Sink]) -> int:
        return await self._built().download(url, job_id=job_id, sink_factory=sink_factory)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
