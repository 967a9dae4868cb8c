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
