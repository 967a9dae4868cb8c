"""The registry and HTTP transport of one install, built in one place.

Rules this module holds:

1. ``open_registry`` is the only place an install builds its network side:
   one ``OnFirstUse`` transport (shared by the registry and the tarball
   fetcher, so both count against one ``maxsockets`` per host) and the
   stateless ``Registry`` over it with the ManifestStore in the configured
   cache. The install closes ``transport`` when it ends.
2. Nothing is imported or built before the first job: a warm install from
   a lockfile asks the registry nothing, so it never pays for the registry's
   modules (msgspec's packument decoders, the store's hashing: about 10 ms)
   nor for starting aiohttp. ``OnFirstJob`` holds the built Registry; it adds
   no state of its own (DESIGN.md rule 1 stays the Registry's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from weir.core.registry.transport import OnFirstUse

if TYPE_CHECKING:
    from weir.core import events as ev
    from weir.core.config import Config
    from weir.core.registry.registry import ManifestDone, ManifestJob, Registry

__all__ = ["OnFirstJob", "open_registry"]


class OnFirstJob:
    """The install's registry: ``Registry.execute``, with the Registry built at the first job (rule 2)."""

    def __init__(self, config: Config, reporter: ev.Reporter, transport: OnFirstUse) -> None:
        self.config = config
        self.reporter = reporter
        self.transport = transport
        self._registry: Registry | None = None

    async def execute(self, job: ManifestJob, *, job_id: int) -> ManifestDone:
        if self._registry is None:
            from weir.core.registry.manifest_store import ManifestStore
            from weir.core.registry.registry import Registry

            self._registry = Registry(self.transport, ManifestStore(self.config.cache), self.config, self.reporter)
        return await self._registry.execute(job, job_id=job_id)


def open_registry(config: Config, reporter: ev.Reporter) -> OnFirstJob:
    """The registry an install resolves against; its ``transport`` serves the tarball fetcher too (rule 1)."""
    return OnFirstJob(config, reporter, OnFirstUse(config, reporter))
