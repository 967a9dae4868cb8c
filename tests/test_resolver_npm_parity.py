"""weir's resolver against npm itself on small real projects (public registry).

For each tests/fixtures/real/<name>/package.json, npm 11 writes a lockfile
(--package-lock-only) and weir resolves the same package.json; the
``packages`` maps must agree path by path on version and dev/optional flags.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from weir.core.config import Config
from weir.core.http import Http
from weir.core.manifest_store import ManifestStore
from weir.core.package_json import read_package_json
from weir.core.registry import Registry
from weir.core.resolver import resolve

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


@pytest.mark.parametrize("name", sorted(p.name for p in REAL.iterdir()))
async def test_same_tree_as_npm(name: str, tmp_path: Path, caches: Path) -> None:
    project = tmp_path / name
    shutil.copytree(REAL / name, project)
    subprocess.run(
        ["npm", "install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund",
         "--cache", str(caches / "npm"), "--registry", NPM_REGISTRY],
        cwd=project, check=True, capture_output=True, timeout=300,
    )
    npm = summary(json.loads((project / "package-lock.json").read_text())["packages"])

    config = Config(registry=NPM_REGISTRY, cache=caches / "weir")
    http = Http(config, __import__("weir.core.events", fromlist=["Reporter"]).Reporter())
    try:
        registry = Registry(http, ManifestStore(caches / "weir"), config, http.reporter)
        res = await resolve(read_package_json(project / "package.json"), project, registry=registry, config=config)
    finally:
        await http.aclose()
    ours = summary({p: e.raw for p, e in res.lockfile.packages.items()})

    paths = set(npm) | set(ours)
    # Beyond placement, every field npm writes must match (``resolved`` only when this
    # machine's npm writes it: omit-lockfile-registry-resolved may be set globally).
    npm_raw = json.loads((project / "package-lock.json").read_text())["packages"]
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
