"""``weir rebuild [NAME…]``: the installed packages' bins linked and install scripts run again.

The tree is what is installed (the hidden lockfile ``weir install`` wrote); nothing is
resolved or fetched. Bins are relinked for the whole tree (a deleted ``.bin`` entry
comes back); scripts run for the named packages (every one without names) under the
same policy as an install (``weir.core.linker.scripts``): a dependency's scripts only when it
is in ``trustedDependencies``, none with ``--ignore-scripts``.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from weir.core.linker.bins import link_bins
from weir.core.errors import InputError
from weir.core.events import Reporter
from weir.core.tree.hidden_lockfile import read_hidden_lockfile, write_hidden_lockfile
from weir.core.npm.package_json import read_package_json
from weir.core.linker.scripts import ScriptsResult, run_scripts


def rebuild(project: Path, names: Collection[str], *, ignore_scripts: bool, reporter: Reporter | None = None) -> ScriptsResult:
    installed = read_hidden_lockfile(project)
    if installed is None:
        raise InputError(
            f"nothing installed to rebuild in {project} (no node_modules/.package-lock.json, or node_modules changed since)",
            hint="run `weir install` first",
            code="ENOENT",
        )
    chosen = [p for p, e in installed.items() if not names or e.name in names or _spec_matches(e.name, e.version, names)]
    if names and not chosen:
        raise InputError(
            f"no installed package matches {', '.join(sorted(names))}",
            package=sorted(names)[0],
            hint="`weir ls --all` lists what is installed",
            code="ENOMATCH",
        )
    link_bins(project, installed, reporter=reporter)
    result = run_scripts(project, installed, set(chosen), reporter=reporter, ignore_scripts=ignore_scripts)
    root = read_package_json(project / "package.json")
    # Scripts and links changed node_modules after the hidden lockfile: rewritten, it is trusted again.
    write_hidden_lockfile(project, installed, name=root.name, version=root.version)
    return result


def _spec_matches(name: str, version: str | None, wanted: Collection[str]) -> bool:
    """``NAME@VERSION`` names one installed version, as npm rebuild takes it."""
    return version is not None and f"{name}@{version}" in wanted
