"""weir.core.registry.manifest_store: per-registry entries, atomic writes, damaged entries read as missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from weir.core.registry.manifest_store import ManifestStore, StoredManifest

pytestmark = pytest.mark.anyio

ENTRY = StoredManifest(body=b'{"name":"@s/a"}', etag='"e1"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT", fetched_at=100.0, max_age=300.0)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_round_trip_per_registry(tmp_path: Path) -> None:
    store = ManifestStore(tmp_path)
    await store.write("https://r1.example/", "@s/a", ENTRY)
    assert await store.read("https://r1.example/", "@s/a") == ENTRY
    assert await store.read("https://r2.example/", "@s/a") is None  # registries never share entries
    assert await store.read("https://r1.example/", "@s/b") is None
    body, _meta = store.paths("https://r1.example/", "@s/a")
    assert body.parent.parent == tmp_path / "manifests" and body.read_bytes() == ENTRY.body
    assert not [p for p in body.parent.iterdir() if p.name.startswith(".tmp-")]


async def test_touch_keeps_the_body_and_updates_validators(tmp_path: Path) -> None:
    store = ManifestStore(tmp_path)
    await store.write("https://r/", "a", ENTRY)
    newer = StoredManifest(ENTRY.body, '"e2"', None, 200.0, None)
    await store.touch("https://r/", "a", newer)
    assert await store.read("https://r/", "a") == newer


@pytest.mark.parametrize("damage", ["truncate_body", "drop_body", "garble_meta", "drop_meta"])
async def test_damaged_entry_reads_as_missing(tmp_path: Path, damage: str) -> None:
    store = ManifestStore(tmp_path)
    await store.write("https://r/", "a", ENTRY)
    body, meta = store.paths("https://r/", "a")
    {
        "truncate_body": lambda: body.write_bytes(ENTRY.body[:5]),
        "drop_body": body.unlink,
        "garble_meta": lambda: meta.write_bytes(b'{"etag": '),
        "drop_meta": meta.unlink,
    }[damage]()
    assert await store.read("https://r/", "a") is None
    await store.write("https://r/", "a", ENTRY)  # the next fetch heals it
    assert await store.read("https://r/", "a") == ENTRY


async def test_a_200_with_the_stored_bytes_keeps_the_body_file(tmp_path: Path) -> None:
    """The public registry answers revalidations with 200 and the same body: only the validators change."""
    store = ManifestStore(tmp_path)
    body = b'{"name":"a","dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"dist":{"tarball":"https://r/a.tgz"}}}}'
    await store.write("https://r/", "a", StoredManifest(body, '"e1"', None, 100.0, None))
    body_path, _ = store.paths("https://r/", "a")
    before = (body_path.stat().st_ino, body_path.stat().st_mtime_ns)
    await store.write("https://r/", "a", StoredManifest(body, '"e2"', None, 200.0, None))
    again = await store.read("https://r/", "a")
    assert (body_path.stat().st_ino, body_path.stat().st_mtime_ns) == before
    assert again == StoredManifest(body, '"e2"', None, 200.0, None)
    changed = body.replace(b"1.0.0", b"2.0.0")
    await store.write("https://r/", "a", StoredManifest(changed, '"e3"', None, 300.0, None))
    assert await store.read("https://r/", "a") == StoredManifest(changed, '"e3"', None, 300.0, None)
