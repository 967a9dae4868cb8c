"""Markdown and JSON for one fixture and registry mode (``bench/results/``), and the
scaling table across fixtures.

Rules:
- The Markdown opens with a compact table of median wall times and weir's
  ratio to every other tool; each phase then gets the seed's detailed
  columns (wall ±σ, user, sys, peak RSS, minor faults, context switches,
  network, cache, node_modules and lockfile sizes). The JSON has every run.
- Scaling divides each tool's median wall time and peak RSS by the
  fixture's package count (the packages its npm lockfile installs), so flat or
  falling per-package numbers from medium to xl mean weir scales.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .runner import DESCRIPTIONS, PHASES, TUI_VARIANTS, Run
from .snapshot import FIXTURES
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


def _k(value: float | None) -> str:
    """A count the way the seed prints it: 507, 14.6K, 1.2M."""
    if value is None:
        return "—"
    if value < 1000:
        return f"{value:.0f}"
    return f"{value / 1e3:.1f}K" if value < 1e6 else f"{value / 1e6:.1f}M"


def _sd(s: Summary) -> str:
    return "" if s.wall_sd is None else f" ±{_s(s.wall_sd)}"


DETAIL_HEADER = [
    ("| tool | wall s ±σ (min–max) | user | sys | peak RSS MB | minor faults | ctx switches vol / invol "
     "| net ext MB rx / tx | net lo MB | cache MB / files | node_modules MB / files | lockfile KB | ok |"),
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
]


def _detail_row(s: Summary) -> str:
    span = "" if s.wall_min is None else f" ({_s(s.wall_min)}–{_s(s.wall_max)})"
    rss = None if s.max_rss_kb is None else s.max_rss_kb * 1000
    lock = "—" if s.lockfile_bytes is None else f"{s.lockfile_bytes / 1e3:.0f}"
    return (f"| {s.tool} | {_wall_cell(s)}{_sd(s) if s.wall is not None else ''}{span} "
            f"| {_s(s.user)} | {_s(s.sys)} | {_mb(rss)} | {_k(s.minor_faults)} "
            f"| {_k(s.voluntary_switches)} / {_k(s.involuntary_switches)} "
            f"| {_mb(s.net_ext_rx)} / {_mb(s.net_ext_tx)} | {_mb(s.net_lo_rx)} "
            f"| {_mb(s.cache_bytes)} / {_count(s.cache_files)} "
            f"| {_mb(s.node_modules_bytes)} / {_count(s.node_modules_files)} | {lock} "
            f"| {s.runs - s.failures}/{s.runs} |")


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
        (f"Method: {'one warm-up round, then ' if meta.get('warmup', True) else 'no warm-up; '}"
         f"{meta['rounds']} interleaved rounds (tool order "
         "reversed every other round); median wall seconds, failures excluded; "
         f"`--ignore-scripts` everywhere; page cache dropped before p0/p3/p4: "
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
        lines += ["", f"## {phase}: {DESCRIPTIONS[phase]}", "", *DETAIL_HEADER]
        rows = sorted((s for s in summaries if s.phase == phase),
                      key=lambda s: tools.index(s.tool) if s.tool in tools else len(tools))
        lines += [_detail_row(s) for s in rows]
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
    write_atomic(md, markdown(meta, runs))
    write_atomic(js, json.dumps(document(meta, runs), indent=2) + "\n")
    return md, js


def write_atomic(path: Path, text: str) -> None:
    """Write to ``<name>.tmp`` and rename: a report is whole or absent."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def scale_markdown(docs: list[dict[str, Any]]) -> str:
    """Per-package wall time and peak RSS for every tool and phase, fixture by fixture.

    ``docs`` are JSON reports (``document``); for a fixture reported twice the
    later document's numbers win, so a re-run of one fixture replaces the old.
    """
    packages: dict[str, int] = {}
    cells: dict[tuple[str, str], dict[str, tuple[float, float | None]]] = {}
    for doc in docs:
        fixture = doc["fixture"]
        packages[fixture] = doc.get("packages") or fixture_packages(fixture)
        for s in doc["summaries"]:
            if s["phase"] != "tui" and s["wall"] is not None:
                cells.setdefault((s["tool"], s["phase"]), {})[fixture] = (s["wall"], s["max_rss_kb"])
    fixtures = sorted(packages, key=lambda f: packages[f])
    registries = sorted({doc["registry"] for doc in docs})
    lines = [
        f"# weir bench: scaling per package, {' → '.join(fixtures)} ({', '.join(registries)} registry)",
        "",
        "Each cell: median wall ms per package · peak RSS KB per package. "
        "Growth: the last fixture's ms per package over the first's (1× is flat).",
        "",
        "| tool | phase | " + " | ".join(f"{f} ({packages[f]} pkgs)" for f in fixtures) + " | growth |",
        "|---" * (len(fixtures) + 3) + "|",
    ]
    phase_order = {p: i for i, p in enumerate(PHASES)}
    for tool, phase in sorted(cells, key=lambda k: (k[0] != "weir", k[0], phase_order.get(k[1], 99))):
        row = cells[(tool, phase)]
        per = {f: (row[f][0] * 1000 / packages[f], (row[f][1] or 0) / packages[f]) for f in row}
        present = [f for f in fixtures if f in per]
        growth = ratio(per[present[-1]][0], per[present[0]][0]) if len(present) > 1 else None
        lines.append(f"| {tool} | {phase} | " + " | ".join(
            f"{per[f][0]:.2f} · {per[f][1]:.0f}" if f in per else "" for f in fixtures)
            + f" | {_x(growth)} |")
    if len(registries) > 1:
        lines += ["", "Warning: these reports mix registries; compare within one."]
    return "\n".join(lines) + "\n"


def fixture_packages(fixture: str) -> int:
    """How many packages the fixture installs: its npm lockfile's entries, nested copies
    included, root and links not (0 for an unknown fixture)."""
    lockfile = FIXTURES / fixture / "package-lock.json"
    if not lockfile.is_file():
        return 0
    entries = json.loads(lockfile.read_text()).get("packages", {})
    return sum(1 for key, entry in entries.items() if key and not entry.get("link"))
