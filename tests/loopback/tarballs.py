"""Byte-exact .tgz builders: honest package tarballs and hostile ones.

Rules this module keeps:
- Output is deterministic: fixed mtime (npm's 1985-10-26 08:15 UTC), uid/gid 0,
  no user names, a gzip header with mtime 0 and no file name. The same input
  always gives the same bytes, so integrity values are stable across runs.
- Every header is written exactly as the TarEntry asks, even when that is
  malicious (``../`` names, absolute paths, links out of the tree, device
  nodes, pax or GNU long-name records that disagree with the ustar name).
  Validation is the extractor's job; this module exists to attack it.
- Honest package tarballs look like ``npm pack`` output: regular files only,
  every path under ``package/``, entries sorted by path.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

NPM_MTIME = 499162500  # 1985-10-26T08:15:00Z, the timestamp npm pack writes
BLOCK = 512

EntryType = Literal["file", "dir", "symlink", "hardlink", "chardev", "blockdev", "fifo"]

_TYPES: dict[str, bytes] = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "chardev": tarfile.CHRTYPE,
    "blockdev": tarfile.BLKTYPE,
    "fifo": tarfile.FIFOTYPE,
}


@dataclass(frozen=True, slots=True)
class TarEntry:
    """One archive member, written verbatim.

    ``pax`` adds per-entry pax extended headers (``{"path": "../x"}`` overrides
    the ustar name for readers that honour pax). ``gnu_longname`` emits a GNU
    ``././@LongLink`` record carrying that name before this header, whatever
    ``name`` says.
    """

    name: str
    type: EntryType = "file"
    data: bytes | str = b""
    mode: int | None = None
    linkname: str = ""
    pax: Mapping[str, str] | None = None
    gnu_longname: str | None = None
    devmajor: int = 0
    devminor: int = 0

    def payload(self) -> bytes:
        return self.data.encode() if isinstance(self.data, str) else self.data


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % BLOCK)


def _header(entry: TarEntry) -> bytes:
    info = tarfile.TarInfo(entry.name)
    info.type = _TYPES[entry.type]
    info.size = len(entry.payload()) if entry.type == "file" else 0
    info.mode = (
        entry.mode
        if entry.mode is not None
        else (0o755 if entry.type == "dir" else 0o644)
    )
    info.linkname = entry.linkname
    info.mtime = NPM_MTIME
    info.devmajor, info.devminor = entry.devmajor, entry.devminor
    if entry.gnu_longname is not None:
        longname = entry.gnu_longname.encode() + b"\0"
        link = tarfile.TarInfo("././@LongLink")
        link.type = tarfile.GNUTYPE_LONGNAME
        link.size = len(longname)
        return (
            link.tobuf(tarfile.GNU_FORMAT)
            + _pad(longname)
            + info.tobuf(tarfile.GNU_FORMAT)
        )
    if entry.pax:
        info.pax_headers = dict(entry.pax)
    return info.tobuf(tarfile.PAX_FORMAT)


def build_tar(entries: Iterable[TarEntry]) -> bytes:
    """Uncompressed tar bytes, entries in the order given, with the end-of-archive blocks."""
    parts = []
    for entry in entries:
        parts.append(_header(entry))
        if entry.type == "file":
            parts.append(_pad(entry.payload()))
    parts.append(b"\0" * (2 * BLOCK))
    return b"".join(parts)


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip (mtime 0, no file name)."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def build_tgz(entries: Iterable[TarEntry]) -> bytes:
    """The .tgz of ``entries``; usable on its own by extraction tests."""
    return gzip_bytes(build_tar(entries))


def package_tarball(files: Mapping[str, bytes | str]) -> bytes:
    """An ``npm pack``-shaped tarball: ``package/<path>`` regular files, sorted."""
    return build_tgz(
        TarEntry(f"package/{path}", data=files[path]) for path in sorted(files)
    )


def sha512_integrity(data: bytes) -> str:
    """Subresource-integrity string as npm writes it in ``dist.integrity``."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def sha1_hex(data: bytes) -> str:
    """``dist.shasum``: the legacy sha1 of the tarball bytes."""
    return hashlib.sha1(data).hexdigest()
