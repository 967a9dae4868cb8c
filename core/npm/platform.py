"""Does a package's `os` / `cpu` / `libc` field admit this machine? (npm's rules.)
And which node runs here, for `engines.node` (``running_node``).

npm reads each list as: an entry `!x` excludes x; plain entries, when any
exist, are the only ones allowed. Node's names are used (`linux`, `darwin`,
`win32`; `x64`, `arm64`, `ia32`; `glibc`, `musl`). A package that fails this
is skipped when optional and refused otherwise (EBADPLATFORM).
"""

from __future__ import annotations

import functools
import platform
import subprocess
import sys
from collections.abc import Sequence

_OS = {"linux": "linux", "darwin": "darwin", "win32": "win32", "cygwin": "win32", "freebsd": "freebsd"}
_CPU = {
    "x86_64": "x64",
    "amd64": "x64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "i386": "ia32",
    "i686": "ia32",
    "armv7l": "arm",
    "ppc64le": "ppc64",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


@functools.cache
def current() -> tuple[str, str, str | None]:
    """(os, cpu, libc) in Node's vocabulary."""
    os_name = _OS.get(sys.platform, sys.platform)
    machine = platform.machine().lower()
    cpu = _CPU.get(machine, machine)
    libc: str | None = None
    if os_name == "linux":
        name, _version = platform.libc_ver()
        libc = "glibc" if name == "glibc" else "musl"
    return os_name, cpu, libc


def allowed(values: Sequence[str] | str | None, actual: str | None) -> bool:
    """npm's checkList: `!x` denies, any plain entry makes the list an allow-list."""
    if not values:
        return True
    if isinstance(values, str):
        values = [values]
    plain = [v for v in values if isinstance(v, str) and not v.startswith("!")]
    denied = {v[1:] for v in values if isinstance(v, str) and v.startswith("!")}
    if actual is not None and actual in denied:
        return False
    if plain:
        return actual is not None and (actual in plain or "any" in plain)
    return True


def supported(os_field: Sequence[str] | str | None, cpu_field: Sequence[str] | str | None, libc_field: Sequence[str] | str | None = None) -> bool:
    """True when this machine satisfies the package's os, cpu and libc fields."""
    os_name, cpu, libc = current()
    if not allowed(os_field, os_name) or not allowed(cpu_field, cpu):
        return False
    # npm only checks libc on linux
    return os_name != "linux" or allowed(libc_field, libc)


@functools.cache
def running_node() -> str | None:
    """The version of the ``node`` on PATH (``20.19.0``), asked once per process and only when
    an engines check needs it; None when there is no node to ask. npm checks engines against
    the node running npm; weir's packages will run on this one."""
    try:
        out = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    version = out.stdout.strip().lstrip("v")
    return version or None
