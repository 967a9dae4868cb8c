"""file: dependencies beyond the root's own: a file: folder's file: deps (relative to
that folder), conflicting links, and file: tarballs. The expected lockfiles are what
npm 11.19 wrote for the same projects (``npm install --offline``)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from fake_registry import FakeRegistry

from weir.core.config import Config
from weir.core.errors import InputError
from weir.core.tree.lockfile import dumps_lockfile, loads_lockfile
from weir.core.npm.package_json import read_package_json
from weir.core.resolve.resolver import resolve

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def write(root: Path, files: dict[str, Any]) -> None:
    for rel, doc in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc))


def pack(path: Path, manifest: dict[str, Any]) -> str:
    """An npm-pack-shaped tarball (``package/...``); returns its sha512 SRI."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in (("package/package.json", json.dumps(manifest).encode()), ("package/cli.js", b"#!/usr/bin/env node\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return "sha512-" + base64.b64encode(hashlib.sha512(buf.getvalue()).digest()).decode()


async def lock_of(project: Path, reg: FakeRegistry | None = None, lockfile: Any = None) -> dict[str, Any]:
    res = await resolve(read_package_json(project / "package.json"), project, registry=reg or FakeRegistry(), config=Config(), lockfile=lockfile)
    data = dumps_lockfile(res.lockfile)
    (project / "package-lock.json").write_bytes(data)
    return json.loads(data)["packages"]


async def test_a_file_folder_s_own_file_deps_are_linked_relative_to_it(tmp_path: Path) -> None:
    write(tmp_path, {
        "package.json": {"name": "proj", "version": "1.0.0", "dependencies": {"a": "file:./a"}},
        "a/package.json": {"name": "a", "version": "1.0.0", "dependencies": {"b": "file:../b"}},
        "b/package.json": {"name": "b", "version": "2.0.0", "dependencies": {"c": "file:./c"}, "license": "MIT"},
        "b/c/package.json": {"name": "c", "version": "3.0.0"},
    })
    assert await lock_of(tmp_path) == {
        "": {"name": "proj", "version": "1.0.0", "dependencies": {"a": "file:./a"}},
        "a": {"version": "1.0.0", "dependencies": {"b": "file:../b"}},
        "b": {"version": "2.0.0", "license": "MIT", "dependencies": {"c": "file:./c"}},
        "b/c": {"version": "3.0.0"},
        "node_modules/a": {"resolved": "a", "link": True},
        "node_modules/b": {"resolved": "b", "link": True},
        "node_modules/c": {"resolved": "b/c", "link": True},
    }


async def test_a_second_folder_under_a_taken_name_is_linked_under_its_dependent(tmp_path: Path) -> None:
    write(tmp_path, {
        "package.json": {"name": "proj", "version": "1.0.0", "workspaces": ["packages/*"], "dependencies": {"a": "file:./a", "b": "file:./b1"}},
        "a/package.json": {"name": "a", "version": "1.0.0", "dependencies": {"b": "file:../b2"}},
        "b1/package.json": {"name": "b", "version": "1.0.0"},
        "b2/package.json": {"name": "b", "version": "2.0.0"},
        "packages/foo/package.json": {"name": "foo", "version": "1.0.0"},
    })
    first = await lock_of(tmp_path)
    assert first == {
        "": {"name": "proj", "version": "1.0.0", "workspaces": ["packages/*"], "dependencies": {"a": "file:./a", "b": "file:./b1"}},
        "a": {"version": "1.0.0", "dependencies": {"b": "file:../b2"}},
        "a/node_modules/b": {"resolved": "b2", "link": True},
        "b1": {"name": "b", "version": "1.0.0"},
        "b2": {"name": "b", "version": "2.0.0"},
        "node_modules/a": {"resolved": "a", "link": True},
        "node_modules/b": {"resolved": "b1", "link": True},
        "node_modules/foo": {"resolved": "packages/foo", "link": True},
        "packages/foo": {"version": "1.0.0"},
    }
    before = (tmp_path / "package-lock.json").read_bytes()
    assert await lock_of(tmp_path, lockfile=loads_lockfile(before)) == first
    assert (tmp_path / "package-lock.json").read_bytes() == before


async def test_a_file_tarball_is_a_package_resolved_to_its_path_with_its_integrity(tmp_path: Path) -> None:
    integrity = pack(tmp_path / "vendor" / "x-1.0.0.tgz", {"name": "x", "version": "1.0.0", "license": "ISC", "bin": {"x": "cli.js"}, "dependencies": {"dep": "^1.0.0"}})
    write(tmp_path, {
        "package.json": {"name": "proj", "version": "1.0.0", "dependencies": {"a": "file:a", "b": "file:./bee"}},
        "a/package.json": {"name": "a", "version": "1.0.0", "dependencies": {"x": "file:../vendor/x-1.0.0.tgz"}, "devDependencies": {"d": "file:../d"}},
        "bee/package.json": {"name": "bee", "version": "2.0.0"},
        "d/package.json": {"name": "d", "version": "1.0.0"},
    })
    reg = FakeRegistry().add("dep", "1.0.0").add("dep", "1.1.0")
    first = await lock_of(tmp_path, reg)
    assert first == {
        "": {"name": "proj", "version": "1.0.0", "dependencies": {"a": "file:a", "b": "file:./bee"}},
        "a": {"version": "1.0.0", "dependencies": {"x": "file:../vendor/x-1.0.0.tgz"}, "devDependencies": {"d": "file:../d"}},
        "bee": {"name": "bee", "version": "2.0.0"},
        "d": {"version": "1.0.0", "dev": True},
        "node_modules/a": {"resolved": "a", "link": True},
        "node_modules/b": {"resolved": "bee", "link": True},
        "node_modules/d": {"resolved": "d", "link": True},
        "node_modules/dep": {"version": "1.1.0", "resolved": "https://fake.test/dep/-/dep-1.1.0.tgz", "integrity": "sha512-dep-1.1.0"},
        "node_modules/x": {
            "version": "1.0.0", "resolved": "file:vendor/x-1.0.0.tgz", "integrity": integrity,
            "license": "ISC", "dependencies": {"dep": "^1.0.0"}, "bin": {"x": "cli.js"},
        },
    }
    # seeded from its own lockfile, the tarball's pin is kept: same bytes
    before = (tmp_path / "package-lock.json").read_bytes()
    assert await lock_of(tmp_path, reg, lockfile=loads_lockfile(before)) == first
    assert (tmp_path / "package-lock.json").read_bytes() == before


async def test_a_missing_or_broken_tarball_names_the_dependency(tmp_path: Path) -> None:
    write(tmp_path, {"package.json": {"name": "proj", "version": "1.0.0", "dependencies": {"x": "file:x.tgz"}}})
    with pytest.raises(InputError) as missing:
        await lock_of(tmp_path)
    assert missing.value.package == "x" and "file:x.tgz" in missing.value.message
    (tmp_path / "x.tgz").write_bytes(b"not a tarball")
    with pytest.raises(InputError) as broken:
        await lock_of(tmp_path)
    assert broken.value.package == "x" and "not a readable package tarball" in broken.value.message
