"""What each CLI command does once its arguments are parsed.

The CLI module stays import-light; this one is imported only by a command
that is about to do real work. It turns flags into engine options, picks the
reporter (live view on a terminal, plain lines off one, ndjson on request,
plus an optional trace file) and runs the engine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from weir.core.errors import EXIT_OK, WeirError

if TYPE_CHECKING:
    from weir.core.events import Reporter


def _cli_config(args: argparse.Namespace) -> dict[str, str | bool | list[str]]:
    """Flags that are npm config keys, in npm's key names (they outrank every .npmrc)."""
    cli: dict[str, str | bool | list[str]] = {}
    for flag, key in (("registry", "registry"), ("cache", "cache")):
        value = getattr(args, flag, None)
        if value:
            cli[key] = value
    if getattr(args, "save_prefix", None) is not None:  # --save-prefix= (empty) saves exact versions
        cli["save-prefix"] = args.save_prefix
    for flag, key in (
        ("offline", "offline"),
        ("prefer_offline", "prefer-offline"),
        ("prefer_online", "prefer-online"),
        ("ignore_scripts", "ignore-scripts"),
        ("legacy_peer_deps", "legacy-peer-deps"),
        ("production", "production"),
        ("save_exact", "save-exact"),
    ):
        if getattr(args, flag, False):
            cli[key] = True
    omit_resolved = getattr(args, "omit_lockfile_registry_resolved", None)
    if omit_resolved is not None:
        cli["omit-lockfile-registry-resolved"] = omit_resolved
    omit = list(getattr(args, "omit", None) or [])
    if omit:
        cli["omit"] = omit
    return cli


def _is_terminal() -> bool:
    from weir.core.settings import in_ci

    return sys.stdout.isatty() and not in_ci() and os.environ.get("TERM") != "dumb"


def _run_engine(
    args: argparse.Namespace,
    job: Callable[[Reporter], Awaitable[int]],
    *,
    title: str,
) -> int:
    """Run ``job`` under the reporter the flags and the terminal ask for.

    Under the live view ``job`` runs in a forked child reporting ndjson (see
    ``weir.tui.app.live``), exactly as ``--reporter ndjson`` runs it here.
    """
    mode = getattr(args, "reporter", "auto")
    if mode != "ndjson" and (getattr(args, "tui", False) or (mode == "auto" and _is_terminal())):
        from weir.tui.cli.main import run_guarded
        from weir.tui.app.live import run_live

        def engine() -> int:
            return run_guarded(args, lambda: _report(args, job, "ndjson"))

        return run_live(engine, full=bool(getattr(args, "tui", False)), title=title)
    return _report(args, job, mode)


def _report(args: argparse.Namespace, job: Callable[[Reporter], Awaitable[int]], mode: str) -> int:
    """Run ``job`` reporting ndjson on stdout (``mode`` "ndjson") or plain lines on stderr."""
    import anyio

    from weir.tui.report.ndjson import open_trace, report_to_stdout

    with contextlib.ExitStack() as stack:
        trace = getattr(args, "trace", None)
        extra: list[Reporter] = [stack.enter_context(open_trace(Path(trace)))] if trace else []
        if mode == "ndjson":
            return anyio.run(report_to_stdout, job, extra)
        from weir.core.events import Fanout
        from weir.tui.report.plain import PlainReporter

        plain = PlainReporter(sys.stderr)
        try:
            return anyio.run(job, Fanout(plain, *extra))
        finally:
            plain.close()


