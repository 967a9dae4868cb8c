"""weir.core.registry.registry against the loopback registry: cache statuses, offline modes, bad answers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from loopback import LoopbackRegistry
from test_http import make_config
from weir.core import events as ev
from weir.core.errors import NetworkError, ResolveError
from weir.core.registry.http import Http
from weir.core.registry.manifest_store import ManifestStore
from weir.core.npm.packument import Packument, VersionManifest
from weir.core.registry.registry import Full, Registry, VersionDoc

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


MakeRegistry = Callable[..., Registry]


@pytest.fixture
async def make(registry: LoopbackRegistry, tmp_path: Path) -> AsyncIterator[MakeRegistry]:
    """Registry instances sharing one cache dir and clock (as successive runs would)."""
    clients: list[Http] = []
    clock = Clock()

    def build(recorder: ev.Reporter | None = None, **settings: object) -> Registry:
        config = make_config(registry=registry.url + "/", cache=tmp_path, **settings)
        reporter = recorder or ev.Reporter()
        http = Http(config, reporter)
        clients.append(http)
        return Registry(http, ManifestStore(tmp_path), config, reporter, clock=clock)

    build.clock = clock  # type: ignore[attr-defined]
    yield build
    for http in clients:
        await http.aclose()


async def test_miss_then_hit_without_a_request(registry: LoopbackRegistry, make: MakeRegistry) -> None:
    registry.add("a", "1.0.0", dependencies={"b": "^1"})
    registry.add("a", "1.1.0")
    recorder = ev.Recorder()
    reg = make(recorder)
    first = await reg.execute(Full("a"), job_id=1)
    assert first.cache_status == "miss" and first.bytes > 0
    assert isinstance(first.manifest, Packument)
    assert sorted(first.manifest.versions) == ["1.0.0", "1.1.0"]
    assert first.manifest.versions["1.0.0"].dependencies == {"b": "^1"}
    assert "application/vnd.npm.install-v1+json" in registry.packument_requests("a")[0].headers["accept"]
    second = await make().execute(Full("a"), job_id=2)
    assert second.cache_status == "hit" and second.bytes == 0
    assert second.manifest.dist_tags == {"latest": "1.1.0"}
    assert len(registry.packument_requests("a")) == 1
    [finished] = recorder.of(ev.JobFinished)
    assert (finished.job_id, finished.kind, finished.cache_status, finished.ok) == (1, "manifest", "miss", True)


async def test_after_max_age_revalidates_with_304(registry: LoopbackRegistry, make: MakeRegistry) -> None:
    registry.add("a", "1.0.0")
    await make().execute(Full("a"), job_id=1)
    make.clock.now += 301  # type: ignore[attr-defined]
    done = await make().execute(Full("a"), job_id=2)
    assert done.cache_status == "revalidated"
    assert list(done.manifest.versions) == ["1.0.0"]
    conditional = registry.packument_requests("a")[1]
    assert conditional.status == 304 and conditional.headers["if-none-match"].startswith('"')
    # the 304 refreshed fetched-at: within max-age again
    assert (await make().execute(Full("a"), job_id=3)).cache_status == "hit"


async def test_changed_content_is_updated(registry: LoopbackRegistry, make: MakeRegistry) -> None:
    registry.add("a", "1.0.0")
    await make().execute(Full("a"), job_id=1)
    registry.add("a", "2.0.0")
    done = await make(prefer_online=True).execute(Full("a"), job_id=2)
    assert done.cache_status == "updated"
    assert sorted(done.manifest.versions) == ["1.0.0", "2.0.0"]
    make.clock.now += 10  # type: ignore[attr-defined]
    assert sorted((await make().execute(Full("a"), job_id=3)).manifest.versions) == ["1.0.0", "2.0.0"]


async def test_max_age_zero_in_config_applies_without_cache_control(
    registry: LoopbackRegistry, make: MakeRegistry
) -> None:
    registry.cache_control = None
    registry.add("a", "1.0.0")
    await make(manifest_max_age=0).execute(Full("a"), job_id=1)
    assert (await make(manifest_max_age=0).execute(Full("a"), job_id=2)).cache_status == "revalidated"


async def test_corrupt_store_entry_heals(registry: LoopbackRegistry, make: MakeRegistry, tmp_path: Path) -> None:
    registry.add("a", "1.0.0")
    reg = make()
    await reg.execute(Full("a"), job_id=1)
    body, _ = reg.store.paths(reg.config.registry_for("a"), "a")
    body.write_bytes(b"{" + b" " * (body.stat().st_size - 1))  # same length, not a packument
    done = await make().execute(Full("a"), job_id=2)
    assert done.cache_status == "miss"
    assert "if-none-match" not in registry.packument_requests("a")[1].headers
    assert (await make().execute(Full("a"), job_id=3)).cache_status == "hit"


async def test_stored_validator_without_body_refetches_unconditionally(
    registry: LoopbackRegistry, make: MakeRegistry
) -> None:
    registry.add("a", "1.0.0")
    reg = make()
    await reg.execute(Full("a"), job_id=1)
    body, _meta = reg.store.paths(reg.config.registry_for("a"), "a")
    body.unlink()
    make.clock.now += 301  # type: ignore[attr-defined]
    done = await make().execute(Full("a"), job_id=2)
    assert done.cache_status == "miss" and list(done.manifest.versions) == ["1.0.0"]
    assert "if-none-match" not in registry.packument_requests("a")[1].headers


async def test_unasked_304_is_refetched(registry: LoopbackRegistry, make: MakeRegistry) -> None:
    registry.add("a", "1.0.0")
    registry.fault("/a", "status", status=304)
    done = await make().execute(Full("a"), job_id=1)
    assert done.cache_status == "miss" and list(done.manifest.versions) == ["1.0.0"]
    assert [r.status for r in registry.packument_requests("a")] == [304, 200]


async def test_offline_uses_the_store_and_never_the_network(registry: LoopbackRegistry, make: MakeRegistry) -> None:
    registry.add("a", "1.0.0")
    await make().execute(Full("a"), job_id=1)
    assert (await make(offline=True).execute(Full("a"), job_id=2)).cache_status == "hit"  # still fresh
    make.clock.now += 10_000  # type: ignore[attr-defined]
    assert (await make(offline=True).execute(Full("a"), job_id=2)).cache_status == "stale"  # npm's word
    recorder = ev.Recorder()
    with pytest.raises(ResolveError) as caught:
        await make(recorder, offline=True).execute(Full("b"), job_id=3)
    assert "b" in str(caught.value) and "run once online or drop --offline" in str(caught.value)
    assert len(registry.requests) == 1
    [finished] = recorder.of(ev.JobFinished)
    assert not finished.ok and finished.error


async def test_prefer_offline_uses_a_stale_copy(registry: LoopbackRegistry, make: MakeRegistry) -> None:
    registry.add("a", "1.0.0")
    await make().execute(Full("a"), job_id=1)
    make.clock.now += 10_000  # type: ignore[attr-defined]
    assert (await make(prefer_offline=True).execute(Full("a"), job_id=2)).cache_status == "stale"
    assert len(registry.packument_requests("a")) == 1


async def test_404_names_the_package(registry: LoopbackRegistry, make: MakeRegistry) -> None:
    with pytest.raises(ResolveError) as caught:
        await make().execute(Full("nope"), job_id=1)
    assert caught.value.code == "E404" and caught.value.package == "nope"
    assert "not in this registry" in str(caught.value) and "spelling" in str(caught.value)
    assert len(registry.requests) == 1


async def test_truncated_json_is_retried(registry: LoopbackRegistry, make: MakeRegistry) -> None:
    registry.add("a", "1.0.0")
    registry.fault("/a", "corrupt_json")
    done = await make().execute(Full("a"), job_id=1)
    assert list(done.manifest.versions) == ["1.0.0"] and done.retries == 1


async def test_html_page_is_an_error_naming_url_and_status(registry: LoopbackRegistry, make: MakeRegistry) -> None:
    registry.fault("/a", "html")
    with pytest.raises(NetworkError) as caught:
        await make().execute(Full("a"), job_id=1)
    assert f"{registry.url}/a" in str(caught.value) and "200" in str(caught.value) and "text/html" in str(caught.value)


async def test_401_is_an_auth_error(registry: LoopbackRegistry, make: MakeRegistry) -> None:
    registry.require_auth("t0k")
    with pytest.raises(NetworkError, match="refused access"):
        await make().execute(Full("a"), job_id=1)
    registry.add("a", "1.0.0")
    authed = make(tokens={registry.url: "t0k"})
    assert (await authed.execute(Full("a"), job_id=2)).cache_status == "miss"
    assert len(registry.packument_requests("a")) == 2  # the 401 was not retried


async def test_version_document(registry: LoopbackRegistry, make: MakeRegistry) -> None:
    registry.add("@s/tool", "1.2.3", bin="cli.js", engines={"node": ">=18"})
    done = await make().execute(VersionDoc("@s/tool", "1.2.3"), job_id=1)
    assert isinstance(done.manifest, VersionManifest)
    assert done.manifest.bin == {"tool": "cli.js"} and done.manifest.engines == {"node": ">=18"}
    assert done.manifest.dist.tarball.endswith(".tgz") and done.manifest.dist.integrity
    assert (await make().execute(VersionDoc("@s/tool", "1.2.3"), job_id=2)).cache_status == "hit"


@pytest.mark.network
async def test_public_registry_packument(tmp_path: Path) -> None:
    config = make_config(registry="https://registry.npmjs.org/", cache=tmp_path)
    http = Http(config, ev.Reporter())
    try:
        done = await Registry(http, ManifestStore(tmp_path), config, ev.Reporter()).execute(Full("is-number"), job_id=1)
    finally:
        await http.aclose()
    assert done.cache_status == "miss"
    manifest = done.manifest
    assert isinstance(manifest, Packument)
    assert manifest.versions["7.0.0"].dist.integrity.startswith("sha512-")
