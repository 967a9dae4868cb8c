"""weir's resolver against npm itself on small real projects (public registry).

For each tests/fixtures/real/<name>/package.json, npm 11 writes a lockfile
(--package-lock-only) and weir resolves the same package.json; the
``packages`` maps must agree path by path on version and dev/optional flags,
and every field npm writes into an entry must be the same.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import anyio
import pytest
from weir.core.config import Config
from weir.core.events import Reporter
from weir.core.registry.http import Http
from weir.core.registry.manifest_store import ManifestStore
from weir.core.npm.package_json import read_package_json
from weir.core.registry.registry import Registry
from weir.core.resolve.resolver import Resolution, resolve

pytestmark = [pytest.mark.network, pytest.mark.anyio]

REAL = Path(__file__).parent / "fixtures" / "real"
NPM_REGISTRY = "https://registry.npmjs.org/"
FLAGS = ("dev", "optional", "devOptional", "peer")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def summary(packages: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        path: (entry.get("version"), entry.get("name"), *(bool(entry.get(f)) for f in FLAGS))
        for path, entry in packages.items()
        if path
    }


@pytest.fixture(scope="module")
def caches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One npm cache and one weir cache for every project: they share most packuments
    (babel, jest, react...), and fetching each once keeps the whole run near a minute."""
    return tmp_path_factory.mktemp("caches")


async def npm_lockfile(project: Path, caches: Path) -> dict[str, Any]:
    with anyio.fail_after(300):
        await anyio.run_process(
            ["npm", "install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund",
             "--cache", str(caches / "npm"), "--registry", NPM_REGISTRY],
            cwd=project, check=True,
        )
    return json.loads((project / "package-lock.json").read_text())["packages"]


async def weir_resolution(project: Path, caches: Path) -> Resolution:
    config = Config(registry=NPM_REGISTRY, cache=caches / "weir")
    http = Http(config, Reporter())
    try:
        registry = Registry(http, ManifestStore(caches / "weir"), config, http.reporter)
        return await resolve(read_package_json(project / "package.json"), project, registry=registry, config=config)
    finally:
        await http.aclose()


# Left out for time alone (the whole run stays near 2.5 minutes), though their trees and
# fields agree with npm 11 in full; their package.json files are in this file's git log:
# Angular CLI 18 + karma 6 (1,019 paths, ~57 s), karma 1 + webpack 3 (864 paths, ~47 s),
# NestJS 10 API (742 paths, ~29 s; its peer sets are pinned in test_resolver.py).
@pytest.mark.parametrize("name", sorted(p.name for p in REAL.iterdir()))
async def test_same_tree_as_npm(name: str, tmp_path: Path, caches: Path) -> None:
    # npm and weir resolve side by side, each in its own copy: weir's time hides in npm's
    shutil.copytree(REAL / name, tmp_path / "npm" / name)
    shutil.copytree(REAL / name, tmp_path / "weir" / name)
    found: dict[str, Any] = {}

    async def run_npm() -> None:
        found["npm"] = await npm_lockfile(tmp_path / "npm" / name, caches)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run_npm)
        res = await weir_resolution(tmp_path / "weir" / name, caches)
    npm_raw = found["npm"]
    npm = summary(npm_raw)
    ours = summary({p: e.raw for p, e in res.lockfile.packages.items()})

    paths = set(npm) | set(ours)
    # Beyond placement, every field npm writes must match (``resolved`` only when this
    # machine's npm writes it: omit-lockfile-registry-resolved may be set globally).
    fields = {
        p: {k: v for k, v in res.lockfile.packages[p].raw.items() if k != "resolved" or "resolved" in npm_raw[p]}
        for p in npm_raw
        if p and p in res.lockfile.packages
    }
    assert {p: f for p, f in fields.items() if f != npm_raw[p]} == {}
    agree = [p for p in sorted(paths) if npm.get(p) == ours.get(p)]
    print(f"{name}: {len(agree)}/{len(paths)} paths agree ({100 * len(agree) / max(1, len(paths)):.1f}%)")
    diff = {p: (npm.get(p), ours.get(p)) for p in sorted(paths) if npm.get(p) != ours.get(p)}
    assert not diff, diff