def run_install(args: argparse.Namespace, project: Path) -> int:
    command = args.command
    ci = command in ("ci", "clean-install")
    removing = command in ("remove", "rm", "uninstall", "un")
    updating = command in ("update", "up", "upgrade")
    deduping = command in ("dedupe", "ddp", "find-dupes")
    pruning = command == "prune"
    cli = _cli_config(args)
    packages = tuple(getattr(args, "packages", ()))
    lockfile_only = getattr(args, "lockfile_only", False)
    workspaces = tuple(getattr(args, "workspace", ()))
    all_workspaces = getattr(args, "workspaces", False)

    if workspaces or all_workspaces:
        _check_workspaces(args, project)
    plain_install = not ci and not removing and not updating and not deduping and not pruning
    if plain_install and not packages and not lockfile_only and not args.tui:
        from weir.core.noop import is_noop
        from weir.core.settings import read_settings

        # The settings a full install types into its Config (flags, npm_config_*, every
        # .npmrc, NODE_ENV), so `omit=dev` in an .npmrc means here what it means there.
        settings = read_settings(project, cli=cli)
        if (project / "package.json").is_file() and is_noop(project, omit=settings.omit()):
            for warning in settings.warnings:  # a full install reports them as events
                sys.stderr.write(f"warn npmrc: {warning}\n")
            sys.stderr.write("up to date: nothing to install\n")
            return EXIT_OK

    from weir.core.install import InstallOptions, install

    options = InstallOptions(
        project=project,
        ci=ci,
        add=packages if plain_install else (),
        remove=packages if removing else (),
        save_dev=getattr(args, "save_dev", False),
        save_optional=getattr(args, "save_optional", False),
        save_exact=getattr(args, "save_exact", False),
        save=getattr(args, "save", True) if not updating else True,
        lockfile_only=lockfile_only,
        link_mode=args.link_mode,
        cli_config=cli,
        workspaces=workspaces,
        all_workspaces=all_workspaces,
        include_workspace_root=getattr(args, "include_workspace_root", False),
        update=packages if updating else (),
        update_all=updating and not packages,
        save_updates=updating and args.save,
        dedupe=deduping,
    )

    from weir.core.events import Failed

    async def job(reporter: Reporter) -> int:
        try:
            await install(options, reporter)
        except WeirError as err:
            from weir.core.config import redactor  # the error may quote the broken .npmrc it is about

            message = redactor(project)(str(err))
            reporter.event(Failed(code=err.code, message=message, package=err.package, exit_code=err.exit_code))
            raise
        # The install is complete: a Ctrl-C during what follows (worker pools closing, the
        # interpreter's exit) must not report it interrupted with its lockfile "unchanged".
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        return EXIT_OK

    return _run_engine(args, job, title=f"weir {command}")


def _check_workspaces(args: argparse.Namespace, project: Path) -> None:
    """A -w that names no workspace is a usage error before anything else (even a no-op)."""
    from weir.core.npm.package_json import read_package_json
    from weir.core.resolve.workspaces import select_workspaces, workspace_folders

    if (project / "package.json").is_file():
        folders = workspace_folders(project, read_package_json(project / "package.json").workspaces)
        select_workspaces(project, folders, args.workspace, every=args.workspaces)



def run_why(args: argparse.Namespace, project: Path) -> int:
    from weir.tui.cli.why_cli import run

    return run(args, project)


def run_ls(args: argparse.Namespace, project: Path) -> int:
    from weir.tui.cli.ls_cli import run

    return run(args, project)


def run_doctor(args: argparse.Namespace, project: Path) -> int:
    from weir.tui.cli.doctor_cli import run

    return run(args, project)


def run_outdated(args: argparse.Namespace, project: Path) -> int:
    from weir.tui.cli.outdated_cli import run

    return run(args, project, _cli_config(args))


def run_rebuild(args: argparse.Namespace, project: Path) -> int:
    from weir.core.config import load_config
    from weir.core.linker.rebuild import rebuild

    config = load_config(project, cli=_cli_config(args))
    names = tuple(args.packages)

    async def job(reporter: Reporter) -> int:
        rebuild(project, names, ignore_scripts=config.ignore_scripts, reporter=reporter)
        return EXIT_OK

    return _report(args, job, "ndjson" if args.reporter == "ndjson" else "plain")
