"""The parsers of ``weir approve-scripts`` / ``deny-scripts`` / ``install-scripts``.

Apart from ``weir.tui.cli.scripts_cli`` so that building the CLI's parser imports
nothing of the engine (``weir.tui.cli.main`` rule 1).
"""

from __future__ import annotations

import argparse
from typing import Any


def add_parsers(sub: Any, add_common: Any) -> None:
    """The three commands' parsers (``weir.tui.cli.main`` calls this; kept here so the CLI stays small)."""

    def flags(p: argparse.ArgumentParser, *, pending: bool, dry_run: bool) -> None:
        p.add_argument("packages", nargs="*", metavar="NAME[@VERSION]")
        p.add_argument("--all", action="store_true", help="act on every package with unreviewed install scripts")
        p.add_argument(
            "--allow-scripts-pin", "--no-allow-scripts-pin", dest="pin", default=None,
            action=_PinAction, nargs=0,
            help="write NAME@VERSION entries (default) or, with --no-allow-scripts-pin, name-only ones",
        )
        if pending:
            p.add_argument("--allow-scripts-pending", dest="pending", action="store_true", help="only list what is not yet reviewed")
        if dry_run:
            p.add_argument("--dry-run", action="store_true", help="prune: say what would be removed, change nothing")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        add_common(p)

    approve_p = sub.add_parser(
        "approve-scripts",
        help="allow dependencies' install scripts (writes allowScripts in package.json)",
        description="Add NAME@VERSION entries for every installed copy of each NAME to package.json's allowScripts "
        "(npm's approve-scripts). --all approves every unreviewed package; --allow-scripts-pending lists them.",
    )
    flags(approve_p, pending=True, dry_run=False)
    deny_p = sub.add_parser("deny-scripts", help="deny dependencies' install scripts (a name-only false in allowScripts)")
    flags(deny_p, pending=False, dry_run=False)
    manage = sub.add_parser(
        "install-scripts",
        help="approve, deny, list or prune allowScripts entries",
        description="npm's install-scripts: approve|deny NAME…|--all, ls (unreviewed packages), prune (unused entries).",
    )
    manage.add_argument("mode", choices=("approve", "deny", "ls", "prune"))
    flags(manage, pending=False, dry_run=True)


class _PinAction(argparse.Action):
    def __call__(self, parser: Any, namespace: argparse.Namespace, values: Any, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, not (option_string or "").startswith("--no-"))
