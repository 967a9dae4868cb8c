"""``weir ls [NAME...] [--all] [--depth N] [--json]``: the installed tree, printed as ``npm ls`` prints it.

The tree, its problems and the JSON document come from ``weir.core.ls``
(its rules: what counts as installed, node's lookup, dedupe, depth,
workspaces). This module reads the flags and prints:

1. Markers are words: ``deduped``, ``extraneous``, ``invalid: "RANGE" from
   WHO``, ``UNMET DEPENDENCY``, ``UNMET OPTIONAL DEPENDENCY``.
2. Each problem goes to stderr, and the exit code is 1 (npm's ELSPROBLEMS)
   when there is one, or when NAME filters match nothing.
3. Default depth 0; ``--all`` or a NAME the whole tree; ``--depth N`` wins.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO

import orjson
from weir.core.errors import EXIT_INTERNAL, EXIT_OK
from weir.core.ls import Item, list_installed, to_json

EXIT_PROBLEMS = EXIT_INTERNAL  # npm ls exits 1 when the tree has problems


def run(args: argparse.Namespace, project: Path) -> int:
    listing = list_installed(
        project,
        depth=_depth_limit(args),
        packages=args.packages,
        workspace=args.workspace or (),
        every_workspace=args.workspaces,
        include_workspace_root=args.include_workspace_root,
    )
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(to_json(listing.tree, listing.problems), option=orjson.OPT_INDENT_2) + b"\n")
    else:
        write_text(listing.tree, project, sys.stdout)
    for problem in listing.problems:
        sys.stderr.write(f"weir: {problem}\n")
    return EXIT_PROBLEMS if listing.problems or listing.unmatched else EXIT_OK


def _depth_limit(args: argparse.Namespace) -> float:
    if args.depth is not None:
        return args.depth
    return float("inf") if args.all or args.packages else 0


def label(item: Item) -> str:
    if item.location is None:
        return f"UNMET {'OPTIONAL ' if item.optional else ''}DEPENDENCY {item.name}@{item.spec}"
    text = f"{item.name}@npm:{item.real_name}@{item.version}" if item.real_name else f"{item.name}@{item.version}"
    if item.link is not None:
        text += f" -> ./{item.link}"
    if item.deduped:
        text += " deduped"
    if item.extraneous:
        text += " extraneous"
    if item.invalid is not None:
        text += f" invalid: {item.invalid}"
    return text


def write_text(tree: Item, project: Path, out: IO[str]) -> None:
    head = f"{tree.name}@{tree.version}" if tree.version else tree.name
    out.write(f"{head} {project}\n")
    if tree.children:
        _write_children(tree, "", out)
    else:
        out.write("└── (empty)\n")
    out.write("\n")  # npm ends the tree with a blank line


def _write_children(item: Item, prefix: str, out: IO[str]) -> None:
    for n, child in enumerate(item.children):
        last = n == len(item.children) - 1
        branch = ("└─" if last else "├─") + ("┬" if child.children else "─")
        out.write(f"{prefix}{branch} {label(child)}\n")
        _write_children(child, prefix + ("  " if last else "│ "), out)
