"""A loopback npm registry for weir's tests: real HTTP on 127.0.0.1, declarative
packages, deterministic tarballs, scriptable faults and a request log.

    reg = LoopbackRegistry().start()
    reg.add("foo", "1.0.0", dependencies={"bar": "^1.0.0"})
    reg.fault("/foo", "status", status=503, retry_after=1)
    ...
    reg.stop()

Tests normally take the ``registry`` fixture from tests/conftest.py instead.
"""

from __future__ import annotations

from .catalog import ABBREVIATED_FIELDS, PublishedVersion
from .faults import FAULT_KINDS, Fault, FaultKind
from .graphs import add_small_graph
from .records import RequestRecord, Route
from .server import CORGI, LoopbackRegistry
from .tarballs import (
    TarEntry,
    build_tar,
    build_tgz,
    package_tarball,
    sha1_hex,
    sha512_integrity,
)

__all__ = [
    "ABBREVIATED_FIELDS",
    "CORGI",
    "FAULT_KINDS",
    "Fault",
    "FaultKind",
    "LoopbackRegistry",
    "PublishedVersion",
    "RequestRecord",
    "Route",
    "TarEntry",
    "add_small_graph",
    "build_tar",
    "build_tgz",
    "package_tarball",
    "sha1_hex",
    "sha512_integrity",
]
