"""Which lockfile entries get installed: npm's `--omit` rules plus platform checks.

One function for the installer and the no-op check, so both always agree on
what a complete node_modules holds. npm's rules: an entry flagged `dev` is
left out with `--omit dev`, `optional` with `--omit optional`, `devOptional`
only when both are omitted, `peer` with `--omit peer`; an optional entry
whose os/cpu/libc excludes this machine is never installed (npm keeps it in
package-lock.json but not in node_modules).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from weir.core.platform import supported


def is_installed(raw: Mapping[str, Any], omit: Collection[str]) -> bool:
    """Should this ``packages`` entry (npm's JSON shape) be in node_modules?"""
    if raw.get("dev") and "dev" in omit:
        return False
    if raw.get("optional") and "optional" in omit:
        return False
    if raw.get("devOptional") and "dev" in omit and "optional" in omit:
        return False
    if raw.get("peer") and "peer" in omit:
        return False
    if raw.get("optional") or raw.get("devOptional"):
        if not supported(raw.get("os"), raw.get("cpu"), raw.get("libc")):
            return False
    return True


def installed_paths(packages: Mapping[str, Mapping[str, Any]], omit: Collection[str]) -> list[str]:
    """The non-root paths of a lockfile's ``packages`` that belong in node_modules.

    A path whose parent package is left out is left out too (its folder
    would live inside the omitted one).
    """
    keep: list[str] = []
    kept: set[str] = set()
    for path in sorted(packages, key=lambda p: (p.count("node_modules/"), p)):
        if not path:
            continue
        parent = path.rsplit("/node_modules/", 1)[0] if "/node_modules/" in path else ""
        if parent and parent not in kept and parent.startswith("node_modules/"):
            continue
        if is_installed(packages[path], omit):
            keep.append(path)
            kept.add(path)
    return sorted(keep)
