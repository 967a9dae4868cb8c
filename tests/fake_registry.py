"""An in-memory registry with the real ``execute`` shape: fast, offline resolver tests.

``FakeRegistry.add(name, version, ...)`` publishes a version; ``execute`` serves
the packument as the real registry would (decoded by core.npm.packument from JSON
bytes), optionally after a per-package delay so tests can shuffle answer order.
"""

from __future__ import annotations

import random
from typing import Any

import anyio
import orjson

from weir.core.errors import ResolveError
from weir.core.npm.packument import decode_packument
from weir.core.registry.registry import Full, ManifestDone


class FakeRegistry:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self.delays: dict[str, float] = {}
        self._rng: random.Random | None = None
        self._max = 0.0

    def add(self, name: str, version: str, **fields: Any) -> FakeRegistry:
        doc = self.docs.setdefault(name, {"name": name, "dist-tags": {}, "versions": {}})
        manifest: dict[str, Any] = {
            "name": name,
            "version": version,
            "dist": {
                "tarball": f"https://fake.test/{name}/-/{name.split('/')[-1]}-{version}.tgz",
                "integrity": f"sha512-{name}-{version}",
            },
        }
        for key, value in fields.items():
            camel = {"optional_dependencies": "optionalDependencies", "peer_dependencies": "peerDependencies",
                     "peer_dependencies_meta": "peerDependenciesMeta", "bundle_dependencies": "bundleDependencies"}.get(key, key)
            manifest[camel] = value
        doc["versions"][version] = manifest
        if "-" not in version:
            doc["dist-tags"]["latest"] = version
        return self

    def tag(self, name: str, tag: str, version: str) -> None:
        self.docs[name]["dist-tags"][tag] = version

    def jitter(self, seed: int, max_s: float) -> None:
        self._rng = random.Random(seed)
        self._max = max_s

    async def execute(self, job: Full, *, job_id: int) -> ManifestDone:
        self.requests.append(job.name)
        if self._rng is not None:
            await anyio.sleep(self._rng.random() * self._max)
        else:
            await anyio.sleep(0)
        doc = self.docs.get(job.name)
        if doc is None:
            raise ResolveError(f"{job.name} is not in this registry", package=job.name, code="E404")
        body = orjson.dumps(doc)
        return ManifestDone(job, decode_packument(body), "miss", 0.001, 0, len(body))
