"""How files get from the content store into ``node_modules``: clone, hardlink or copy.

Rules this module holds:

1. Every file is created fresh inside a directory this install just made
   (``O_CREAT|O_EXCL|O_NOFOLLOW``, ``link()`` onto a new name). An existing
   file is never opened for writing, so nothing is written through a symlink
   or through a hardlink into the cache.
2. ``auto`` is decided once per install by ``probe_mode``: a reflink clone
   (FICLONE) if the target filesystem can, else a hardlink if cache and project
   share a device and a test link succeeds, else a copy.
3. A hardlink or clone that fails with EXDEV (the cache is on another
   filesystem after all) falls back to copying that file and every later one
   of the same package; the package then reports ``copy``.
4. The hardlink path is the hot one (perf-notes: one thread beats several):
   the directory set is computed first, each directory made once with
   ``mkdir`` in sorted order, then ``os.link`` runs in a tight loop over
   prebuilt strings.
5. Copies and clones get mode 0777/0666 minus the umask (executable or not),
   as extraction gave them; hardlinks share the store's inode and its mode.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Sequence
from typing import Literal

LinkMode = Literal["clone", "hardlink", "copy"]
RequestedMode = Literal["auto", "clone", "hardlink", "copy"]

FICLONE = 0x40049409  # _IOW(0x94, 9, int) from linux/fs.h
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# Errors that mean "this filesystem cannot clone", as opposed to a real I/O failure.
_NO_CLONE = {
    errno.EOPNOTSUPP,
    errno.ENOTTY,
    errno.EINVAL,
    errno.EXDEV,
    errno.ENOSYS,
    errno.EBADF,
}
_NO_COPY_RANGE = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP}


def copy_file(src: str, dst: str, executable: bool) -> None:
    """A new file at ``dst`` with ``src``'s bytes (in-kernel where possible)."""
    fd_in = os.open(src, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fd_out = os.open(dst, _NEW_FILE, 0o777 if executable else 0o666)
        try:
            _copy_fd(fd_in, fd_out, os.fstat(fd_in).st_size)
        finally:
            os.close(fd_out)
    finally:
        os.close(fd_in)


def _copy_fd(fd_in: int, fd_out: int, size: int) -> None:
    left = size
    try:
        while left > 0:
            n = os.copy_file_range(fd_in, fd_out, left)
            if n == 0:
                break
            left -= n
        if left <= 0:
            return
    except OSError as e:
        if e.errno not in _NO_COPY_RANGE:
            raise
    # The file may have been partly copied; continue from where the copy stopped.
    offset = size - left
    while True:
        data = os.pread(fd_in, 1 << 20, offset)
        if not data:
            return
        view = memoryview(data)
        while view:
            view = view[os.write(fd_out, view) :]
        offset += len(data)


def clone_file(src: str, dst: str, executable: bool) -> None:
    """A new file at ``dst`` sharing ``src``'s extents (FICLONE); OSError if unsupported."""
    fd_in = os.open(src, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fd_out = os.open(dst, _NEW_FILE, 0o777 if executable else 0o666)
        try:
            fcntl.ioctl(fd_out, FICLONE, fd_in)
        except OSError:
            os.close(fd_out)
            os.unlink(dst)
            raise
        os.close(fd_out)
    finally:
        os.close(fd_in)


def probe_mode(sample: str, target_dir: str) -> LinkMode:
    """The best mode from the store file ``sample`` into ``target_dir`` (rule 2)."""
    probe = os.path.join(target_dir, f".weir-tmp-probe-{os.getpid()}")
    try:
        os.unlink(probe)
    except FileNotFoundError:
        pass
    try:
        clone_file(sample, probe, False)
        return "clone"
    except OSError as e:
        if e.errno not in _NO_CLONE:
            raise
    if os.stat(sample).st_dev == os.stat(target_dir).st_dev:
        try:
            os.link(sample, probe)
            return "hardlink"
        except OSError as e:
            if e.errno not in (
                errno.EXDEV,
                errno.EPERM,
                errno.EMLINK,
                errno.EOPNOTSUPP,
            ):
                raise
        finally:
            try:
                os.unlink(probe)
            except FileNotFoundError:
                pass
    return "copy"


def walk_files(root: str) -> list[tuple[str, bool]]:
    """Every regular file under ``root`` as ``(relative path, executable)``, sorted.

    Used when the store gave no file list. Symlinks are skipped: extraction
    never creates them, so one found here is not the store's.
    """
    out: list[tuple[str, bool]] = []
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        with os.scandir(os.path.join(root, rel_dir) if rel_dir else root) as it:
            for entry in it:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                if entry.is_dir(follow_symlinks=False):
                    stack.append(rel)
                elif entry.is_file(follow_symlinks=False):
                    out.append(
                        (rel, bool(entry.stat(follow_symlinks=False).st_mode & 0o111))
                    )
    out.sort()
    return out


def directories_of(files: Sequence[tuple[str, bool]]) -> list[str]:
    """Every directory the files need (ancestors included), parents before children."""
    dirs: set[str] = set()
    for rel, _ in files:
        cut = rel.rfind("/")
        while cut > 0:
            parent = rel[:cut]
            if parent in dirs:
                break
            dirs.add(parent)
            cut = parent.rfind("/")
    return sorted(dirs)


def place_tree(
    src: str, dst: str, files: Sequence[tuple[str, bool]], mode: LinkMode
) -> LinkMode:
    """Create the new directory ``dst`` holding ``files`` from ``src``.

    Returns the mode actually used: ``mode``, or ``copy`` if EXDEV forced it (rule 3).
    """
    os.mkdir(dst, 0o777)
    for rel in directories_of(files):
        os.mkdir(f"{dst}/{rel}", 0o777)
    s = src + "/"
    d = dst + "/"
    if mode == "copy":
        for rel, exe in files:
            copy_file(s + rel, d + rel, exe)
        return "copy"
    place = os.link if mode == "hardlink" else None
    done = 0
    try:
        if place is not None:
            for rel, _ in files:
                place(s + rel, d + rel)
                done += 1
        else:
            for rel, exe in files:
                clone_file(s + rel, d + rel, exe)
                done += 1
        return mode
    except OSError as e:
        if e.errno != errno.EXDEV and not (mode == "clone" and e.errno in _NO_CLONE):
            raise
    for rel, exe in files[done:]:
        copy_file(s + rel, d + rel, exe)
    return "copy"
