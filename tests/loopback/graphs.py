"""Ready-made package sets for quick end-to-end tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .server import LoopbackRegistry


def add_small_graph(registry: LoopbackRegistry) -> LoopbackRegistry:
    """A handful of packages that exercise the common install paths:

    - ``a@1.0.0`` depends on ``b@^1.0.0``, ``c@^2.0.0`` and ``@scope/pkg@^1.0.0``;
    - ``b@1.0.0`` depends on ``c@^1.0.0``, so npm's tree hoists ``c@2.0.0`` and
      nests ``c@1.1.0`` under ``b``;
    - ``c`` has 1.0.0, 1.1.0 and 2.0.0 (latest 2.0.0);
    - ``tool@1.0.0`` has a bin ``tool`` -> ``cli.js``;
    - ``@scope/pkg@1.0.0`` is a scoped package with no dependencies.
    """
    registry.add(
        "a",
        "1.0.0",
        dependencies={"b": "^1.0.0", "c": "^2.0.0", "@scope/pkg": "^1.0.0"},
    )
    registry.add("b", "1.0.0", dependencies={"c": "^1.0.0"})
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        registry.add("c", version)
    registry.add("tool", "1.0.0", bin={"tool": "cli.js"})
    registry.add("@scope/pkg", "1.0.0")
    return registry
