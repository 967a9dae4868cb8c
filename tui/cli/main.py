"""The `weir` command line.

Rules this module holds:

1. Startup is cheap: `weir --version`, `weir --help` and a no-op install import
   neither textual nor httpx nor anyio. Everything heavy is imported inside the
   command that needs it (a test enforces this).
2. Flags mean what npm's flags mean; npm's spellings are accepted where weir has
   a shorter one (`--package-lock-only` for `--lockfile-only`).
3. Exit codes come from ``weir.core.errors`` and are documented in README.md:
   0 ok, 1 internal error, 2 usage, 3 bad input, 4 resolution, 5 network,
   6 integrity, 7 lockfile out of sync, 8 script failed, 9 filesystem,
   130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from weir.core import __version__
from weir.core.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, WeirError, first_weir_error

EXIT_CODES_HELP = """exit codes:
  0    success
  1    internal error (a bug in weir: its traceback is saved under the cache's logs/; please report it)
  2    usage: unknown command or bad flag
  3    bad input: malformed package.json or lockfile, an .npmrc value weir cannot use, invalid name or spec
  4    resolution: unknown package (E404), no matching version (ETARGET), peer conflict (ERESOLVE), offline miss
  5    network: registry unreachable after retries, refused auth, unusable answers
  6    integrity: checksum mismatch, corrupt or hostile tarball
  7    weir ci: package-lock.json does not match package.json
  8    a lifecycle script failed, or strict-allow-scripts found unreviewed install scripts
  9    filesystem: disk full, permission denied, refusing to write through a symlink
  130  interrupted (Ctrl-C): package-lock.json unchanged; the next install completes node_modules
"""


# npm boolean settings weir takes as flags; npm users write them `--name=false` too.
_NPM_BOOLEAN_FLAGS = ("--omit-lockfile-registry-resolved",)


class _Parser(argparse.ArgumentParser):
    def parse_known_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def,override]
        """``--flag=true`` / ``--flag=false`` (npm's spelling) become ``--flag`` / ``--no-flag``."""
        if args is not None:
            args = [_npm_boolean(a) for a in args]
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"weir: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def _npm_boolean(arg: str) -> str:
    flag, eq, value = arg.partition("=")
    if eq and flag in _NPM_BOOLEAN_FLAGS and value in ("true", "false"):
        return flag if value == "true" else "--no-" + flag[2:]
    return arg


def _add_common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("common")
    g.add_argument("-C", "--prefix", dest="prefix", metavar="DIR", help="use DIR as the project, as npm's --prefix (no walk up to a workspace root)")
    g.add_argument("--registry", metavar="URL", help="the default registry (npm's `registry`)")
    g.add_argument("--cache", metavar="DIR", help="cache folder (default $XDG_CACHE_HOME/weir or ~/.cache/weir)")
    g.add_argument(
        "--reporter",
        choices=("auto", "plain", "ndjson"),
        default="auto",
        help="auto: live view on a terminal, plain lines otherwise; ndjson: one JSON event per line",
    )
    g.add_argument("--trace", metavar="FILE", help="also record every event to FILE (ndjson) for `weir replay`")
    g.add_argument("--tui", action="store_true", help="open the full-screen dashboard; it stays open at the end")


def _add_install_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("install")
    g.add_argument("--omit", action="append", choices=("dev", "optional", "peer"), default=[], help="leave these out of node_modules")
    g.add_argument("--production", action="store_true", help="same as --omit dev")
    g.add_argument("--ignore-scripts", action="store_true", help="run no lifecycle scripts at all")
    g.add_argument(
        "--link-mode",
        choices=("auto", "clone", "hardlink", "copy"),
        default="auto",
        help="how files reach node_modules from the cache (auto: clone, else hardlink, else copy)",
    )
    g.add_argument("--offline", action="store_true", help="never touch the network; fail on anything not cached")
    g.add_argument("--prefer-offline", action="store_true", help="use cached metadata without revalidating")
    g.add_argument("--prefer-online", action="store_true", help="always revalidate cached metadata")
    g.add_argument("--legacy-peer-deps", action="store_true", help="do not install peer dependencies")
    g.add_argument(
        "--omit-lockfile-registry-resolved",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write package-lock.json without the registry's tarball URLs (resolved), as npm does (=true/=false too)",
    )


def _add_workspace_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("workspaces")
    g.add_argument(
        "-w", "--workspace", dest="workspace", action="append", default=[], metavar="NAME|PATH",
        help="act on this workspace (its package name, its folder, or a folder of workspaces); repeatable. "
        "Run inside a workspace folder, weir acts on the whole project with that workspace selected",
    )
    g.add_argument("--workspaces", action="store_true", help="act on every workspace")
    g.add_argument("--include-workspace-root", action="store_true", help="with -w/--workspaces, act on the root project too")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="weir",
        description="An npm-compatible package installer that shows its resolver loop live.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"weir {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    install = sub.add_parser(
        "install",
        aliases=["i", "add"],
        help="install package.json's dependencies (or add packages)",
        description="Resolve package.json against the registry, write package-lock.json and fill node_modules. "
        "With package names, add them to package.json first (npm install NAME).",
    )
    install.add_argument("packages", nargs="*", metavar="NAME[@SPEC]")
    save = install.add_argument_group("saving")
    save.add_argument("-D", "--save-dev", action="store_true", help="add to devDependencies")
    save.add_argument("-O", "--save-optional", action="store_true", help="add to optionalDependencies")
    save.add_argument("-E", "--save-exact", action="store_true", help="save the exact version instead of ^version")
    save.add_argument("--save-prefix", metavar="PREFIX", help="what goes before a saved version (npm's `save-prefix`, default ^)")
    save.add_argument("--no-save", dest="save", action="store_false", help="do not change package.json")
    install.add_argument(
        "--lockfile-only",
        "--package-lock-only",
        dest="lockfile_only",
        action="store_true",
        help="resolve and write package-lock.json only; fetch nothing, touch no node_modules",
    )
    _add_install_flags(install)
    _add_workspace_flags(install)
    _add_common(install)

    ci = sub.add_parser(
        "ci",
        aliases=["clean-install"],
        help="install exactly what package-lock.json says, from a clean node_modules",
        description="Requires package-lock.json in sync with package.json; removes node_modules and installs the lockfile.",
    )
    _add_install_flags(ci)
    _add_workspace_flags(ci)
    _add_common(ci)

    remove = sub.add_parser(
        "remove",
        aliases=["rm", "uninstall", "un"],
        help="remove packages from package.json and node_modules",
    )
    remove.add_argument("packages", nargs="+", metavar="NAME")
    remove.add_argument("--no-save", dest="save", action="store_false", help="do not change package.json")
    _add_install_flags(remove)
    _add_workspace_flags(remove)
    _add_common(remove)

    update = sub.add_parser(
        "update",
        aliases=["up", "upgrade"],
        help="pick the newest versions package.json's ranges allow",
        description="Resolve again with the named packages (every package without names) freed from their "
        "lockfile versions, then install as usual; package.json changes only with --save, as npm's update.",
    )
    update.add_argument("packages", nargs="*", metavar="NAME")
    update.add_argument("--save", action="store_true", help="also raise package.json's ranges to the new versions (^1.0.0 → ^1.1.0)")
    update.add_argument(
        "--lockfile-only", "--package-lock-only", dest="lockfile_only", action="store_true",
        help="write package-lock.json only; touch no node_modules",
    )
    _add_install_flags(update)
    _add_common(update)

    dedupe = sub.add_parser(
        "dedupe",
        aliases=["ddp", "find-dupes"],
        help="move shared versions up the tree so each is installed once where it can be",
        description="Resolve again every package installed in more than one copy, preferring a copy already "
        "in the tree that satisfies a range over a newer one (npm dedupe), then install.",
    )
    dedupe.add_argument(
        "--lockfile-only", "--package-lock-only", dest="lockfile_only", action="store_true",
        help="write package-lock.json only; touch no node_modules",
    )
    _add_install_flags(dedupe)
    _add_common(dedupe)

    prune = sub.add_parser(
        "prune",
        help="remove packages nothing depends on (and, with --omit, those left out)",
        description="Install package-lock.json's tree and remove every folder in node_modules it does not hold "
        "(extraneous packages), and those --omit/--production leave out.",
    )
    _add_install_flags(prune)
    _add_common(prune)

    rebuild = sub.add_parser(
        "rebuild",
        aliases=["rb"],
        help="run installed packages' install scripts again and relink their bins",
        description="Re-link the bins of the installed packages (all, or those named) and run their "
        "preinstall/install/postinstall scripts again, under weir's script policy: only packages in "
        "trustedDependencies run, and --ignore-scripts runs none.",
    )
    rebuild.add_argument("packages", nargs="*", metavar="NAME[@VERSION]")
    rebuild.add_argument("--ignore-scripts", action="store_true", help="relink bins only; run no scripts")
    _add_common(rebuild)

    outdated = sub.add_parser(
        "outdated",
        help="list dependencies with newer versions (exit 1 when there are)",
        description="For each dependency: the installed version, the newest its range allows (wanted) and the "
        "registry's latest, as npm outdated prints them. Exit 1 when something is outdated.",
    )
    outdated.add_argument("packages", nargs="*", metavar="NAME")
    outdated.add_argument("--all", "-a", action="store_true", help="every dependency in the tree, not only the project's own")
    outdated.add_argument("--json", action="store_true", help="machine-readable output, npm's keys")
    outdated.add_argument("--long", "-l", action="store_true", help="also the dependency type, homepage and dependent's location")
    outdated.add_argument("--omit", action="append", choices=("dev", "optional", "peer"), default=[], help="leave out these kinds of dependencies")
    _add_common(outdated)

    why = sub.add_parser(
        "why",
        aliases=["explain"],
        help="explain why a package (or a version of it) is or is not installed",
        description="Every dependent path with the range it asked for, the rule that chose the version, "
        "rejected candidates and where the package was placed. NAME@VERSION asks why not that version.",
    )
    why.add_argument("package", metavar="NAME[@VERSION|RANGE]")
    why.add_argument("--json", action="store_true", help="machine-readable output")
    _add_workspace_flags(why)
    _add_common(why)

    ls = sub.add_parser("ls", aliases=["list"], help="list installed packages as a tree")
    ls.add_argument("packages", nargs="*", metavar="NAME")
    ls.add_argument("--all", "-a", action="store_true", help="show the whole tree, not only top-level dependencies")
    ls.add_argument("--depth", type=int, default=None, help="how deep to show the tree")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    _add_workspace_flags(ls)
    _add_common(ls)

    replay = sub.add_parser("replay", help="re-open a recorded install (--trace FILE) in the dashboard")
    replay.add_argument("file", metavar="FILE")
    replay.add_argument("--speed", type=float, default=1.0, help="playback speed; 0 jumps to the end")

    doctor = sub.add_parser("doctor", help="probe each configured registry and say what slows it down")
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    doctor.add_argument("--package", metavar="NAME", help="probe with this package (default: is-number)")
    _add_common(doctor)

    from weir.tui.cli.scripts_args import add_parsers as add_script_policy_parsers

    add_script_policy_parsers(sub, _add_common)
    return parser


def _project(args: argparse.Namespace) -> Path:
    """The project root. ``--prefix`` is taken as is; otherwise weir walks up from the current
    folder as npm does, and a workspace folder it starts in becomes the implicit ``-w``."""
    if getattr(args, "prefix", None):
        return Path(args.prefix).resolve()
    from weir.core.resolve.project_root import find_root

    root, member = find_root(Path.cwd())
    if member is not None and hasattr(args, "workspace") and not args.workspace and not args.workspaces:
        args.workspace = [str(member)]
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    return run_guarded(args, lambda: _dispatch(args))


def run_guarded(args: argparse.Namespace, work: Callable[[], int]) -> int:
    """``work()``'s exit code; any failure becomes one message and its exit code.

    A WeirError (also one raised inside concurrent tasks, which arrives
    wrapped in exception groups) prints as itself. Anything else is a bug in
    weir: one line says so and where its full traceback was saved, never a
    traceback dump on the user's terminal. The live view's engine, a forked
    child (see ``weir.tui.app.live``), runs its install through this too, so it
    reports failures exactly as a plain run.
    """
    try:
        return work()
    except KeyboardInterrupt:
        return _interrupted()
    except (SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - rule: no failure reaches the user as a traceback
        err = first_weir_error(exc)
        if err is not None:
            _print_error(err, args)
            return err.exit_code
        if isinstance(exc, BaseExceptionGroup) and exc.split(KeyboardInterrupt)[1] is None:
            return _interrupted()  # Ctrl-C reached several concurrent tasks at once
        _print_bug(exc, args)
        return EXIT_INTERNAL


def _interrupted() -> int:
    sys.stderr.write("weir: interrupted; package-lock.json is unchanged, and the next `weir install` repairs node_modules\n")
    return EXIT_INTERRUPTED


def _print_error(err: WeirError, args: argparse.Namespace) -> None:
    sys.stderr.write(f"weir: {_redact(str(err), args)}\n")


def _redact(text: str, args: argparse.Namespace) -> str:
    """``text`` with the configured credentials hidden; a broken .npmrc still hides
    the credentials written in it (``weir.core.config.redactor`` fails closed)."""
    from weir.core.config import redactor

    try:
        project = _project(args)
    except Exception:  # noqa: BLE001 - the error being shown may be the unreadable package.json itself
        project = Path(getattr(args, "prefix", None) or Path.cwd()).resolve()
    return redactor(project)(text)


def _print_bug(exc: BaseException, args: argparse.Namespace) -> None:
    """One line for a bug: what broke, and the file holding the full traceback for the report."""
    import traceback

    what = "".join(traceback.format_exception_only(_innermost(exc))).strip().splitlines()[-1]
    details = "".join(traceback.format_exception(exc))
    header = f"weir {__version__}, python {sys.version.split()[0]}, argv {sys.argv!r}\n\n"
    saved = _save_crash_log(_redact(header + details, args), args)
    where = f"please report it with the full traceback saved in {saved}" if saved else "please report it"
    sys.stderr.write(f"weir: internal error, a bug in weir: {_redact(what, args)}; {where}\n")


def _innermost(exc: BaseException) -> BaseException:
    """The first real exception inside nested groups: the one that names the bug."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _save_crash_log(text: str, args: argparse.Namespace) -> str | None:
    """Write ``text`` to a new file under the cache's logs/ folder (else the temp folder); its path.

    Written under a temporary name and renamed, so a file that has its final name is whole.
    """
    import tempfile
    import time

    for folder in (_crash_dir(args), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            fd, partial = tempfile.mkstemp(prefix=f"weir-crash-{stamp}-", suffix=".log.tmp", dir=folder)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            path = partial.removesuffix(".tmp")
            os.replace(partial, path)
            return path
        except OSError:
            continue
    return None


def _crash_dir(args: argparse.Namespace) -> Path:
    """``logs/`` in the cache this run would use (``--cache``, .npmrc, $XDG_CACHE_HOME)."""
    try:
        from weir.core.config import load_config

        cli = {"cache": args.cache} if getattr(args, "cache", None) else {}
        return load_config(_project(args), cli=cli).cache / "logs"
    except Exception:  # noqa: BLE001 - a broken config falls back to the default cache
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "weir" / "logs"


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command in ("install", "i", "add", "ci", "clean-install", "remove", "rm", "uninstall", "un"):
        from weir.tui.cli.commands import run_install

        return run_install(args, _project(args))
    if command in ("update", "up", "upgrade", "dedupe", "ddp", "find-dupes", "prune"):
        from weir.tui.cli.commands import run_install

        return run_install(args, _project(args))
    if command in ("rebuild", "rb"):
        from weir.tui.cli.commands import run_rebuild

        return run_rebuild(args, _project(args))
    if command == "outdated":
        from weir.tui.cli.commands import run_outdated

        return run_outdated(args, _project(args))
    if command in ("why", "explain"):
        from weir.tui.cli.commands import run_why

        return run_why(args, _project(args))
    if command in ("ls", "list"):
        from weir.tui.cli.commands import run_ls

        return run_ls(args, _project(args))
    if command == "replay":
        from weir.tui.app.replay import run_replay

        return run_replay(Path(args.file), speed=args.speed)
    if command == "doctor":
        from weir.tui.cli.commands import run_doctor

        return run_doctor(args, _project(args))
    if command in ("approve-scripts", "deny-scripts", "install-scripts"):
        from weir.tui.cli.scripts_cli import run as run_script_policy

        return run_script_policy(args, _project(args))
    return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
