"""Atomic writes of the project's own files, with the modes npm gives them.

Every file weir writes into a project (package.json, package-lock.json,
node_modules/.package-lock.json, the decisions record) goes through
``write_atomic``: a temp file in the same folder, fsync, rename. Rules:

1. A file that exists keeps its permission bits: a ``chmod 664 package.json``
   survives ``weir add``, as it survives ``npm install``.
2. A new file gets what ``open()`` would give it, 0666 minus the umask (0644
   under the usual 022), as npm's writes do. ``mkstemp`` alone would leave
   0600, readable by nobody else on a shared checkout.
3. A symlink is never written through or replaced (FilesystemError), and
   unchanged bytes are not rewritten (so mtimes move only on a change).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from weir.core.errors import FilesystemError

_UMASK: int | None = None


def process_umask() -> int:
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


def write_atomic(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` via temp + fsync + rename; False if unchanged."""
    if path.is_symlink():
        raise FilesystemError(
            f"{path} is a symlink; weir will not write through it",
            hint="replace the link with a regular file, or remove it",
        )
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        mode = 0o666 & ~process_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
