"""package-lock.json v3: the tree as npm writes it, and the currency between stages.

The resolver produces a ``Lockfile``; the lockfile writer serializes it; the
linker diffs it against ``node_modules/.package-lock.json`` and materializes
it; ``weir ci`` reads it from disk. One shape for all of them, keyed by
install path exactly as npm keys ``packages`` (``""`` is the root,
``node_modules/a/node_modules/b`` a nested copy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class LockEntry:
    """One ``packages[path]`` entry. ``raw`` keeps every field npm wrote, so
    fields weir does not model survive a read/write round trip."""

    path: str  # "" for the root, else "node_modules/..." or a workspace folder
    name: str  # the real package name (for an alias, the target's name)
    version: str | None = None
    resolved: str | None = None
    integrity: str | None = None
    link: bool = False  # a symlink to a workspace / file: folder; `resolved` is the target
    dev: bool = False
    optional: bool = False
    dev_optional: bool = False
    peer: bool = False
    in_bundle: bool = False
    has_install_script: bool = False
    dependencies: dict[str, str] = field(default_factory=dict)
    optional_dependencies: dict[str, str] = field(default_factory=dict)
    peer_dependencies: dict[str, str] = field(default_factory=dict)
    bin: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Lockfile:
    name: str | None
    version: str | None
    lockfile_version: int = 3
    packages: dict[str, LockEntry] = field(default_factory=dict)
