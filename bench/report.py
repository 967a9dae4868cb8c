"""Markdown and JSON for one fixture and registry mode (``bench/results/``)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .runner import DESCRIPTIONS, PHASES, TUI_VARIANTS, Run
from .stats import Summary, ratio, ratios, summarize

TUI_BUDGET = 0.05  # a live view (--tui, or the inline panel) may cost at most 5% over --reporter plain


def _s(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value / 1e6:.1f}"


def _x(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _count(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _wall_cell(s: Summary | None) -> str:
    if s is None:
        return ""
    if s.wall is None:
        return f"FAILED ({s.failures}/{s.runs})"
    cell = _s(s.wall)
    return cell + (f" ({s.failures}/{s.runs} failed)" if s.failures else "")


def tui_overhead(summaries: list[Summary], variant: str = "weir --tui") -> float | None:
    """``variant``'s median wall time over plain's, minus one (None if either is missing)."""
    walls = {s.tool: s.wall for s in summaries if s.phase == "tui"}
    share = ratio(walls.get(variant), walls.get(TUI_VARIANTS[0]))
    return None if share is None else share - 1


def markdown(meta: dict[str, Any], runs: list[Run]) -> str:
    summaries = summarize(runs)
    tools = meta["tools"]
    phases = [p for p in meta["phases"] if p != "tui"]
    by_key = {(s.phase, s.tool): s for s in summaries}
    lines = [
        f"# weir bench: {meta['fixture']} fixture, {meta['registry']} registry, {meta['date']}",
        "",
        (f"Machine: {meta['machine']['summary']}. "
         + "Versions: " + ", ".join(f"{t} {v}" for t, v in meta["versions"].items()) + "."),
        (f"Method: one warm-up round, then {meta['rounds']} interleaved rounds (tool order "
         "reversed every other round); median wall seconds, failures excluded; "
         f"`--ignore-scripts` everywhere; page cache dropped before p3/p4: "
         f"{'yes' if meta['drop_caches'] else 'no'}."),
        "",
        "| phase | " + " | ".join(tools) + " |",
        "|---" * (len(tools) + 1) + "|",
    ]
    for phase in phases:
        lines.append(f"| {phase} | " + " | ".join(_wall_cell(by_key.get((phase, t)))
                                                 for t in tools) + " |")
    peers = [t for t in tools if t != "weir"]
    if "weir" in tools and peers:
        lines += ["", "weir's median wall time as a multiple of each peer's (below 1× is faster):",
                  "", "| phase | " + " | ".join(f"weir / {p}" for p in peers) + " |",
                  "|---" * (len(peers) + 1) + "|"]
        for phase in phases:
            row = ratios(summaries, phase).get("weir", {})
            lines.append(f"| {phase} | " + " | ".join(_x(row.get(p)) for p in peers) + " |")
    for phase in meta["phases"]:
        lines += ["", f"## {phase}: {DESCRIPTIONS[phase]}", "",
                  ("| tool | wall (min–max) | user | sys | peak RSS MB | net MB ext / lo "
                   "| cache MB / files | node_modules MB / files | ok |"),
                  "|---|---|---|---|---|---|---|---|---|"]
        for s in summaries:
            if s.phase != phase:
                continue
            span = "" if s.wall_min is None else f" ({_s(s.wall_min)}–{_s(s.wall_max)})"
            lines.append(
                f"| {s.tool} | {_wall_cell(s)}{span} | {_s(s.user)} | {_s(s.sys)} "
                f"| {_mb(None if s.max_rss_kb is None else s.max_rss_kb * 1000)} "
                f"| {_mb(s.net_ext_rx)} / {_mb(s.net_lo_rx)} "
                f"| {_mb(s.cache_bytes)} / {_count(s.cache_files)} "
                f"| {_mb(s.node_modules_bytes)} / {_count(s.node_modules_files)} "
                f"| {s.runs - s.failures}/{s.runs} |")
        if phase == "tui":
            for variant, name in ((TUI_VARIANTS[1], "TUI overhead"), (TUI_VARIANTS[2], "Inline panel overhead")):
                overhead = tui_overhead(summaries, variant)
                verdict = "—" if overhead is None else (
                    f"{overhead:+.1%} ({'within' if overhead <= TUI_BUDGET else 'OVER'} the 5% budget)")
                lines += ["", f"{name}: {verdict}"]
    failures = [r for r in runs if not r.ok]
    if failures:
        lines += ["", "## Failures", ""]
        seen: set[tuple[str, str]] = set()
        for r in failures:
            if (r.phase, r.tool) in seen:
                continue
            seen.add((r.phase, r.tool))
            tail = " ".join(r.error.split())[-300:]
            lines.append(f"- {r.tool} {r.phase} (exit {r.exit_code}): `{tail}`")
    if meta["warnings"]:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in meta["warnings"]]
    return "\n".join(lines) + "\n"


def document(meta: dict[str, Any], runs: list[Run]) -> dict[str, Any]:
    summaries = summarize(runs)
    phases = sorted({s.phase for s in summaries})
    return {
        **meta,
        "summaries": [asdict(s) for s in summaries],
        "ratios": {phase: ratios(summaries, phase) for phase in phases},
        "tui_overhead": tui_overhead(summaries),
        "inline_overhead": tui_overhead(summaries, TUI_VARIANTS[2]),
        "runs": [asdict(r) for r in runs],
    }


def write(results: Path, meta: dict[str, Any], runs: list[Run]) -> tuple[Path, Path]:
    results.mkdir(parents=True, exist_ok=True)
    stem = f"{meta['date']}-{meta['fixture']}-{meta['registry']}"
    if list(meta["phases"]) != list(PHASES):  # a partial run never overwrites a full one
        stem += "-" + "+".join(meta["phases"])
    md, js = results / f"{stem}.md", results / f"{stem}.json"
    md.write_text(markdown(meta, runs))
    js.write_text(json.dumps(document(meta, runs), indent=2) + "\n")
    return md, js
