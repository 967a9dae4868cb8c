"""package.json fields every stage reads the same way: the dependency fields and ``funding``.

Kept apart from ``package_json`` (which parses and writes the file) so the no-op
check can name the dependency fields without importing the parser.
"""

from __future__ import annotations

from typing import Any, Literal

EdgeKind = Literal["prod", "dev", "optional", "peer"]

# The four fields a package declares dependencies in, in the order npm writes them.
DEPENDENCY_FIELDS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")

# The same fields as edges, in the order arborist reads them: a name in a later field
# replaces the edge an earlier one gave (optional over prod over dev over peer).
EDGE_FIELDS: tuple[tuple[str, EdgeKind], ...] = (
    ("peerDependencies", "peer"),
    ("devDependencies", "dev"),
    ("dependencies", "prod"),
    ("optionalDependencies", "optional"),
)


def normalize_funding(value: Any) -> Any:
    """npm writes a bare funding URL as ``{"url": ...}`` (a package's, the root's and a
    workspace's alike); a list it writes as published, bare URLs included
    (uuid@10: ``["https://github.com/sponsors/broofa", ...]``)."""
    if isinstance(value, str):
        return {"url": value}
    return value
