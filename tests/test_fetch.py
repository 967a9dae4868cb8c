"""The tarball fetcher against the loopback registry: events, cache reuse, faults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from loopback import LoopbackRegistry, TarEntry, build_tgz
from weir.core import events as ev
from weir.core.config import Config
from weir.core.store.content_store import ContentStore
from weir.core.errors import IntegrityError, NetworkError
from weir.core.store.fetch import PENDING_PER_SOCKET, TarballFetcher
from weir.core.registry.http import Http
from weir.core.npm.integrity import Integrity, pick

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def recorder() -> ev.Recorder:
    return ev.Recorder()


@pytest.fixture
async def http(recorder: ev.Recorder, tmp_path: Path) -> AsyncIterator[Http]:
    config = Config(fetch_retry_mintimeout=1, fetch_retry_maxtimeout=5, fetch_timeout=5000, cache=tmp_path)
    client = Http(config, recorder)
    yield client
    await client.aclose()


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def fetcher(http: Http, cache: Path, recorder: ev.Recorder, concurrency: int = 4) -> TarballFetcher:
    return TarballFetcher(http, ContentStore(cache), recorder, concurrency=concurrency)


def leftovers(cache: Path) -> list[Path]:
    return list((cache / "tmp").iterdir())


async def test_fetch_extracts_then_reuses(registry: LoopbackRegistry, http: Http, cache: Path, recorder: ev.Recorder) -> None:
    pub = registry.add("left-pad", "1.3.0", bin="cli.js")  # the loopback packs every file 0644
    tf = fetcher(http, cache, recorder)
    integrity = pick(None, pub.integrity, pub.shasum)
    entry = await tf.fetch("left-pad", "1.3.0", pub.tarball_url, integrity, job_id=7)
    assert (entry.path / "index.js").exists()
    (fetched,) = recorder.of(ev.TarballFetched)
    assert not fetched.from_cache and fetched.bytes == len(pub.tarball)
    (extracted,) = recorder.of(ev.Extracted)
    assert extracted.files == len(entry.files) == 3
    finished = [(e.kind, e.ok, e.cache_status) for e in recorder.of(ev.JobFinished) if e.job_id == 7]
    assert finished == [("tarball", True, "miss"), ("extract", True, None)]

    again = await fetcher(http, cache, recorder).fetch("left-pad", "1.3.0", pub.tarball_url, integrity, job_id=8)
    assert again.reused and again.path == entry.path
    assert len(registry.tarball_requests("left-pad")) == 1
    assert recorder.of(ev.TarballFetched)[-1].from_cache
    assert [(e.kind, e.cache_status) for e in recorder.of(ev.JobFinished) if e.job_id == 8] == [("tarball", "hit")]


async def test_wrong_integrity_fault_names_expected_and_actual_and_caches_nothing(
    registry: LoopbackRegistry, http: Http, cache: Path, recorder: ev.Recorder
) -> None:
    pub = registry.add("a", "1.0.0")
    registry.fault(lambda r: r.kind == "tarball", "wrong_integrity", times=None)
    with pytest.raises(IntegrityError) as err:
        await fetcher(http, cache, recorder).fetch("a", "1.0.0", pub.tarball_url, Integrity.parse(pub.integrity), job_id=1)
    text = str(err.value)
    assert pub.integrity in text and "got sha512-" in text and pub.tarball_url in text and "a@1.0.0" in text
    assert not list((cache / "content").rglob("*")) and leftovers(cache) == []
    (finished,) = recorder.of(ev.JobFinished)
    assert (finished.kind, finished.ok) == ("tarball", False) and "EINTEGRITY" in (finished.error or "")


async def test_truncated_body_is_retried_and_only_the_good_attempt_counts(
    registry: LoopbackRegistry, http: Http, cache: Path, recorder: ev.Recorder
) -> None:
    pub = registry.add("a", "1.0.0", files={"package.json": '{"name":"a","version":"1.0.0"}', "big.js": "x" * 50_000})
    registry.fault(lambda r: r.kind == "tarball", "truncate")
    entry = await fetcher(http, cache, recorder).fetch(
        "a", "1.0.0", pub.tarball_url, Integrity.parse(pub.integrity), job_id=1
    )
    assert (entry.path / "big.js").stat().st_size == 50_000
    assert len(registry.tarball_requests("a")) == 2
    assert leftovers(cache) == []


async def test_hostile_tarball_from_the_registry_is_extracted_safely_with_warnings(
    registry: LoopbackRegistry, http: Http, cache: Path, recorder: ev.Recorder
) -> None:
    data = build_tgz(
        [
            TarEntry("package/package.json", data='{"name":"evil","version":"1.0.0"}'),
            TarEntry("package/../../escape.js", data="x"),
            TarEntry("package/link", type="symlink", linkname="/etc/passwd"),
        ]
    )
    pub = registry.add_tarball_bytes("evil", "1.0.0", data)
    entry = await fetcher(http, cache, recorder).fetch(
        "evil", "1.0.0", pub.tarball_url, Integrity.parse(pub.integrity), job_id=3
    )
    assert [f.path for f in entry.files] == ["package.json"]
    assert not (cache / "escape.js").exists() and not (cache.parent / "escape.js").exists()
    assert len(recorder.of(ev.Warned)) == 2


async def test_missing_tarball_is_a_network_error_and_caches_nothing(
    registry: LoopbackRegistry, http: Http, cache: Path, recorder: ev.Recorder
) -> None:
    pub = registry.add("a", "1.0.0")
    with pytest.raises(NetworkError):
        await fetcher(http, cache, recorder).fetch(
            "a", "1.0.0", pub.tarball_url + ".missing", Integrity.parse(pub.integrity), job_id=1
        )
    assert leftovers(cache) == [] and not list((cache / "content").rglob("*"))
    assert [e.ok for e in recorder.of(ev.JobFinished)] == [False]


async def test_many_fetches_with_bounded_concurrency(
    registry: LoopbackRegistry, http: Http, cache: Path, recorder: ev.Recorder
) -> None:
    pubs = [registry.add(f"p{i}", "1.0.0") for i in range(12)]
    tf = fetcher(http, cache, recorder, concurrency=2)
    entries = {}

    async def one(i: int) -> None:
        entries[i] = await tf.fetch(f"p{i}", "1.0.0", pubs[i].tarball_url, Integrity.parse(pubs[i].integrity), job_id=i)

    async with anyio.create_task_group() as tg:
        for i in range(12):
            tg.start_soon(one, i)
    assert sorted(entries) == list(range(12))
    assert all((e.path / "package.json").exists() for e in entries.values())
    def peak(start: type[ev.Event], end: type[ev.Event], kinds: tuple[str, ...] = ()) -> int:
        def counted(e: ev.Event) -> bool:
            return not kinds or getattr(e, "kind", None) in kinds

        steps = sorted(
            [(e.at, 1) for e in recorder.of(start) if counted(e)] + [(e.at, -1) for e in recorder.of(end) if counted(e)]
        )
        running, most = 0, 0
        for _, step in steps:
            running += step
            most = max(most, running)
        return most

    assert peak(ev.RequestStarted, ev.RequestFinished) <= 2  # downloads are bounded by the concurrency...
    assert peak(ev.JobStarted, ev.JobFinished, ("tarball", "extract")) <= 2 * PENDING_PER_SOCKET  # ...and so is all under way


async def test_reuse_many_finds_every_stored_entry_across_its_threads_and_raises_a_lie_as_itself(
    registry: LoopbackRegistry, http: Http, cache: Path, recorder: ev.Recorder
) -> None:
    """The lookups run in several threads; the answer is still per job id, and a stored entry that
    names another package is the IntegrityError a single thread raised, not an exception group."""
    tf = fetcher(http, cache, recorder)
    wanted = []
    for n in range(11):
        pub = registry.add(f"p{n}", "1.0.0")
        integrity = pick(None, pub.integrity, pub.shasum)
        if n != 5:  # p5 is not in the store
            await tf.fetch(f"p{n}", "1.0.0", pub.tarball_url, integrity, job_id=100 + n)
        wanted.append((n, f"p{n}", "1.0.0", pub.tarball_url, integrity))
    found = await fetcher(http, cache, recorder).reuse_many(wanted)
    assert sorted(found) == [n for n in range(11) if n != 5]
    assert all(found[n].name == f"p{n}" and found[n].reused for n in found)
    lie = (11, "someone-else", "1.0.0", wanted[7][3], wanted[7][4])  # p7's bytes under another name
    with pytest.raises(IntegrityError, match="someone-else"):
        await fetcher(http, cache, recorder).reuse_many([*wanted, lie])
