"""Lifecycle scripts: the root project's always, dependencies' only when trusted.

Rules this module holds:

1. The root project's ``preinstall``, ``install``, ``postinstall`` and
   ``prepare`` run on every install, after all dependencies' scripts.
2. A dependency's ``preinstall``, ``install`` and ``postinstall`` (and the
   implicit ``node-gyp rebuild`` when it has a ``binding.gyp``, no
   ``install``/``preinstall`` script and not ``"gypfile": false``) run only if
   the package was (re)linked in this install and the install-script policy
   (``weir.core.linker.script_policy``: npm's ``allowScripts``, then bun's
   ``trustedDependencies``) allows it. Unreviewed ones are reported with
   ``ScriptsBlocked`` and returned; denied ones are skipped silently, as npm
   12 does. With ``strict-allow-scripts`` an unreviewed one fails the install
   (``ESTRICTALLOWSCRIPTS``) before any script runs.
3. Dependencies run before their dependents: a topological order over the
   dependency edges (resolved as Node resolves them: nearest ``node_modules``
   upward), ties and cycles broken deepest first, then by path. One package
   at a time, its events in lifecycle order, so output never interleaves.
4. A script runs as npm runs it: ``sh -c <script>``, cwd the package folder,
   ``PATH`` prefixed with every ``node_modules/.bin`` from the package folder
   up to the project, and ``npm_package_name``, ``npm_package_version``,
   ``npm_package_json``, ``npm_lifecycle_event``, ``npm_lifecycle_script``,
   ``npm_command``, ``npm_config_user_agent`` and ``INIT_CWD`` set.
   ``npm_execpath`` is left unset: scripts run it with node, and weir is not
   a JavaScript file.
5. Output (stdout and stderr, merged) goes to the reporter as ``LogLine``s.
   A non-zero exit fails the install with ``ScriptError`` naming the package,
   event, exit code and the last lines of output; for an optional dependency
   it is a ``Warned(code="optional-script-failed")`` and its remaining events
   are skipped.
6. ``ignore_scripts`` runs nothing and reports nothing blocked.
"""

from __future__ import annotations

import collections
import heapq
import os
import platform
import subprocess
import sys
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from weir.core import __version__
from weir.core.errors import InputError, ScriptError
from weir.core.events import LogLine, Reporter, ScriptRan, ScriptsBlocked, Warned
from weir.core.tree.lockfile import LockEntry, collation_key
from weir.core.npm.package_json import read_package_json
from weir.core.linker.script_policy import Policy, display, read_policy
from weir.core.tree.paths import depth, in_node_modules, resolve_location

DEPENDENCY_EVENTS = ("preinstall", "install", "postinstall")
ROOT_EVENTS = ("preinstall", "install", "postinstall", "prepare")
NODE_GYP_REBUILD = "node-gyp rebuild"
TAIL_LINES = 20


@dataclass(frozen=True, slots=True)
class PackageScripts:
    path: str  # install path; "" for the root project
    name: str
    version: str
    scripts: tuple[tuple[str, str], ...]  # (event, command) in the order they run
    optional: bool = False


@dataclass(frozen=True, slots=True)
class ScriptsResult:
    ran: tuple[tuple[str, str], ...]  # (path, event) that exited 0
    blocked: tuple[PackageScripts, ...]
    failed_optional: tuple[str, ...]  # paths


