from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest
from loopback.tarballs import TarEntry, build_tgz, package_tarball, sha512_integrity
from weir.core.store import content_store
from weir.core.store.content_store import ContentStore, verify_entry
from weir.core.errors import IntegrityError
from weir.core.npm.integrity import Integrity

PKG = {"package.json": '{"name":"a","version":"1.0.0","bin":"cli.js"}', "index.js": "module.exports = 1\n"}


class Served:
    """A stand-in for Http.download: streams fixed bytes into the sink, counting calls."""

    def __init__(self, data: bytes, *, fail_first: bool = False) -> None:
        self.data = data
        self.calls = 0
        self.fail_first = fail_first

    async def __call__(self, sink_factory: Callable[[], content_store.Sink]) -> int:
        self.calls += 1
        if self.fail_first:  # a first attempt that dies mid-body, as Http retries it
            sink_factory().write(self.data[:10])
        sink = sink_factory()
        for i in range(0, len(self.data), 1000):
            sink.write(self.data[i : i + 1000])
        await anyio.lowlevel.checkpoint()
        return len(self.data)


def leftovers(cache: Path) -> list[Path]:
    return list((cache / "tmp").iterdir())


def stored(cache: Path) -> list[Path]:
    return list((cache / "content").rglob("manifest.json"))


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.mark.anyio
async def test_ensure_extracts_once_then_reuses(cache: Path) -> None:
    data = package_tarball(PKG)
    store, served = ContentStore(cache), Served(data)
    first = await store.ensure(Integrity.parse(sha512_integrity(data)), "a", "1.0.0", served)
    assert not first.reused and first.tarball_bytes == len(data)
    assert (first.path / "index.js").read_text() == "module.exports = 1\n"
    assert sorted(f.path for f in first.files) == ["index.js", "package.json"]
    second = await ContentStore(cache).ensure(Integrity.parse(sha512_integrity(data)), "a", "1.0.0", served)
    assert second.reused and second.path == first.path and second.files == first.files
    assert served.calls == 1
    assert leftovers(cache) == []


@pytest.mark.anyio
async def test_concurrent_ensure_in_one_process_downloads_once(cache: Path) -> None:
    data = package_tarball(PKG)
    store, served = ContentStore(cache), Served(data)
    results = []

    async def one() -> None:
        results.append(await store.ensure(Integrity.parse(sha512_integrity(data)), "a", "1.0.0", served))

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(one)
    assert served.calls == 1
    assert len({r.path for r in results}) == 1


@pytest.mark.anyio
async def test_retried_download_uses_only_the_last_attempt(cache: Path) -> None:
    data = package_tarball(PKG)
    entry = await ContentStore(cache).ensure(
        Integrity.parse(sha512_integrity(data)), "a", "1.0.0", Served(data, fail_first=True)
    )
    assert (entry.path / "package.json").exists()
    assert leftovers(cache) == []


@pytest.mark.anyio
async def test_incomplete_entry_without_marker_is_rebuilt(cache: Path) -> None:
    data = package_tarball(PKG)
    integrity = Integrity.parse(sha512_integrity(data))
    store = ContentStore(cache)
    half = store.entry_dir(integrity.digests("sha512")[0]) / "package"
    half.mkdir(parents=True)
    (half / "index.js").write_text("half writ")
    served = Served(data)
    entry = await store.ensure(integrity, "a", "1.0.0", served)
    assert served.calls == 1 and not entry.reused
    assert (entry.path / "index.js").read_text() == "module.exports = 1\n"
    assert leftovers(cache) == []


@pytest.mark.anyio
@pytest.mark.parametrize("damage", ["resize", "delete", "garbage-manifest"])
async def test_damaged_entry_is_detected_and_rebuilt(cache: Path, damage: str) -> None:
    data = package_tarball(PKG)
    integrity = Integrity.parse(sha512_integrity(data))
    store = ContentStore(cache)
    entry = await store.ensure(integrity, "a", "1.0.0", Served(data))
    if damage == "resize":
        (entry.path / "index.js").write_text("module.exports = 2 // tampered\n")
        assert verify_entry(entry)
    elif damage == "delete":
        (entry.path / "index.js").unlink()
        assert verify_entry(entry)
    else:
        (entry.path.parent / "manifest.json").write_text("{not json")
    served = Served(data)
    again = await store.ensure(integrity, "a", "1.0.0", served)
    assert served.calls == 1 and not again.reused
    assert (again.path / "index.js").read_text() == "module.exports = 1\n"
    assert verify_entry(again, deep=True) == ()
    assert leftovers(cache) == []


@pytest.mark.anyio
async def test_flipped_byte_is_found_by_the_deep_check(cache: Path) -> None:
    data = package_tarball(PKG)
    entry = await ContentStore(cache).ensure(Integrity.parse(sha512_integrity(data)), "a", "1.0.0", Served(data))
    target = entry.path / "index.js"
    body = bytearray(target.read_bytes())
    body[0] ^= 0x01
    target.write_bytes(bytes(body))
    (entry.path / "extra.js").write_text("planted")
    assert verify_entry(entry) == ()  # the cheap check sees sizes only
    problems = verify_entry(entry, deep=True)
    assert any("index.js: content changed" in p for p in problems)
    assert any("extra.js: not in the manifest" in p for p in problems)


@pytest.mark.anyio
async def test_integrity_failure_leaves_nothing(cache: Path) -> None:
    data = package_tarball(PKG)
    store = ContentStore(cache)
    wrong = Integrity.parse(sha512_integrity(b"something else"))
    with pytest.raises(IntegrityError) as err:
        await store.ensure(wrong, "a", "1.0.0", Served(data), url="http://127.0.0.1/a.tgz")
    assert sha512_integrity(data) in str(err.value) and "http://127.0.0.1/a.tgz" in str(err.value)
    assert stored(cache) == [] and leftovers(cache) == []


