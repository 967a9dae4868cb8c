"""Install paths: where a package sits in the tree, as package-lock.json keys name it.

An install path (npm calls it a location) is relative to the project, with
``/`` separators: ``""`` is the root, ``node_modules/a`` a top-level package,
``node_modules/a/node_modules/@s/b`` one nested inside it, ``packages/x`` a
workspace folder and ``packages/x/node_modules/c`` a package inside it. Every
stage slices these strings; this module is the one place that does, so the
lockfile, the selection, the linker, ``weir why`` and ``weir ls`` agree on
what a path's name, parent and depth are and where Node finds a dependency.

Pure string arithmetic: no I/O, nothing from the rest of weir.
"""

from __future__ import annotations

from collections.abc import Container

NODE_MODULES = "node_modules"
_NESTED = "/node_modules/"
_TOP = "node_modules/"


def child_path(parent: str, name: str) -> str:
    """Where ``name`` sits in ``parent``'s node_modules: ``("", "a")`` → ``node_modules/a``."""
    return f"{parent}/node_modules/{name}" if parent else f"node_modules/{name}"


def name_of(path: str) -> str:
    """The folder name a path installs as: ``node_modules/a/node_modules/@s/x`` → ``@s/x``
    (the path itself for a folder outside any node_modules, a workspace's)."""
    return path.rsplit(_TOP, 1)[-1]


def parent_of(path: str) -> str | None:
    """The install path of the package whose node_modules holds ``path`` (``""`` for the
    root's); None for a folder outside any node_modules (the root, a workspace)."""
    head, sep, _ = path.rpartition(_NESTED)
    if sep:
        return head
    if path.startswith(_TOP):
        return ""
    return None


def ancestors_of(path: str) -> list[str]:
    """The package folders ``path`` is nested in, outermost first (not the root):
    ``node_modules/a/node_modules/b/node_modules/c`` → ``[node_modules/a, node_modules/a/node_modules/b]``."""
    out = []
    i = path.find(_NESTED)
    while i != -1:
        out.append(path[:i])
        i = path.find(_NESTED, i + 1)
    return out


def container_of(path: str) -> str:
    """The ``node_modules`` folder holding ``path``: ``node_modules/a/node_modules/@s/b`` →
    ``node_modules/a/node_modules``."""
    return path[: path.rindex(_TOP) + len(NODE_MODULES)]


def is_inside(path: str, folder: str) -> bool:
    """True for a package nested, at any depth, in ``folder``'s node_modules."""
    return path.startswith(f"{folder}/node_modules/")


def in_node_modules(path: str) -> bool:
    """True for a package inside some node_modules (what the linker materializes); False
    for the root and workspace folders."""
    return path.startswith(_TOP) or _NESTED in path


def is_top_level(path: str) -> bool:
    """True for ``node_modules/<name>`` (``<name>`` may be ``@scope/x``): a root dependency's folder."""
    return path.startswith(_TOP) and _NESTED not in path[len(NODE_MODULES) :]


def depth(path: str) -> int:
    """How many node_modules deep ``path`` sits (0 for the root and workspace folders)."""
    return path.count(_TOP)


def resolve_location(packages: Container[str], path: str, name: str) -> str | None:
    """Where Node finds ``name`` required from the package at ``path``: its own
    node_modules, then each enclosing folder's up to the root's; None when no
    path in ``packages`` holds it. A workspace folder (``packages/x``) looks
    through the folders above it (a nested one through its enclosing
    workspace's node_modules), as Node walks directories.
    """
    here: str | None = path
    while here is not None:
        candidate = child_path(here, name)
        if candidate in packages:
            return candidate
        if here == "":
            return None
        parent = parent_of(here)
        here = parent if parent is not None else here.rpartition("/")[0]
    return None
