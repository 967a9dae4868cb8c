"""Integrity and the content cache through `weir install` / `weir ci` (SECURITY.md, "Integrity and cache").

The lockfile's integrity is the contract: bytes that do not match it are
refused before extraction; a lockfile integrity weir cannot check is a hard
error; the cache is trusted by size on a normal install and deep-checked
(sha1 of every file) by `weir ci`, which rebuilds what it finds damaged.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hardening_helpers import (
    Sandbox,
    State,
    assert_failed,
    cache_problems,
    shared_install_fixtures,
    sri,
)
from loopback import LoopbackRegistry, package_tarball

reg, template, box = shared_install_fixtures()


BASE_FILES = {"cli.js": "#!/usr/bin/env node\nconsole.log('base');\n", "index.js": "module.exports = 'base@1.0.0';\n"}


def base_bytes() -> bytes:
    manifest = {"name": "base", "version": "1.0.0", "bin": {"base": "cli.js"}}
    return package_tarball({**BASE_FILES, "package.json": json.dumps(manifest, indent=2) + "\n"})


def set_lock_integrity(box: Sandbox, value: str | None) -> None:
    path = box.project / "package-lock.json"
    lock = json.loads(path.read_text())
    if value is None:
        lock["packages"]["node_modules/base"].pop("integrity", None)
    else:
        lock["packages"]["node_modules/base"]["integrity"] = value
    path.write_text(json.dumps(lock, indent=2) + "\n")


def ci_in_fresh_cache(box: Sandbox) -> tuple[object, State]:
    for p in box.cache.iterdir():
        import shutil

        shutil.rmtree(p)
    before = State.of(box.project)
    box.mark_outside()
    return box.weir("ci"), before


def test_tarball_not_matching_the_lockfile_is_refused(box: Sandbox) -> None:
    set_lock_integrity(box, sri(b"other bytes"))
    out, before = ci_in_fresh_cache(box)
    assert_failed(out, 6, "base")  # type: ignore[arg-type]
    assert State.of(box.project) == before
    box.assert_outside_untouched()
    assert not cache_problems(box.cache, [base_bytes()])
    assert not list(box.cache.glob("content/*/*/*"))


@pytest.mark.parametrize(
    "integrity",
    [
        pytest.param(lambda data: sri(data, "sha1"), id="sha1-only"),
        pytest.param(lambda data: f"{sri(b'no')} {sri(data)}", id="multi-hash-any-match"),
        pytest.param(lambda data: f"{sri(data)} {sri(data, 'sha1')}", id="sha512-and-sha1"),
    ],
)
def test_accepted_integrity_forms(box: Sandbox, integrity) -> None:  # type: ignore[no-untyped-def]
    set_lock_integrity(box, integrity(base_bytes()))
    out, _ = ci_in_fresh_cache(box)
    assert out.returncode == 0, out.stderr  # type: ignore[attr-defined]
    assert (box.project / "node_modules/base/index.js").is_file()
    box.assert_outside_untouched()
    assert not cache_problems(box.cache)


@pytest.mark.parametrize(
    "integrity",
    ["", "md5-" + "A" * 22 + "==", "sha512-not*base64", "garbage"],
    ids=["empty", "md5-only", "malformed-sha512", "garbage"],
)
def test_uncheckable_lockfile_integrity_is_a_hard_error(box: Sandbox, integrity: str) -> None:
    set_lock_integrity(box, integrity)
    out, before = ci_in_fresh_cache(box)
    assert out.returncode in (3, 6), out.stderr  # type: ignore[attr-defined]
    assert_failed(out, out.returncode, "base")  # type: ignore[arg-type, attr-defined]
    assert State.of(box.project) == before
    box.assert_outside_untouched()
    assert not cache_problems(box.cache, [base_bytes()])
    assert not list(box.cache.glob("content/*/*/*"))


def test_lockfile_and_packument_disagreement_is_refused(reg: LoopbackRegistry, box: Sandbox) -> None:
    """The pinned tarball is checked against the lockfile's hash and refused. (The registry's copy
    may already be downloaded by the pipelined fetch, verified against the packument: see SECURITY.md.)"""
    set_lock_integrity(box, sri(b"what the lockfile remembers"))
    (box.project / "node_modules/.package-lock.json").unlink()
    before = State.of(box.project)
    box.mark_outside()
    out = box.weir("install")
    assert_failed(out, 6, "base")
    assert not cache_problems(box.cache)
    assert State.of(box.project) == before
    box.assert_outside_untouched()


def _flip_a_byte(box: Sandbox) -> Path:
    (stored,) = box.cache.glob("content/*/*/*/package/index.js")
    data = bytearray(stored.read_bytes())
    data[0] ^= 0x20
    stored.write_bytes(bytes(data))
    return stored


def test_flipped_byte_in_the_cache_is_refetched_by_ci(reg: LoopbackRegistry, box: Sandbox) -> None:
    stored = _flip_a_byte(box)
    box.mark_outside()
    tarballs = len(reg.tarball_requests("base"))
    out = box.weir("ci")
    assert out.returncode == 0, out.stderr
    assert len(reg.tarball_requests("base")) == tarballs + 1
    assert (box.project / "node_modules/base/index.js").read_text() == BASE_FILES["index.js"]
    assert stored.read_text() == BASE_FILES["index.js"]
    box.assert_outside_untouched()
    assert not cache_problems(box.cache)


def test_flipped_byte_in_the_cache_with_offline_is_an_error(box: Sandbox) -> None:
    _flip_a_byte(box)
    before = State.of(box.project)
    box.mark_outside()
    out = box.weir("ci", "--offline")
    assert_failed(out, 4, "base", "offline")
    assert State.of(box.project) == before
    box.assert_outside_untouched()
    assert not cache_problems(box.cache)


def test_incomplete_cache_entry_is_rebuilt(reg: LoopbackRegistry, box: Sandbox) -> None:
    (manifest,) = box.cache.glob("content/*/*/*/manifest.json")
    manifest.unlink()
    tarballs = len(reg.tarball_requests("base"))
    out = box.weir("ci")
    assert out.returncode == 0, out.stderr
    assert manifest.is_file()
    assert len(reg.tarball_requests("base")) == tarballs + 1
    assert not cache_problems(box.cache)
