"""Materializing ``node_modules`` from the content store.

``plan_link`` diffs the desired tree against what is on disk (reading only);
``execute_link`` carries the plan out with clone, hardlink or copy. Bins,
scripts and the hidden lockfile follow, in that order, from their own modules
(``weir.core.linker.bins``, ``weir.core.linker.scripts``, ``weir.core.tree.hidden_lockfile``).
"""

from __future__ import annotations

from weir.core.linker.execute import LinkResult, LinkSource, execute_link
from weir.core.linker.modes import LinkMode, RequestedMode, probe_mode
from weir.core.linker.plan import LinkPlan, plan_link

__all__ = [
    "LinkMode",
    "LinkPlan",
    "LinkResult",
    "LinkSource",
    "RequestedMode",
    "execute_link",
    "plan_link",
    "probe_mode",
]