@pytest.mark.anyio
async def test_big_tarball_spools_to_disk_and_leaves_nothing(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(content_store, "SPOOL_MAX", 100)
    data = package_tarball({**PKG, "big.bin": bytes(range(256)) * 200})
    store = ContentStore(cache)
    with pytest.raises(IntegrityError):
        await store.ensure(Integrity.parse(sha512_integrity(b"x")), "a", "1.0.0", Served(data))
    assert leftovers(cache) == []
    entry = await store.ensure(Integrity.parse(sha512_integrity(data)), "a", "1.0.0", Served(data))
    assert (entry.path / "big.bin").stat().st_size == 256 * 200
    assert leftovers(cache) == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("pkg_json", "ok"),
    [
        ('{"name":"b","version":"1.0.0"}', False),
        ('{"name":"a","version":"1.0.1"}', False),
        ('{"name":"a","version":"v1.0.0"}', True),
        ('{"name":"a","version":"=1.0.0"}', True),
        ("[1, 2]", False),
        (None, False),
    ],
)
async def test_package_json_must_name_the_package(cache: Path, pkg_json: str | None, ok: bool) -> None:
    files = {"index.js": "x"} if pkg_json is None else {"package.json": pkg_json, "index.js": "x"}
    data = package_tarball(files)
    store = ContentStore(cache)
    ensure = store.ensure(Integrity.parse(sha512_integrity(data)), "a", "1.0.0", Served(data))
    if ok:
        assert (await ensure).name == "a"
    else:
        with pytest.raises(IntegrityError, match="a@1.0.0"):
            await ensure
        assert stored(cache) == []
    assert leftovers(cache) == []


@pytest.mark.anyio
async def test_hostile_tarball_is_refused_and_leaves_nothing(cache: Path) -> None:
    data = build_tgz([TarEntry("package/package.json", data='{"name":"a","version":"1.0.0"}')])[:-20]
    with pytest.raises(IntegrityError, match="corrupt"):
        await ContentStore(cache).ensure(Integrity.parse(sha512_integrity(data)), "a", "1.0.0", Served(data))
    assert stored(cache) == [] and leftovers(cache) == []


@pytest.mark.anyio
async def test_extraction_warnings_and_executables_are_reported(cache: Path) -> None:
    data = build_tgz(
        [
            TarEntry("package/package.json", data='{"name":"a","version":"1.0.0"}'),
            TarEntry("package/cli.js", data="#!/usr/bin/env node\n", mode=0o755),
            TarEntry("package/evil", type="symlink", linkname="/etc/passwd"),
        ]
    )
    entry = await ContentStore(cache).ensure(Integrity.parse(sha512_integrity(data)), "a", "1.0.0", Served(data))
    assert entry.executables == ("cli.js",)
    assert any("symbolic link" in w for w in entry.warnings)


_RACER = textwrap.dedent(
    """
    import sys, time, anyio
    from pathlib import Path
    from weir.core.store.content_store import ContentStore
    from weir.core.npm.integrity import Integrity

    cache, tgz, sri, go = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
    data = tgz.read_bytes()

    async def fetch(sink_factory):
        sink = sink_factory()
        sink.write(data[:100])
        while not go.exists():  # both processes hold a half download, then finish together
            time.sleep(0.005)
        sink.write(data[100:])
        return len(data)

    async def main():
        entry = await ContentStore(cache).ensure(Integrity.parse(sri), "a", "1.0.0", fetch)
        print(entry.path, len(entry.files))

    anyio.run(main)
    """
)


def test_two_processes_share_one_cache(cache: Path, tmp_path: Path) -> None:
    files = {**PKG, **{f"lib/f{i}.js": f"// {i}\n" * 50 for i in range(200)}}
    data = package_tarball(files)
    tgz = tmp_path / "a.tgz"
    tgz.write_bytes(data)
    go = tmp_path / "go"
    args = [sys.executable, "-c", _RACER, str(cache), str(tgz), sha512_integrity(data), str(go)]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    go.touch()
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert outs[0][0] == outs[1][0] and outs[0][0].strip().endswith(str(len(files)))
    (manifest,) = stored(cache)
    assert len(json.loads(manifest.read_text())["files"]) == len(files)
    assert leftovers(cache) == []


@pytest.mark.anyio
async def test_entry_stored_before_gitignore_was_renamed_is_rebuilt(cache: Path) -> None:
    """A cache filled by an older weir holds `.gitignore`; npm's tree has `.npmignore`."""
    data = package_tarball({**PKG, ".gitignore": "dist\n"})
    integrity = Integrity.parse(sha512_integrity(data))
    entry = await ContentStore(cache).ensure(integrity, "a", "1.0.0", Served(data))
    assert (entry.path / ".npmignore").read_text() == "dist\n"
    assert not (entry.path / ".gitignore").exists()
    # What the previous store format kept for the same tarball.
    (entry.path / ".npmignore").rename(entry.path / ".gitignore")
    manifest = entry.path.parent / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc["weir"] = 2
    doc["files"] = [[".gitignore", *f[1:]] if f[0] == ".npmignore" else f for f in doc["files"]]
    manifest.write_text(json.dumps(doc))
    served = Served(data)
    again = await ContentStore(cache).ensure(integrity, "a", "1.0.0", served)
    assert served.calls == 1 and not again.reused
    assert sorted(p.name for p in again.path.iterdir()) == [".npmignore", "index.js", "package.json"]
