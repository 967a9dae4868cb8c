"""``weir approve-scripts`` / ``deny-scripts`` / ``install-scripts``: npm's allowScripts editors.

Rules this module holds:

1. It reads what is installed (node_modules' hidden lockfile, else
   package-lock.json for the folders present) and which of those packages
   declare install scripts (their own package.json in node_modules, with the
   implicit ``node-gyp rebuild``), never the registry.
2. It writes only the ``allowScripts`` field of the root package.json, in the
   file's own indentation and line ending, atomically; every other key keeps
   its place. The edits are ``weir.core.linker.script_policy``'s (npm's writer rules).
3. Output follows npm's: ``Approved NAME:`` then ``  added NAME@1.2.3`` per
   change; ``ls`` lists ``NAME@VERSION (event: command; …)``; ``--json`` prints
   ``{"allowScripts": …}`` as npm does.
4. Exit codes: 0 done (also "nothing to approve"), 2 usage (bad combination
   of arguments), 3 (``ENOMATCH``) a named package is not installed or
   nothing is installed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from weir.core.npm import semver
from weir.core.atomic import write_atomic
from weir.core.errors import EXIT_OK, InputError, UsageError
from weir.core.tree.lockfile import LockEntry
from weir.core.tree.paths import in_node_modules
from weir.core.npm.package_json import JsonStyle, read_package_json
from weir.core.linker.script_policy import Edit, approve, deny, display, name_key, prune, read_policy, split_key
from weir.core.linker.scripts import DEPENDENCY_EVENTS, lifecycle

Candidate = tuple[LockEntry, tuple[tuple[str, str], ...]]  # an installed package and its install scripts


def run(args: argparse.Namespace, project: Path) -> int:
    """Dispatch ``approve-scripts``, ``deny-scripts`` and ``install-scripts MODE``."""
    mode = {"approve-scripts": "approve", "deny-scripts": "deny"}.get(args.command) or args.mode
    if mode == "approve" and getattr(args, "pending", False):
        mode = "ls"
        if args.packages or args.all:
            raise UsageError("`--allow-scripts-pending` cannot be combined with package names or `--all`")
    if mode == "ls" and (args.packages or args.all):
        raise UsageError("`weir install-scripts ls` cannot be combined with package names or `--all`")
    if mode == "prune" and (args.packages or args.all):
        raise UsageError("`weir install-scripts prune` cannot be combined with package names or `--all`")
    if mode in ("approve", "deny") and not args.packages and not args.all:
        raise UsageError(f"name the packages to {mode} (NAME…), or pass --all")
    pkg_path = project / "package.json"
    if not pkg_path.is_file():
        raise InputError(
            f"no package.json in {project}", hint="run the command in a project folder; allowScripts lives in package.json"
        )
    installed = _installed(project)
    if mode == "ls":
        return _print_pending(_unreviewed(project, installed), json_out=args.json)
    if mode == "prune":
        return _prune(pkg_path, installed, dry_run=args.dry_run, json_out=args.json)
    groups = _groups(_unreviewed(project, installed) if args.all else _named(installed, args.packages))
    if not groups:
        return _say(args.json, {"allowScripts": []}, "No packages with unreviewed install scripts.")
    return _write(pkg_path, groups, mode, pin=_pin(args, project), json_out=args.json)


def _installed(project: Path) -> list[Candidate]:
    """Rule 1: every installed dependency folder with the install scripts it declares."""
    from weir.core.tree.hidden_lockfile import read_hidden_lockfile
    from weir.core.tree.lockfile import read_lockfile

    packages = read_hidden_lockfile(project)
    if packages is None:
        lock = read_lockfile(project)
        packages = {p: e for p, e in (lock.packages.items() if lock else ()) if (project / p).is_dir()}
    out: list[Candidate] = []
    for path, entry in sorted(packages.items()):
        if not in_node_modules(path) or entry.link or entry.in_bundle:
            continue
        out.append((entry, lifecycle(project, path, DEPENDENCY_EVENTS)))
    if not out:
        raise InputError(
            f"no dependencies are installed in {project / 'node_modules'}",
            code="ENOMATCH",
            hint="run `weir install` first: the commands act on the installed packages",
        )
    return out


def _unreviewed(project: Path, installed: list[Candidate]) -> list[Candidate]:
    policy = read_policy(_raw(project / "package.json"), _config_extra(project))
    return [(e, s) for e, s in installed if s and policy.verdict(e) is None]


def _named(installed: list[Candidate], wanted: Sequence[str]) -> list[Candidate]:
    """Every installed copy of each ``NAME`` (``NAME@VERSION``/range narrows); ENOMATCH names the misses."""
    found: list[Candidate] = []
    missing = []
    for arg in wanted:
        name, spec = split_key(arg)
        hits = [
            (e, s)
            for e, s in installed
            if name_key(e) == name and (not spec or spec == "*" or semver.satisfies(_version(e), spec, loose=True))
        ]
        if not hits:
            missing.append(arg)
        found += hits
    if missing:
        raise InputError(
            f"No installed packages match: {', '.join(missing)}",
            code="ENOMATCH",
            hint="check the names with `weir ls --all`; the commands act on installed packages",
        )
    return found


def _version(entry: LockEntry) -> str:
    shown = display(entry)
    return shown.rpartition("@")[2] if shown.rfind("@") > 0 else ""


def _groups(candidates: list[Candidate]) -> dict[str, list[LockEntry]]:
    groups: dict[str, list[LockEntry]] = {}
    for entry, _ in candidates:
        key = name_key(entry)
        if key is not None:
            groups.setdefault(key, []).append(entry)
    return groups


def _write(pkg_path: Path, groups: dict[str, list[LockEntry]], mode: str, *, pin: bool, json_out: bool) -> int:
    raw, style = _load(pkg_path)
    existing = raw.get("allowScripts") if isinstance(raw.get("allowScripts"), dict) else {}
    updated: dict[str, bool] = dict(existing)
    summary: list[tuple[str, Edit]] = []
    for name, entries in groups.items():
        edit = approve(updated, entries, pin=pin) if mode == "approve" else deny(updated, entries)
        if edit.warning:
            sys.stderr.write(f"warn {mode}-scripts {edit.warning}\n")
        updated = edit.allow_scripts
        summary.append((name, edit))
    if updated != existing or list(updated) != list(existing):
        raw["allowScripts"] = updated
        write_atomic(pkg_path, style.dumps(raw).encode("utf-8"))
    if json_out:
        doc = [{"name": n, "changes": [{"key": c.key, "change": c.change} for c in e.changes]} for n, e in summary]
        sys.stdout.write(json.dumps({"allowScripts": doc}, indent=2) + "\n")
        return EXIT_OK
    verb = "Approved" if mode == "approve" else "Denied"
    touched = [(n, e) for n, e in summary if e.changes]
    for name, edit in touched:
        sys.stdout.write(f"{verb} {name}:\n" + "".join(f"  {c.change} {c.key}\n" for c in edit.changes))
    if not touched:
        sys.stdout.write(f"Nothing to {mode}; allowScripts unchanged.\n")
    return EXIT_OK


def _print_pending(pending: list[Candidate], *, json_out: bool) -> int:
    if json_out:
        groups: dict[str, list[dict[str, str]]] = {}
        for entry, _ in pending:
            groups.setdefault(name_key(entry) or entry.name, []).append({"key": display(entry), "change": "pending"})
        doc = [{"name": n, "changes": c} for n, c in groups.items()]
        sys.stdout.write(json.dumps({"allowScripts": doc}, indent=2) + "\n")
        return EXIT_OK
    if not pending:
        sys.stdout.write("No packages with unreviewed install scripts.\n")
        return EXIT_OK
    count = len(pending)
    lines = [f"{count} {'package has' if count == 1 else 'packages have'} install scripts not yet covered by allowScripts:"]
    lines += [f"  {display(e)} ({'; '.join(f'{ev}: {cmd}' for ev, cmd in s)})" for e, s in pending]
    lines += ["", "Run `weir install-scripts approve <pkg>` to allow, or `weir install-scripts deny <pkg>` to deny."]
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


def _prune(pkg_path: Path, installed: list[Candidate], *, dry_run: bool, json_out: bool) -> int:
    raw, style = _load(pkg_path)
    existing = raw.get("allowScripts") if isinstance(raw.get("allowScripts"), dict) else {}
    kept, removed = prune(existing, ((e, bool(s)) for e, s in installed))
    if removed and not dry_run:
        if kept:
            raw["allowScripts"] = kept
        else:
            del raw["allowScripts"]
        write_atomic(pkg_path, style.dumps(raw).encode("utf-8"))
    if json_out:
        doc = {"removed": [{"key": k, "value": existing[k], "reason": r} for k, r in removed], "dryRun": dry_run}
        sys.stdout.write(json.dumps({"allowScripts": doc}, indent=2) + "\n")
        return EXIT_OK
    if not removed:
        sys.stdout.write("No unused allowScripts entries.\n")
        return EXIT_OK
    entry = "entry" if len(removed) == 1 else "entries"
    lines = [f"{'Would remove' if dry_run else 'Removed'} {len(removed)} unused allowScripts {entry}:"]
    lines += [f"  {k} ({'package not installed' if r == 'not-installed' else 'no install scripts'})" for k, r in removed]
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


def _pin(args: argparse.Namespace, project: Path) -> bool:
    """``--[no-]allow-scripts-pin``, else npm's ``allow-scripts-pin`` config, else pinned."""
    if args.pin is not None:
        return bool(args.pin)
    value = _config_extra(project).get("allow-scripts-pin")
    return not (value is False or (isinstance(value, str) and value.strip().lower() == "false"))


def _config_extra(project: Path) -> dict[str, Any]:
    from weir.core.config import load_config

    return dict(load_config(project).extra)


def _load(pkg_path: Path) -> tuple[dict[str, Any], JsonStyle]:
    read_package_json(pkg_path)  # a malformed package.json fails here, naming the problem
    text = pkg_path.read_text(encoding="utf-8")
    return json.loads(text), JsonStyle.of(text)


def _raw(pkg_path: Path) -> dict[str, Any]:
    return _load(pkg_path)[0]


def _say(json_out: bool, doc: object, text: str) -> int:
    sys.stdout.write((json.dumps(doc, indent=2) if json_out else text) + "\n")
    return EXIT_OK
