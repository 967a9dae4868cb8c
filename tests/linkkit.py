"""Fake content-store packages and desired trees for the linker, bins and scripts tests."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from weir.core.linker import LinkSource
from weir.core.tree.lockfile import LockEntry, entry_from_json


class Store:
    """A directory of extracted packages, one per name@version, as the content store keeps them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def package(
        self,
        path: str,
        name: str,
        version: str,
        files: dict[str, str] | None = None,
        *,
        executable: tuple[str, ...] = (),
        manifest: dict[str, Any] | None = None,
        lock: dict[str, Any] | None = None,
        listed: bool = True,
    ) -> tuple[LockEntry, LinkSource]:
        folder = self.root / f"{name.replace('/', '+')}@{version}"
        doc = {"name": name, "version": version, **(manifest or {})}
        contents = {
            "package.json": json.dumps(doc),
            **(files or {"index.js": f"// {name}@{version}\n"}),
        }
        listing = []
        for rel, text in sorted(contents.items()):
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            exe = rel in executable
            os.chmod(target, 0o755 if exe else 0o644)
            listing.append((rel, exe))
        bare = name.split("/")[-1]
        raw = {
            "version": version,
            "resolved": f"https://registry.npmjs.org/{name}/-/{bare}-{version}.tgz",
            "integrity": f"sha512-{name}-{version}",
            **(lock or {}),
        }
        return entry_from_json(path, raw), LinkSource(
            folder, listing if listed else None
        )


def tree(
    *pairs: tuple[LockEntry, LinkSource], extra: tuple[LockEntry, ...] = ()
) -> tuple[dict[str, LockEntry], dict[str, LinkSource]]:
    root = entry_from_json("", {"name": "app", "version": "1.0.0"})
    desired = {"": root}
    sources = {}
    for entry, source in pairs:
        desired[entry.path] = entry
        sources[entry.path] = source
    for entry in extra:
        desired[entry.path] = entry
    return desired, sources