def lifecycle(
    project: Path, path: str, events: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    """The scripts ``path``'s package.json declares for ``events``, with the implicit gyp build."""
    folder = project / path if path else project
    try:
        manifest = read_package_json(folder / "package.json")
    except (
        InputError
    ):  # a broken dependency manifest declares nothing, as npm treats it
        return ()
    scripts = dict(manifest.scripts)
    if (
        "install" in events
        and manifest.raw.get("gypfile") is not False
        and "install" not in scripts
        and "preinstall" not in scripts
        and (folder / "binding.gyp").is_file()
    ):
        scripts["install"] = NODE_GYP_REBUILD
    return tuple((event, scripts[event]) for event in events if scripts.get(event))


def script_paths(
    desired: Mapping[str, LockEntry], changed: Collection[str], policy: Policy
) -> set[str]:
    """Changed packages whose scripts will run: the linker gives them private copies."""
    return {
        p
        for p in changed
        if desired[p].has_install_script and policy.verdict(desired[p]) is True
    }


def build_order(desired: Mapping[str, LockEntry]) -> list[str]:
    """Every installed package path, dependencies before dependents (rule 3)."""
    nodes = [p for p in desired if in_node_modules(p) and not desired[p].link]
    deps: dict[str, set[str]] = {p: set() for p in nodes}
    dependents: dict[str, list[str]] = {p: [] for p in nodes}
    for path in nodes:
        entry = desired[path]
        for name in {
            **entry.dependencies,
            **entry.optional_dependencies,
            **entry.peer_dependencies,
        }:
            found = resolve_location(desired, path, name)
            if (
                found is not None
                and found in deps
                and found != path
                and found not in deps[path]
            ):
                deps[path].add(found)
                dependents[found].append(path)

    def key(p: str) -> tuple[int, tuple]:
        return (-depth(p), collation_key(p))

    waiting = {p: len(d) for p, d in deps.items()}
    ready = [(key(p), p) for p, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while waiting:
        if not ready:  # a cycle: release its deepest, first member
            stuck = min(waiting, key=key)
            ready.append((key(stuck), stuck))
        _, path = heapq.heappop(ready)
        if path not in waiting:
            continue
        del waiting[path]
        order.append(path)
        for child in dependents[path]:
            if child in waiting:
                waiting[child] -= 1
                if waiting[child] == 0:
                    heapq.heappush(ready, (key(child), child))
    return order


def run_scripts(
    project: Path,
    desired: Mapping[str, LockEntry],
    changed: Collection[str],
    *,
    reporter: Reporter | None = None,
    ignore_scripts: bool = False,
    policy: Policy | None = None,
) -> ScriptsResult:
    """Run the install scripts this install owes (rules 1-2); returns what ran and what was blocked."""
    reporter = reporter or Reporter()
    if ignore_scripts:
        return ScriptsResult(ran=(), blocked=(), failed_optional=())
    root = read_package_json(project / "package.json")
    policy = policy if policy is not None else read_policy(root.raw, {})
    runnable: list[PackageScripts] = []
    blocked: list[PackageScripts] = []
    for path in build_order(desired):
        if path not in changed:
            continue
        entry = desired[path]
        scripts = lifecycle(project, path, DEPENDENCY_EVENTS)
        if not scripts:
            continue
        pkg = PackageScripts(
            path,
            entry.name,
            entry.version or "",
            scripts,
            entry.optional or entry.dev_optional,
        )
        verdict = policy.verdict(entry)
        if verdict is True:
            runnable.append(pkg)
        elif verdict is None:
            blocked.append(pkg)
    if blocked and policy.strict:
        raise _strict_error(blocked, desired)
    for pkg in blocked:
        reporter.event(
            ScriptsBlocked(package=display(desired[pkg.path]), events=tuple(e for e, _ in pkg.scripts))
        )
    root_scripts = lifecycle(project, "", ROOT_EVENTS)
    if root_scripts:
        runnable.append(
            PackageScripts(
                "", root.name or project.name, root.version or "", root_scripts
            )
        )
    ran: list[tuple[str, str]] = []
    failed: list[str] = []
    for pkg in runnable:
        for event, command in pkg.scripts:
            code, tail = _run_one(project, pkg, event, command, reporter)
            if code == 0:
                ran.append((pkg.path, event))
                continue
            where = f"{pkg.name}@{pkg.version}" if pkg.version else pkg.name
            if pkg.optional:
                reporter.event(
                    Warned(
                        code="optional-script-failed",
                        message=f"{where} {event} script failed (exit {code}); the optional dependency may not work",
                        package=pkg.name,
                    )
                )
                failed.append(pkg.path)
                break
            raise ScriptError(
                f"{where} {event} script failed with exit code {code}: {command}\n"
                + "\n".join(f"    {line}" for line in tail),
                package=pkg.name,
                spec=pkg.version or None,
                hint=f"read the output above; the script ran in {project / pkg.path if pkg.path else project}",
            )
    return ScriptsResult(
        ran=tuple(ran), blocked=tuple(blocked), failed_optional=tuple(failed)
    )


def _strict_error(blocked: list[PackageScripts], desired: Mapping[str, LockEntry]) -> ScriptError:
    lines = [
        f"  {display(desired[p.path])} ({'; '.join(f'{e}: {c}' for e, c in p.scripts)})" for p in blocked
    ]
    names = " ".join(sorted({p.name for p in blocked}))
    return ScriptError(
        f"strict-allow-scripts: {len(blocked)} package(s) have install scripts not covered by allowScripts:\n"
        + "\n".join(lines),
        package=blocked[0].name,
        spec=blocked[0].version or None,
        hint=f"review them, then `weir approve-scripts {names}` (or `weir install-scripts deny NAME`)",
        code="ESTRICTALLOWSCRIPTS",
    )


def _run_one(
    project: Path, pkg: PackageScripts, event: str, command: str, reporter: Reporter
) -> tuple[int, list[str]]:
    folder = project / pkg.path if pkg.path else project
    env = dict(os.environ)
    env.update(
        npm_package_name=pkg.name,
        npm_package_version=pkg.version,
        npm_package_json=str(folder / "package.json"),
        npm_lifecycle_event=event,
        npm_lifecycle_script=command,
        npm_command="install",
        npm_config_user_agent=(
            f"weir/{__version__} python/{platform.python_version()} {sys.platform} {platform.machine()}"
        ),
        INIT_CWD=str(project),
    )
    env["PATH"] = os.pathsep.join(
        [*_bin_dirs(project, folder), env.get("PATH", os.defpath)]
    )
    started = time.perf_counter()
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    with subprocess.Popen(
        ["sh", "-c", command],
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            tail.append(line)
            reporter.event(LogLine(level="info", message=f"{pkg.name} {event}: {line}"))
        code = proc.wait()
    reporter.event(
        ScriptRan(
            package=pkg.name,
            event=event,
            exit_code=code,
            elapsed=time.perf_counter() - started,
        )
    )
    return code, list(tail)


def _bin_dirs(project: Path, folder: Path) -> list[str]:
    out = []
    current = folder
    while True:
        out.append(str(current / "node_modules" / ".bin"))
        if current == project or current == current.parent:
            return out
        current = current.parent

