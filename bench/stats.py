"""Medians, spread, ranges and ratios over the recorded runs (failed runs excluded)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from .runner import Run


@dataclass(frozen=True, slots=True)
class Summary:
    phase: str
    tool: str
    runs: int
    failures: int
    wall: float | None  # medians; None when no run succeeded
    wall_sd: float | None  # sample standard deviation; None below two successful runs
    wall_min: float | None
    wall_max: float | None
    user: float | None
    sys: float | None
    max_rss_kb: float | None
    minor_faults: float | None
    voluntary_switches: float | None
    involuntary_switches: float | None
    net_ext_rx: float | None
    net_ext_tx: float | None
    net_lo_rx: float | None
    cache_bytes: float | None
    cache_files: float | None
    node_modules_bytes: float | None
    node_modules_files: float | None
    lockfile_bytes: float | None


# The Run fields summarized by their median, in Summary's order after wall_max.
MEDIANS = ("user", "sys", "max_rss_kb", "minor_faults", "voluntary_switches",
           "involuntary_switches", "net_ext_rx", "net_ext_tx", "net_lo_rx", "cache_bytes",
           "cache_files", "node_modules_bytes", "node_modules_files", "lockfile_bytes")


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarize(runs: list[Run]) -> list[Summary]:
    """One Summary per (phase, tool), in the order they first ran."""
    groups: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.phase, run.tool), []).append(run)
    out = []
    for (phase, tool), group in groups.items():
        ok = [r for r in group if r.ok]
        walls = [r.wall for r in ok]
        medians = [_median([float(getattr(r, attr)) for r in ok]) for attr in MEDIANS]
        out.append(Summary(
            phase, tool, len(group), len(group) - len(ok), _median(walls),
            statistics.stdev(walls) if len(walls) > 1 else None,
            min(walls) if walls else None, max(walls) if walls else None, *medians,
        ))
    return out


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator`` (times as slow); None when either is missing or 0."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def ratios(summaries: list[Summary], phase: str) -> dict[str, dict[str, float | None]]:
    """For one phase: ratios[tool][peer] = tool's median wall / peer's median wall."""
    walls = {s.tool: s.wall for s in summaries if s.phase == phase}
    return {tool: {peer: ratio(walls[tool], walls[peer]) for peer in walls if peer != tool}
            for tool in walls}
