"""Hostile tarballs through `weir install`, end to end (SECURITY.md, "Extraction").

Entries that try to escape, links, devices and odd names are dropped with a
warning that names the package, and the rest of the package installs (npm
does the same). One install of every such package is shared by the module:
each case is its own test id over that run. Tarballs that could exhaust the
machine or are broken are refused as a whole (exit 6): those run one by one
and must leave the previous install exactly as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tarfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hardening_helpers import (
    BASE,
    Sandbox,
    State,
    assert_failed,
    cache_problems,
    events,
    publish_base,
)
from loopback import LoopbackRegistry, TarEntry, build_tar, build_tgz
from loopback.tarballs import gzip_bytes

ESC = "ESCAPE-weir-hardening"  # the name every escaping entry aims to create


def pkg_json(name: str) -> TarEntry:
    return TarEntry("package/package.json", data=json.dumps({"name": name, "version": "1.0.0"}))


def with_pkg(name: str, *entries: TarEntry, top: str = "package") -> bytes:
    return build_tgz([TarEntry(f"{top}/package.json", data=json.dumps({"name": name, "version": "1.0.0"})), *entries])


def unknown_type(name: str) -> bytes:
    odd = tarfile.TarInfo("package/weird")
    odd.type = b"Z"
    body = build_tar([pkg_json(name), TarEntry("package/ok.js", data="ok")])
    return gzip_bytes(body[:-1024] + odd.tobuf(tarfile.USTAR_FORMAT) + b"\0" * 1024)


@dataclass(frozen=True, slots=True)
class Case:
    """A tarball that installs with some entries dropped; ``check`` inspects node_modules/<name>."""

    id: str
    build: Callable[[str], bytes]
    warns: str | None  # a word the skip warning must contain; None: nothing is skipped
    check: Callable[[Path], None]


def only_ok(d: Path) -> None:
    assert (d / "ok.js").read_text() == "ok"


def _files(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*") if not p.is_dir()}


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.lstat().st_mode)


OK = TarEntry("package/ok.js", data="ok")
LONG_PAX = "d" * 150 + "/" + "f" * 150
LONG_GNU = "g" * 150 + "/" + "h" * 150

CASES = [
    Case("dotdot", lambda n: with_pkg(n, OK, TarEntry(f"package/../../../../../{ESC}", data="x")), "'..'", only_ok),
    Case("abs-slash", lambda n: with_pkg(n, OK, TarEntry(f"/tmp/{ESC}", data="x")), "absolute", only_ok),
    Case("abs-many-slashes", lambda n: with_pkg(n, OK, TarEntry(f"////tmp/{ESC}", data="x")), "absolute", only_ok),
    Case("drive-backslash", lambda n: with_pkg(n, OK, TarEntry(f"C:\\{ESC}", data="x")), "drive", only_ok),
    Case("drive-relative", lambda n: with_pkg(n, OK, TarEntry(f"c:../{ESC}", data="x")), "drive", only_ok),
    Case("backslash-dotdot", lambda n: with_pkg(n, OK, TarEntry(f"package\\..\\..\\{ESC}", data="x")), "backslash", only_ok),
    Case(
        "symlink-then-file",
        lambda n: with_pkg(n, OK, TarEntry("package/lnk", type="symlink", linkname="/tmp"), TarEntry("package/lnk", data="f")),
        "symbolic link",
        lambda d: (only_ok(d), _assert_regular(d / "lnk", "f")),
    ),
    Case(
        "symlink-then-inside",
        lambda n: with_pkg(
            n, OK, TarEntry("package/lnk", type="symlink", linkname="../../../.."), TarEntry("package/lnk/inside", data="f")
        ),
        "symbolic link",
        lambda d: (only_ok(d), _assert_regular(d / "lnk" / "inside", "f")),
    ),
    Case(
        "hardlink-absolute",
        lambda n: with_pkg(n, OK, TarEntry("package/h", type="hardlink", linkname="/etc/passwd")),
        "hard link",
        lambda d: (only_ok(d), _absent(d / "h")),
    ),
    Case(
        "hardlink-dotdot",
        lambda n: with_pkg(n, OK, TarEntry("package/h", type="hardlink", linkname="package/../../../canary/keep.txt")),
        "hard link",
        lambda d: (only_ok(d), _absent(d / "h")),
    ),
    Case("chardev", lambda n: with_pkg(n, OK, TarEntry("package/null", type="chardev", devmajor=1, devminor=3)), "character device", only_ok),
    Case("blockdev", lambda n: with_pkg(n, OK, TarEntry("package/sda", type="blockdev", devmajor=8)), "block device", only_ok),
    Case("fifo", lambda n: with_pkg(n, OK, TarEntry("package/pipe", type="fifo")), "FIFO", only_ok),
    Case("unknown-type", unknown_type, "unknown type", only_ok),
    Case(
        "case-collision",
        lambda n: with_pkg(n, TarEntry("package/README", data="upper"), TarEntry("package/readme", data="lower")),
        None,
        lambda d: (_assert_regular(d / "README", "upper"), _assert_regular(d / "readme", "lower")),
    ),
    Case(
        "unicode-normalization",
        lambda n: with_pkg(n, TarEntry("package/caf\u00e9.js", data="nfc"), TarEntry("package/cafe\u0301.js", data="nfd")),
        None,
        lambda d: (_assert_regular(d / "caf\u00e9.js", "nfc"), _assert_regular(d / "cafe\u0301.js", "nfd")),
    ),
    Case("depth-over-1024", lambda n: with_pkg(n, OK, TarEntry("package/" + "a/" * 1025 + ESC, data="x")), "deeper than", only_ok),
    Case("nul-in-name", lambda n: with_pkg(n, OK, TarEntry("package/plain", data="x", pax={"path": "package/evil\0.js"})), "NUL", only_ok),
    Case(
        "long-name-pax",
        lambda n: with_pkg(n, TarEntry(f"package/{LONG_PAX}", data="pax")),
        None,
        lambda d: _assert_regular(d / LONG_PAX, "pax"),
    ),
    Case(
        "long-name-gnu",
        lambda n: with_pkg(n, TarEntry("package/short", data="gnu", gnu_longname=f"package/{LONG_GNU}")),
        None,
        lambda d: (_assert_regular(d / LONG_GNU, "gnu"), _absent(d / "short")),
    ),
    Case(
        "pax-bogus-path",
        lambda n: with_pkg(n, OK, TarEntry("package/innocent", data="x", pax={"path": f"package/../../{ESC}"})),
        "'..'",
        lambda d: (only_ok(d), _absent(d / "innocent")),
    ),
    Case(
        "duplicates-last-wins",
        lambda n: with_pkg(n, TarEntry("package/ok.js", data="first"), TarEntry("package/ok.js", data="ok")),
        None,
        only_ok,
    ),
    Case("top-folder-not-package", lambda n: with_pkg(n, TarEntry("node/ok.js", data="ok"), top="node"), None, only_ok),
    Case(
        "modes-normalized",
        lambda n: with_pkg(
            n,
            TarEntry("package/all", data="1", mode=0o777),
            TarEntry("package/suid", data="2", mode=0o4755),
            TarEntry("package/none", data="3", mode=0o000),
        ),
        None,
        lambda d: _assert_modes(d),
    ),
]


def _assert_regular(p: Path, text: str) -> None:
    assert not p.is_symlink() and p.is_file(), p
    assert p.read_text() == text


def _absent(p: Path) -> None:
    assert not os.path.lexists(p), p


def _assert_modes(d: Path) -> None:
    umask = 0o022
    assert _mode(d / "all") == 0o755 & ~umask
    assert _mode(d / "suid") == 0o755 & ~umask  # never setuid
    assert _mode(d / "none") == 0o644 & ~umask


@dataclass(frozen=True, slots=True)
class SharedRun:
    box: Sandbox
    out: Any
    warnings: list[dict[str, Any]]
    before: State


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedRun]:
    """One registry holding every case, one install of all of them on top of a base install."""
    with LoopbackRegistry() as registry:
        publish_base(registry)
        for case in CASES:
            registry.add_tarball_bytes(f"h-{case.id}", "1.0.0", case.build(f"h-{case.id}"))
        box = Sandbox(tmp_path_factory.mktemp("extraction"), registry)
        before = box.install_base()
        deps = dict(BASE["dependencies"], **{f"h-{c.id}": "1.0.0" for c in CASES})
        box.write_project(dict(BASE, dependencies=deps))
        box.mark_outside()
        out = box.weir("install", "--reporter", "ndjson")
        warned = [e for e in events(out.stdout) if e["type"] == "Warned"]
        yield SharedRun(box, out, warned, before)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_entries_are_dropped_and_the_rest_installs(shared: SharedRun, case: Case) -> None:
    box, name = shared.box, f"h-{case.id}"
    assert shared.out.returncode == 0, shared.out.stderr
    mine = [w for w in shared.warnings if w.get("package", "").startswith(f"{name}@")]
    if case.warns is None:
        assert not mine, mine
    else:
        assert any(case.warns in w["message"] for w in mine), (case.warns, mine)
    case.check(box.project / "node_modules" / name)
    # nothing escaped: no ESCAPE file anywhere in the sandbox, none in /tmp
    assert not list(box.root.rglob(f"*{ESC}*")) and not os.path.lexists(f"/tmp/{ESC}")
    box.assert_outside_untouched()
    assert not cache_problems(box.cache)
    assert (box.project / "node_modules/.package-lock.json").is_file()  # the new state is complete
    assert (box.project / "node_modules/base/index.js").is_file()


# -- refused as a whole ---------------------------------------------------------------------


def _bomb(name: str) -> bytes:
    """16 MiB of zeros in one file: > 200:1 once past the 8 MiB floor."""
    info = tarfile.TarInfo("package/zeros")
    info.size = 16 << 20
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [comp.compress(build_tar([pkg_json(name)])[:-1024]), comp.compress(info.tobuf(tarfile.USTAR_FORMAT))]
    zeros = b"\0" * (1 << 20)
    parts += [comp.compress(zeros) for _ in range(16)]
    parts.append(comp.compress(b"\0" * 1024))
    parts.append(comp.flush())
    return b"".join(parts)


def _huge_declared(name: str) -> bytes:
    info = tarfile.TarInfo("package/huge")
    info.size = 4 << 30
    return gzip_bytes(build_tar([pkg_json(name)])[:-1024] + info.tobuf(tarfile.USTAR_FORMAT) + b"x" * 512)


REFUSED: dict[str, tuple[Callable[[str], bytes], str]] = {
    "gzip-bomb": (_bomb, "ratio"),
    "huge-declared-file": (_huge_declared, "declares"),
    "truncated": (lambda n: with_pkg(n, TarEntry("package/a", data=os.urandom(3000).hex()))[:-200], "corrupt"),
    "not-gzip": (lambda n: b"PK\x03\x04 this is a zip, not a tarball" * 10, "not gzip"),
    "pax-bogus-size": (lambda n: with_pkg(n, TarEntry("package/a", data="hello" * 200, pax={"size": "abc"})), "corrupt"),
}


@pytest.fixture(scope="module")
def refusing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LoopbackRegistry, Path]]:
    """A registry with base and every refused tarball, and a base install to copy for each case."""
    with LoopbackRegistry() as registry:
        publish_base(registry)
        for case_id, (build, _word) in REFUSED.items():
            registry.add_tarball_bytes(f"r-{case_id}", "1.0.0", build(f"r-{case_id}"))
        template = Sandbox(tmp_path_factory.mktemp("refused-template"), registry)
        template.install_base()
        yield registry, template.root


@pytest.mark.parametrize("case_id", list(REFUSED))
def test_unusable_tarballs_are_refused_and_lose_nothing(
    refusing: tuple[LoopbackRegistry, Path], tmp_path: Path, case_id: str
) -> None:
    registry, template = refusing
    box = Sandbox(tmp_path, registry)
    for part in ("project", "cache"):
        shutil.copytree(template / part, tmp_path / part, symlinks=True, dirs_exist_ok=True)
    name = f"r-{case_id}"
    box.write_project(dict(BASE, dependencies=dict(BASE["dependencies"], **{name: "1.0.0"})))
    before = State.of(box.project)
    box.mark_outside()
    out = box.weir("install")
    assert_failed(out, 6, name)
    assert REFUSED[case_id][1] in out.stderr
    assert State.of(box.project) == before
    box.assert_outside_untouched()
    assert not cache_problems(box.cache, [REFUSED[case_id][0](name)])
    assert not list(box.cache.glob("content/*/*/*/package/zeros"))


# -- the project's own folders as traps ---------------------------------------------------------


@pytest.fixture
def box(registry: LoopbackRegistry, tmp_path: Path) -> Sandbox:
    publish_base(registry)
    registry.add("base", "1.1.0", bin={"base": "cli.js"})
    return Sandbox(tmp_path, registry)


def test_node_modules_symlink_is_refused(box: Sandbox) -> None:
    box.write_project(BASE)
    (box.project / "node_modules").symlink_to(box.canary / "node_modules")
    box.mark_outside()
    out = box.weir("install")
    assert_failed(out, 9, "node_modules")
    assert (box.project / "node_modules").is_symlink()
    box.assert_outside_untouched()
    assert not cache_problems(box.cache)


def test_package_folder_symlink_is_replaced_not_written_through(box: Sandbox) -> None:
    box.write_project(dict(BASE, dependencies={"base": "1.0.0"}))
    (box.project / "node_modules").mkdir()
    (box.project / "node_modules/base").symlink_to(box.canary)
    box.mark_outside()
    out = box.weir("install")
    assert out.returncode == 0, out.stderr
    assert not (box.project / "node_modules/base").is_symlink()
    assert (box.project / "node_modules/base/index.js").is_file()
    box.assert_outside_untouched()
    assert not cache_problems(box.cache)


def test_file_with_several_links_is_never_written_through(box: Sandbox) -> None:
    box.write_project(dict(BASE, dependencies={"base": "1.0.0"}))
    assert box.weir("install").returncode == 0
    target = box.project / "node_modules/base/index.js"
    target.unlink()
    os.link(box.canary / "keep.txt", target)  # someone hardlinked a file of theirs into node_modules
    (box.project / "node_modules/.package-lock.json").unlink()  # make weir re-check the tree
    box.write_project(dict(BASE, dependencies={"base": "1.1.0"}))
    box.mark_outside()
    out = box.weir("install")
    assert out.returncode == 0, out.stderr
    assert (box.canary / "keep.txt").read_text() == "must never change\n"
    assert "1.1.0" in target.read_text()
    box.assert_outside_untouched()
    assert not cache_problems(box.cache)
