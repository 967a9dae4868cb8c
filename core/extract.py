"""Safe extraction of an npm tarball (.tgz) into a fresh directory.

Rules this module holds (DESIGN.md rule 5); weir never calls tarfile.extractall
and never lets tarfile write: tarfile only parses headers (it knows PAX, GNU
long names and ustar prefixes), this module creates every file itself.

1. The first path component is stripped whatever its name (``package/``,
   ``node/``, ``.``), as npm does. Entries with nothing left (the top folder
   itself, a file beside it) are skipped; a skipped file is warned about.
2. Only regular files and directories are written. Symlinks, hardlinks,
   devices, FIFOs, sparse files and unknown types are skipped with a warning,
   as npm skips links.
3. Entries are judged one at a time. An entry whose path cannot be placed
   safely inside the package is dropped with a warning naming it, and the
   rest of the package is extracted (npm does the same): absolute paths
   (``/abs``, ``////abs``, ``\\abs``), drive paths (``C:\\x``, ``c:../x``), any
   backslash, any ``..`` component, a NUL, a name that is not UTF-8, longer
   than ``Limits.name`` bytes or deeper than ``Limits.depth`` components, and
   a name the filesystem refuses (ENAMETOOLONG, EILSEQ).
4. The tarball as a whole is refused (IntegrityError, and ``dest`` is
   removed, so nothing is left behind) when reading it could exhaust the
   machine or its bytes are broken: more than ``Limits.entries`` entries,
   more than ``Limits.bytes`` of file data (checked against each declared
   size *before* reading it), a decompression ratio above ``Limits.ratio``
   once past ``Limits.ratio_floor`` bytes, a negative size, non-gzip,
   truncated or otherwise corrupt data.
5. Each file's sha1 is computed while it is written (the bytes are in hand)
   and returned, so the content store can deep-check an entry later.
6. Modes are normalized: directories 0755, files 0755 if the tarball gave any
   execute bit else 0644, minus the process umask as npm does; never
   setuid, setgid or sticky. ``bin`` targets are made executable by the linker.
7. Files are opened with O_CREAT|O_EXCL|O_NOFOLLOW inside a directory this
   call created and that only ever holds regular files and directories, so no
   write can go through a symlink. Duplicate entries: the last one wins (a
   file replaces an earlier file or directory at its path, a directory
   replaces an earlier file). Names that differ only by case or Unicode
   normalization are written as the filesystem allows: both on Linux, the
   later one on a case-insensitive volume.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import stat
import tarfile
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from weir.core.errors import FilesystemError, IntegrityError

MAX_ENTRIES = 100_000
MAX_BYTES = 1 << 30  # 1 GiB of file data
MAX_NAME = 4096  # bytes, as PATH_MAX
MAX_DEPTH = 256  # path components
MAX_RATIO = 200  # unpacked / compressed
RATIO_FLOOR = 8 << 20  # the ratio is enforced once this much is unpacked
MAX_WARNINGS = 100  # further warnings are summarized in one line

_CHUNK = 1 << 20
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_WRITABLE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)
_DRIVE = re.compile(r"^[A-Za-z]:")
_NAME_ERRNOS = {errno.ENAMETOOLONG, errno.EILSEQ, errno.EINVAL}
_KIND = {
    tarfile.SYMTYPE: "symbolic link",
    tarfile.LNKTYPE: "hard link",
    tarfile.CHRTYPE: "character device",
    tarfile.BLKTYPE: "block device",
    tarfile.FIFOTYPE: "FIFO",
    tarfile.GNUTYPE_SPARSE: "sparse file",
}


@dataclass(frozen=True, slots=True)
class Limits:
    entries: int = MAX_ENTRIES
    bytes: int = MAX_BYTES
    name: int = MAX_NAME
    depth: int = MAX_DEPTH
    ratio: int = MAX_RATIO
    ratio_floor: int = RATIO_FLOOR


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str  # relative, "/"-separated, inside the package
    size: int
    executable: bool
    sha1: str  # hex of the file's bytes: lets the content store detect a damaged file on demand


@dataclass(frozen=True, slots=True)
class ExtractResult:
    files: tuple[FileEntry, ...]  # sorted by path
    bytes: int  # total size of the files written
    warnings: tuple[str, ...]


LIMITS = Limits()


def extract(source: IO[bytes], dest: Path, *, limits: Limits = LIMITS) -> ExtractResult:
    """Extract the gzip tarball read from ``source`` into ``dest``, which must not exist yet.

    On any error ``dest`` is removed before the error propagates.
    """
    os.mkdir(dest, 0o755)
    try:
        return _Extraction(source, str(dest), limits).run()
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise


def corrupt(why: str) -> IntegrityError:
    return IntegrityError(
        f"corrupt tarball: {why}",
        hint="the downloaded bytes are not a usable npm tarball; clear the cache entry and retry, or report it",
    )


def refused(why: str) -> IntegrityError:
    return IntegrityError(
        f"tarball refused: {why}",
        hint="the package exceeds weir's extraction limits; this looks hostile, report it to the registry",
    )


class _Gunzip:
    """A read()-able view of the decompressed stream that enforces size and ratio (rule 4)."""

    def __init__(self, source: IO[bytes], limits: Limits) -> None:
        self._source = source
        self._limits = limits
        # File data plus tar headers: a header block and PAX/long-name records per entry.
        self._cap = limits.bytes + (limits.entries + 2) * 2048
        self._d: zlib._Decompress | None = zlib.decompressobj(31)
        self._tail = b""
        self._eof = False
        self._started = False
        self.compressed = 0
        self.unpacked = 0

    def _fill(self) -> bool:
        chunk = self._source.read(1 << 16)
        if not chunk:
            return False
        if not self._started:
            self._started = True
            if not chunk.startswith(b"\x1f\x8b"):
                raise corrupt("not gzip data")
        self.compressed += len(chunk)
        self._tail += chunk
        return True

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = _CHUNK
        parts: list[bytes] = []
        got = 0
        while got < n and not self._eof:
            if self._d is None or self._d.eof:
                if self._d is not None:  # a gzip member ended: what follows is padding or another member
                    self._tail, self._d = self._d.unused_data + self._tail, None
                if not self._tail.strip(b"\0"):
                    self._tail = b""
                    if not self._fill():
                        self._eof = True
                    continue
                self._d = zlib.decompressobj(31)
            if not self._tail and not self._fill():
                raise corrupt("truncated gzip data" if self._started else "empty file")
            try:
                data = self._d.decompress(self._tail, n - got)
            except zlib.error as e:
                raise corrupt(f"gzip: {e}") from None
            self._tail = self._d.unconsumed_tail
            if data:
                parts.append(data)
                got += len(data)
                self.unpacked += len(data)
                self._check()
        return b"".join(parts)

    def _check(self) -> None:
        lim = self._limits
        if self.unpacked > self._cap:
            raise refused(f"unpacks to more than {lim.bytes} bytes")
        if self.unpacked > lim.ratio_floor and self.unpacked > lim.ratio * self.compressed:
            raise refused(f"decompression ratio above {lim.ratio}:1 (a gzip bomb?)")

    def drain(self) -> None:
        """Read to the end so a truncated or damaged gzip trailer is still noticed."""
        while self.read(_CHUNK):
            pass


class _Extraction:
    def __init__(self, source: IO[bytes], dest: str, limits: Limits) -> None:
        self.gz = _Gunzip(source, limits)
        self.dest = dest
        self.limits = limits
        self.umask = _umask()
        self.files: dict[str, FileEntry] = {}
        self.folded: dict[str, str] = {}  # case/NFC-folded path -> path, for collision bookkeeping
        self.dirs: set[str] = {""}
        self.written = 0
        self.warnings: list[str] = []
        self.dropped_warnings = 0

    def run(self) -> ExtractResult:
        try:
            tf = tarfile.open(  # type: ignore[call-overload]  # noqa: SIM115 - reads a stream we own
                fileobj=self.gz, mode="r|", encoding="utf-8", bufsize=1 << 16, tarinfo=_StrictInfo
            )
            count = 0
            while (member := tf.next()) is not None:
                tf.members.clear()  # stream mode keeps every header otherwise
                count += 1
                if count > self.limits.entries:
                    raise refused(f"more than {self.limits.entries} entries")
                self._entry(tf, member)
            self.gz.drain()
        except IntegrityError:
            raise
        except (tarfile.TarError, EOFError, zlib.error, UnicodeError, ValueError, OverflowError) as e:
            raise corrupt(str(e) or type(e).__name__) from None
        except OSError as e:
            raise FilesystemError(
                f"cannot extract into {self.dest}: {e.strerror or e}",
                hint="check free space and permissions of the cache directory",
            ) from e
        if self.dropped_warnings:
            self.warnings.append(f"... and {self.dropped_warnings} more entries skipped")
        files = tuple(sorted(self.files.values(), key=lambda f: f.path))
        return ExtractResult(files, sum(f.size for f in files), tuple(self.warnings))

    def warn(self, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        else:
            self.dropped_warnings += 1

    def _entry(self, tf: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        raw = member.name
        if member.size < 0:
            raise corrupt(f"negative size for {raw!r}")
        is_dir = member.isdir()
        if not is_dir and member.type not in _WRITABLE_TYPES:
            kind = _KIND.get(member.type, f"entry of unknown type {member.type!r}")
            target = f" -> {member.linkname}" if member.issym() or member.islnk() else ""
            self.warn(f"{raw!r}: {kind}{target} skipped")
            return
        rel, problem = self._place(raw)
        if problem:
            self.warn(f"{raw!r}: {problem}, skipped")
            return
        if not rel:
            if not is_dir:
                self.warn(f"{raw!r}: file outside the package folder, skipped")
            return
        if not is_dir and member.size > self.limits.bytes - self.written:
            raise refused(f"{raw!r} declares {member.size} bytes, over the {self.limits.bytes}-byte limit")
        try:
            if is_dir:
                self._dir(rel)
            else:
                self._file(tf, member, rel)
        except OSError as e:
            if e.errno not in _NAME_ERRNOS:
                raise
            self.warn(f"{raw!r}: the filesystem refused the name ({e.strerror}), skipped")

    def _place(self, raw: str) -> tuple[str, str | None]:
        """The package-relative path for a tar name, or a reason to drop the entry (rule 3)."""
        if "\0" in raw:
            return "", "NUL in name"
        try:
            size = len(raw.encode("utf-8"))
        except UnicodeEncodeError:
            return "", "name is not valid UTF-8"
        if size > self.limits.name:
            return "", f"name longer than {self.limits.name} bytes"
        if raw.startswith(("/", "\\")):
            return "", "absolute path"
        if _DRIVE.match(raw):
            return "", "drive-letter path"
        if "\\" in raw:
            return "", "backslash in path"
        parts = raw.split("/")
        if ".." in parts:
            return "", "'..' in path"
        kept = [p for p in parts[1:] if p and p != "."]
        if len(kept) > self.limits.depth:
            return "", f"deeper than {self.limits.depth} directories"
        return "/".join(kept), None

    def _dir(self, rel: str) -> None:
        if rel in self.dirs:
            return
        parent = rel.rpartition("/")[0]
        self._dir(parent)
        full = f"{self.dest}/{rel}"
        try:
            os.mkdir(full, 0o755)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(full).st_mode):  # an earlier file entry: last wins
                os.unlink(full)
                self._forget_file(rel)
                os.mkdir(full, 0o755)
        self.dirs.add(rel)

    def _file(self, tf: tarfile.TarFile, member: tarfile.TarInfo, rel: str) -> None:
        self._dir(rel.rpartition("/")[0])
        full = f"{self.dest}/{rel}"
        if rel in self.dirs:  # an earlier directory entry at this path: last wins
            shutil.rmtree(full)
            self.dirs = {d for d in self.dirs if d != rel and not d.startswith(rel + "/")}
            for old in [f for f in self.files if f.startswith(rel + "/")]:
                self._forget_file(old)
        executable = bool(member.mode & 0o111)
        mode = 0o755 if executable else 0o644
        try:
            fd = os.open(full, _FILE_FLAGS, mode)
        except FileExistsError:  # a duplicate entry, or a case/normalization alias of one
            os.unlink(full)
            self._forget_file(self.folded.get(_fold(rel), rel))
            fd = os.open(full, _FILE_FLAGS, mode)
        digest = hashlib.sha1()
        try:
            remaining = member.size
            if remaining:
                src = tf.extractfile(member)
                assert src is not None  # regular members always have data
                while remaining:
                    data = src.read(min(remaining, _CHUNK))
                    if not data:
                        raise corrupt(f"unexpected end of data in {member.name!r}")
                    remaining -= len(data)
                    digest.update(data)
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        self.written += member.size
        self.files[rel] = FileEntry(rel, member.size, bool(mode & ~self.umask & 0o111), digest.hexdigest())
        self.folded[_fold(rel)] = rel

    def _forget_file(self, rel: str) -> None:
        if self.files.pop(rel, None) is not None:
            self.folded.pop(_fold(rel), None)


class _StrictInfo(tarfile.TarInfo):
    """tarfile ends the archive quietly at a damaged header past the first; weir calls it corrupt."""

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> _StrictInfo:
        try:
            return super().fromtarfile(tarfile_)  # type: ignore[return-value]
        except (tarfile.InvalidHeaderError, tarfile.TruncatedHeaderError) as e:  # type: ignore[attr-defined]
            raise corrupt(f"bad tar header: {e}") from None


def _fold(path: str) -> str:
    return unicodedata.normalize("NFC", path).casefold()


_UMASK: int | None = None


def _umask() -> int:
    """The process umask, read once (without the racy set-and-restore when /proc has it)."""
    global _UMASK
    if _UMASK is None:
        try:
            with open("/proc/self/status", encoding="ascii") as f:
                _UMASK = next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))
        except (OSError, StopIteration, ValueError):
            _UMASK = os.umask(0o022)
            os.umask(_UMASK)
    return _UMASK
