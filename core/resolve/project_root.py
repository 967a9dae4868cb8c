"""Where the project root is, as npm finds it (workspaces rule 2), for every command's start.

Apart from ``weir.core.resolve.workspaces`` so that finding the root imports
nothing but the standard library until an ancestor folder holds a
package.json: workspaces imports the lockfile and package.json models (about
15 ms of dataclasses and patterns), and a no-op install is ~100 ms in all.
"""

from __future__ import annotations

from pathlib import Path

from weir.core.errors import WeirError

__all__ = ["find_root"]


def find_root(start: Path) -> tuple[Path, Path | None]:
    """(project root, the workspace folder ``start`` is in, if any), as npm finds them."""
    start = start.resolve()
    prefix = next((p for p in (start, *start.parents) if (p / "package.json").is_file() or (p / "node_modules").is_dir()), None)
    if prefix is None:
        return start, None
    for ancestor in prefix.parents:
        if not (ancestor / "package.json").is_file():
            continue
        from weir.core.npm.package_json import read_package_json
        from weir.core.resolve.workspaces import workspace_folders

        try:
            patterns = read_package_json(ancestor / "package.json").workspaces
            members = workspace_folders(ancestor, patterns) if patterns else []
        except WeirError:
            continue  # npm moves on past a package.json it cannot read
        if any(ancestor / ws.location == prefix for ws in members):
            return ancestor, prefix
    return prefix, None
