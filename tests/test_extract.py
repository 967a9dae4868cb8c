from __future__ import annotations

import io
import os
import stat
import tarfile
import uuid
import zlib
from pathlib import Path

import pytest
from loopback.tarballs import TarEntry, build_tar, build_tgz, gzip_bytes
from weir.core.errors import IntegrityError
from weir.core.store.extract import ExtractResult, Limits, extract


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


class Box:
    """tmp/outer/stage/pkg is the destination; anything escaping it shows up in tmp."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.dest = tmp / "outer" / "stage" / "pkg"
        self.dest.parent.mkdir(parents=True)
        self.before = tree(tmp)

    def run(self, data: bytes, **limits: int) -> ExtractResult:
        try:
            return extract(io.BytesIO(data), self.dest, limits=Limits(**limits))
        finally:
            self.assert_contained()

    def assert_contained(self) -> None:
        new = tree(self.tmp) - self.before
        outside = {p for p in new if not (self.tmp / p).is_relative_to(self.dest)}
        assert not outside, f"written outside the package: {outside}"
        links = [p for p in self.dest.rglob("*") if p.is_symlink()] if self.dest.exists() else []
        assert not links

    def files(self) -> dict[str, bytes]:
        return {
            str(p.relative_to(self.dest)): p.read_bytes() for p in self.dest.rglob("*") if p.is_file()
        }


@pytest.fixture
def box(tmp_path: Path) -> Box:
    return Box(tmp_path)


UMASK = os.umask(0o022)
os.umask(UMASK)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def raw_tgz(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    """For headers TarEntry cannot express (unknown types, ustar prefixes, huge sizes)."""
    out = b""
    for info, data in members:
        out += info.tobuf(tarfile.USTAR_FORMAT) + data + b"\0" * (-len(data) % 512)
    return gzip_bytes(out + b"\0" * 1024)


def test_honest_package(box: Box) -> None:
    result = box.run(
        build_tgz(
            [
                TarEntry("package/package.json", data='{"name":"a","version":"1.0.0"}'),
                TarEntry("package/lib/index.js", data="module.exports = 1\n"),
                TarEntry("package/bin/cli.js", data="#!/usr/bin/env node\n", mode=0o755),
            ]
        )
    )
    assert box.files() == {
        "package.json": b'{"name":"a","version":"1.0.0"}',
        "lib/index.js": b"module.exports = 1\n",
        "bin/cli.js": b"#!/usr/bin/env node\n",
    }
    assert [(f.path, f.executable) for f in result.files] == [
        ("bin/cli.js", True),
        ("lib/index.js", False),
        ("package.json", False),
    ]
    assert result.bytes == sum(len(v) for v in box.files().values())
    assert result.warnings == ()


@pytest.mark.parametrize(
    "name",
    [
        "package/../../x",
        "package/../x",
        "../x",
        "package/a/../../../x",
        f"/tmp/weir-abs-{uuid.uuid4().hex}",
        f"////tmp/weir-abs-{uuid.uuid4().hex}",
        "C:\\x",
        "c:../x",
        "package\\..\\..\\x",
        "package/..\\..\\x",
        "\\x",
    ],
)
def test_escaping_paths_are_dropped_with_a_warning(box: Box, name: str) -> None:
    result = box.run(build_tgz([TarEntry(name, data="evil"), TarEntry("package/ok.js", data="ok")]))
    assert box.files() == {"ok.js": b"ok"}
    assert any(repr(name) in w for w in result.warnings)
    if name.startswith("/"):
        assert not Path(name.lstrip("/")).is_absolute() and not Path("/" + name.lstrip("/")).exists()


def test_symlink_then_file_at_same_path_and_inside_it(box: Box, tmp_path: Path) -> None:
    target = tmp_path / "outer"
    result = box.run(
        build_tgz(
            [
                TarEntry("package/link", type="symlink", linkname=str(target / "owned")),
                TarEntry("package/link", data="regular"),
                TarEntry("package/dir", type="symlink", linkname="../.."),
                TarEntry("package/dir/x", data="inside"),
            ]
        )
    )
    assert box.files() == {"link": b"regular", "dir/x": b"inside"}
    assert not (target / "owned").exists()
    assert sum("symbolic link" in w for w in result.warnings) == 2


@pytest.mark.parametrize("linkname", ["/etc/passwd", "../../outside", "package/../../x", "package/a"])
def test_hardlinks_are_skipped(box: Box, linkname: str) -> None:
    result = box.run(
        build_tgz(
            [
                TarEntry("package/a", data="A"),
                TarEntry("package/h", type="hardlink", linkname=linkname),
            ]
        )
    )
    assert box.files() == {"a": b"A"}
    assert any("hard link" in w and linkname in w for w in result.warnings)


def test_devices_fifos_and_unknown_types_are_skipped(box: Box) -> None:
    unknown = tarfile.TarInfo("package/weird")
    unknown.type = b"Z"
    data = build_tar(
        [
            TarEntry("package/null", type="chardev", devmajor=1, devminor=3),
            TarEntry("package/sda", type="blockdev", devmajor=8),
            TarEntry("package/pipe", type="fifo"),
        ]
    )[:-1024] + unknown.tobuf(tarfile.USTAR_FORMAT) + build_tar([TarEntry("package/ok", data="1")])
    result = box.run(gzip_bytes(data))
    assert box.files() == {"ok": b"1"}
    text = "\n".join(result.warnings)
    for word in ("character device", "block device", "FIFO", "unknown type"):
        assert word in text


def test_case_and_unicode_colliding_names_do_not_crash(box: Box) -> None:
    nfc, nfd = "package/caf\u00e9.js", "package/cafe\u0301.js"
    result = box.run(
        build_tgz(
            [
                TarEntry("package/README", data="upper"),
                TarEntry("package/readme", data="lower"),
                TarEntry(nfc, data="nfc"),
                TarEntry(nfd, data="nfd"),
            ]
        )
    )
    on_disk = box.files()
    # Every listed file exists with the content of the last entry written to that name.
    for f in result.files:
        assert (box.dest / f.path).is_file()
        assert on_disk[f.path] == (box.dest / f.path).read_bytes()
    assert on_disk.get("readme") == b"lower" and on_disk.get("cafe\u0301.js") == b"nfd"
    assert len(result.files) == len(on_disk)


def test_too_deep_paths_are_dropped(box: Box) -> None:
    deep = "package/" + "a/" * 1025 + "f"
    result = box.run(build_tgz([TarEntry(deep, data="x"), TarEntry("package/ok", data="1")]))
    assert box.files() == {"ok": b"1"}
    assert any("deeper than" in w for w in result.warnings)


def test_depth_limit_is_a_limit(box: Box) -> None:
    result = box.run(build_tgz([TarEntry("package/a/b/c/d", data="x")]), depth=3)
    assert box.files() == {}
    assert any("deeper than 3" in w for w in result.warnings)


def test_nul_in_name_is_dropped(box: Box) -> None:
    entry = TarEntry("package/plain", data="x", pax={"path": "package/evil\0.js"})
    result = box.run(build_tgz([entry, TarEntry("package/ok", data="1")]))
    assert box.files() == {"ok": b"1"}
    assert any("NUL" in w for w in result.warnings)


def test_long_names_ustar_prefix_pax_and_gnu(box: Box) -> None:
    prefixed = "package/" + "p" * 140 + "/" + "n" * 95  # 244 chars: split into ustar prefix + name
    info = tarfile.TarInfo(prefixed)
    info.size = 3
    ustar = raw_tgz((info, b"pre"))
    long_pax = "package/" + "d" * 150 + "/" + "f" * 150
    long_gnu = "package/" + "g" * 150 + "/" + "h" * 150
    assert len(long_pax) > 300
    box.run(ustar)
    assert box.files() == {prefixed[len("package/") :]: b"pre"}
    other = Box(box.tmp / "second")
    other.run(
        build_tgz(
            [
                TarEntry(long_pax, data="pax"),
                TarEntry("package/short-header-name", data="gnu", gnu_longname=long_gnu),
            ]
        )
    )
    assert other.files() == {long_pax[8:]: b"pax", long_gnu[8:]: b"gnu"}


@pytest.mark.parametrize("size", ["abc", "-5", "99999999999999999999"])
def test_pax_bogus_size_is_corrupt_and_leaves_nothing(box: Box, size: str) -> None:
    data = build_tgz([TarEntry("package/a", data="hello" * 200, pax={"size": size}), TarEntry("package/b")])
    with pytest.raises(IntegrityError):
        box.run(data)
    assert not box.dest.exists()


def test_pax_bogus_path_is_judged_like_any_name(box: Box) -> None:
    result = box.run(build_tgz([TarEntry("package/innocent", data="x", pax={"path": "package/../../evil"})]))
    assert box.files() == {}
    assert any("evil" in w for w in result.warnings)


def test_duplicates_last_wins(box: Box) -> None:
    box.run(
        build_tgz(
            [
                TarEntry("package/a", data="first"),
                TarEntry("package/a", data="second", mode=0o755),
                TarEntry("package/d/inner", data="gone"),
                TarEntry("package/d", data="file now"),
                TarEntry("package/f", data="was a file"),
                TarEntry("package/f/x", data="dir now"),
            ]
        )
    )
    assert box.files() == {"a": b"second", "d": b"file now", "f/x": b"dir now"}
    assert mode_of(box.dest / "a") == 0o755 & ~UMASK


def test_duplicate_result_lists_each_path_once(box: Box) -> None:
    result = box.run(build_tgz([TarEntry("package/a", data="1"), TarEntry("package/a", data="22")]))
    assert [(f.path, f.size) for f in result.files] == [("a", 2)]


def test_top_folder_with_any_name_is_stripped(box: Box) -> None:
    result = box.run(
        build_tgz(
            [
                TarEntry("node-v1/package.json", data="{}"),
                TarEntry("./node-v1/x.js", data="x"),
                TarEntry("stray.js", data="s"),
            ]
        )
    )
    assert box.files() == {"package.json": b"{}", "node-v1/x.js": b"x"}
    assert any("stray.js" in w for w in result.warnings)


def _bomb(unpacked: int) -> bytes:
    info = tarfile.TarInfo("package/zeros")
    info.size = unpacked
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [comp.compress(info.tobuf(tarfile.USTAR_FORMAT))]
    chunk = b"\0" * (1 << 20)
    for _ in range(unpacked >> 20):
        out.append(comp.compress(chunk))
    out.append(comp.flush())
    return b"".join(out)


def test_gzip_bomb_aborts_and_cleans_up(box: Box) -> None:
    with pytest.raises(IntegrityError, match="ratio"):
        box.run(_bomb(32 << 20), ratio_floor=1 << 20)
    assert not box.dest.exists()


def test_total_size_limit_aborts_midway(box: Box) -> None:
    data = build_tgz([TarEntry(f"package/f{i}", data=os.urandom(4096)) for i in range(8)])
    with pytest.raises(IntegrityError, match="limit"):
        box.run(data, bytes=5 * 4096)
    assert not box.dest.exists()


def test_huge_declared_file_aborts_before_reading(box: Box) -> None:
    info = tarfile.TarInfo("package/huge")
    info.size = 4 << 30  # declared, never sent
    data = gzip_bytes(info.tobuf(tarfile.USTAR_FORMAT) + b"x" * 512)
    with pytest.raises(IntegrityError, match="declares"):
        box.run(data)
    assert not box.dest.exists()


def test_entry_count_limit(box: Box) -> None:
    data = build_tgz([TarEntry(f"package/f{i}") for i in range(20)])
    with pytest.raises(IntegrityError, match="entries"):
        box.run(data, entries=10)
    assert not box.dest.exists()


@pytest.mark.parametrize(
    "data",
    [
        build_tgz([TarEntry("package/a", data="x" * 5000)])[:-30],  # truncated
        build_tgz([TarEntry("package/a", data="x" * 5000)])[:40],
        build_tar([TarEntry("package/a", data="x")]),  # not gzip
        b"",
        b"\x1f\x8b" + b"garbage" * 10,
        gzip_bytes(b"this is not a tar archive at all" * 20),
    ],
    ids=["truncated-tail", "truncated-head", "plain-tar", "empty", "bad-gzip", "gzip-not-tar"],
)
def test_corrupt_data_is_an_integrity_error(box: Box, data: bytes) -> None:
    with pytest.raises(IntegrityError, match="corrupt"):
        box.run(data)
    assert not box.dest.exists()


def test_modes_are_normalized(box: Box) -> None:
    box.run(
        build_tgz(
            [
                TarEntry("package/d", type="dir", mode=0o700),
                TarEntry("package/d/all", data="1", mode=0o777),
                TarEntry("package/suid", data="2", mode=0o4755),
                TarEntry("package/none", data="3", mode=0o000),
                TarEntry("package/sticky", data="4", mode=0o1644),
            ]
        )
    )
    assert mode_of(box.dest / "d") == 0o755 & ~UMASK
    assert mode_of(box.dest / "d/all") == 0o755 & ~UMASK
    assert mode_of(box.dest / "suid") == 0o755 & ~UMASK
    assert mode_of(box.dest / "none") == 0o644 & ~UMASK
    assert mode_of(box.dest / "sticky") == 0o644 & ~UMASK


def test_destination_must_be_fresh(box: Box) -> None:
    box.dest.mkdir()
    (box.dest / "keep").write_text("mine")
    with pytest.raises(FileExistsError):
        box.run(build_tgz([TarEntry("package/keep", data="theirs")]))
    assert (box.dest / "keep").read_text() == "mine"


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        # Measured with npm 11.19.1 (`npm install ./x.tgz`) on the same tarballs.
        (
            [("package/.gitignore", "root-git"), ("package/lib/.gitignore", "lib-git"), ("package/lib/x.js", "x")],
            {".npmignore": b"root-git", "lib/.npmignore": b"lib-git", "lib/x.js": b"x"},
        ),
        ([("package/.npmignore", "np-first"), ("package/.gitignore", "git-second")], {".npmignore": b"np-first"}),
        ([("package/.gitignore", "git-first"), ("package/.npmignore", "np-second")], {".npmignore": b"np-second"}),
        (
            [("package/lib/.npmignore", "np"), ("package/.gitignore", "root"), ("package/lib/.gitignore", "lib"),
             ("package/sub/.GITIGNORE", "upper")],
            {".npmignore": b"root", "lib/.npmignore": b"np", "sub/.GITIGNORE": b"upper"},
        ),
    ],
    ids=["renamed-at-any-depth", "npmignore-first-wins", "npmignore-later-wins", "per-folder"],
)  # fmt: skip
def test_gitignore_lands_as_npmignore_as_pacote_extracts_it(
    box: Box, entries: list[tuple[str, str]], expected: dict[str, bytes]
) -> None:
    pkg = ("package/package.json", '{"name":"a","version":"1.0.0"}')
    result = box.run(build_tgz([TarEntry(name, data=data) for name, data in [pkg, *entries]]))
    files = box.files()
    assert files.pop("package.json")
    assert files == expected
    assert sorted(f.path for f in result.files) == sorted([*expected, "package.json"])
    assert result.warnings == ()
    assert {f.path: f.crc32 for f in result.files if f.path in expected} == {
        path: zlib.crc32(data) for path, data in expected.items()
    }
