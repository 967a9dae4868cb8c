"""``weir outdated [NAME…] [--all] [--json] [--long]``: npm outdated's table and JSON.

The rows come from ``weir.core.outdated``; this module prints them as npm 11 does:
the table (text-table's layout: two spaces between columns, versions right-aligned,
trailing blanks trimmed; ``MISSING`` and ``-`` for what is not installed), or the
JSON object keyed by name (an array when a name has several rows, ``location`` the
absolute folder, ``current``/``location`` left out when missing). Exit 1 when
anything is outdated, as npm.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from weir.core.errors import EXIT_OK, InputError
from weir.core.outdated import Outdated

EXIT_OUTDATED = 1  # npm outdated exits 1 when it lists something


def run(args: argparse.Namespace, project: Path, cli: dict[str, Any]) -> int:
    import anyio

    from weir.core.config import load_config
    from weir.core.outdated import find_outdated
    from weir.core.ls import installed_tree

    pkg_path = project / "package.json"
    if not pkg_path.is_file():
        raise InputError(f"no package.json in {project}", hint="run weir outdated in your project's folder", code="ENOENT")
    root_raw = json.loads(pkg_path.read_text(encoding="utf-8-sig"))
    config = load_config(project, cli=cli)
    rows = anyio.run(
        lambda: find_outdated(
            project, root_raw, installed_tree(project), config, names=args.packages, every=args.all, omit=config.omit,
        )
    )
    if args.json:
        sys.stdout.write(json.dumps(to_json(rows, project, long=args.long), indent=2) + "\n")
    elif rows:
        sys.stdout.write(table(rows, long=args.long) + "\n")
    return EXIT_OUTDATED if rows else EXIT_OK


def to_json(rows: list[Outdated], project: Path, *, long: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for row in rows:
        item: dict[str, Any] = {}
        if row.current is not None:
            item["current"] = row.current
        item |= {"wanted": row.wanted, "latest": row.latest, "dependent": row.dependent}
        if row.location is not None:
            item["location"] = str(project / row.location)
        if long:
            item |= {"type": row.type, "dependedByLocation": row.dependent_location}
        held = out.get(row.name)
        out[row.name] = item if held is None else [*(held if isinstance(held, list) else [held]), item]
    return out


def table(rows: list[Outdated], *, long: bool) -> str:
    header = ["Package", "Current", "Wanted", "Latest", "Location", "Depended by"]
    if long:
        header += ["Package Type", "Homepage", "Depended By Location"]
    lines = [header]
    for r in rows:
        line = [r.name, r.current or "MISSING", r.wanted, r.latest, r.location or "-", r.dependent]
        if long:
            line += [r.type, "", r.dependent_location]
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    right = {1, 2, 3}
    return "\n".join(
        "  ".join(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in lines
    )
