"""How each installer is told to resolve or install, with its own cache and lockfile.

Rules:
- Every tool gets ``--ignore-scripts``, the registry under test, a cache
  folder the harness owns, and a HOME of its own (so no user config, no
  global store and no update check leaks in).
- The full install from nothing (p0) is each tool's plain install with no
  lockfile (so pnpm and bun without ``--frozen-lockfile``).
- Resolve phases (p1, p2) use each tool's lockfile-only mode; install phases
  (p3-p5) install from the tool's own lockfile, made once per run in setup:
  npm, weir and utoo read package-lock.json (utoo's own format; its
  ``resolved`` URLs are pointed at the mirror, since utoo fetches them
  verbatim), pnpm's comes from ``pnpm import``, bun's from bun's migration of
  package-lock.json. So every tool installs the same versions.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import peers
from .snapshot import PUBLIC_REGISTRY

TOOLS = ("weir", "npm", "pnpm", "bun", "utoo")
PEERS = ("npm", "pnpm", "bun", "utoo")


@dataclass(frozen=True, slots=True)
class Context:
    """One tool's folders and registry for one run of the harness."""

    registry: str  # ends with "/"
    cache: Path
    home: Path


@dataclass(frozen=True, slots=True)
class Tool:
    name: str  # the label in reports ("weir", "weir@1a2b3c4", "bun")
    kind: str  # which installer it is: decides its lockfile setup and environment
    lockfile: str  # the file name it installs from
    full: Callable[[Context], list[str]]  # install with no lockfile (p0)
    resolve: Callable[[Context], list[str]]
    install: Callable[[Context], list[str]]
    version: Callable[[], str]

    def env(self, ctx: Context) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
        env.update(
            HOME=str(ctx.home),
            XDG_CACHE_HOME=str(ctx.home / ".cache"),
            XDG_CONFIG_HOME=str(ctx.home / ".config"),
            XDG_DATA_HOME=str(ctx.home / ".local/share"),
            XDG_STATE_HOME=str(ctx.home / ".local/state"),
            npm_config_update_notifier="false",
            NO_UPDATE_NOTIFIER="1",
        )
        env.pop("CI", None)
        if self.kind == "pnpm":
            env.update(npm_config_store_dir=str(ctx.cache / "store"),
                       npm_config_cache_dir=str(ctx.cache / "metadata"),
                       npm_config_registry=ctx.registry)
        if self.kind == "bun":
            env.update(BUN_CONFIG_REGISTRY=ctx.registry,
                       BUN_INSTALL_CACHE_DIR=str(ctx.cache))
        return env


def _output(cmd: list[str]) -> str:
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)
    return (done.stdout.strip() or done.stderr.strip()).splitlines()[-1] if done.returncode == 0 \
        else f"unavailable (exit {done.returncode})"


def weir_binary() -> str:
    return str(Path(sys.executable).parent / "weir")


def compile_weir() -> None:
    """Write weir's bytecode, as installing a wheel does.

    An editable install under ``PYTHONDONTWRITEBYTECODE`` (set on some
    machines) would otherwise compile every module from source on every run
    and charge weir for it in each phase.
    """
    import compileall

    import weir.core
    import weir.tui

    for package in (weir.core, weir.tui):
        for folder in package.__path__:
            compileall.compile_dir(folder, quiet=1)


NPM_COMMON = ["--ignore-scripts", "--no-audit", "--no-fund"]


def _npm(extra: list[str]) -> Callable[[Context], list[str]]:
    return lambda c: [peers.npm_binary(), "install", *extra, *NPM_COMMON,
                      "--cache", str(c.cache), "--registry", c.registry]


def _pnpm(extra: list[str]) -> Callable[[Context], list[str]]:
    return lambda c: [str(peers.peer_binary("pnpm")), "install", *extra, "--ignore-scripts",
                      "--registry", c.registry]


def _bun(extra: list[str]) -> Callable[[Context], list[str]]:
    return lambda c: [str(peers.peer_binary("bun")), "install", *extra, "--ignore-scripts",
                      "--cache-dir", str(c.cache)]


def _weir(extra: list[str], binary: str | None = None) -> Callable[[Context], list[str]]:
    return lambda c: [binary or weir_binary(), "install", *extra, "--ignore-scripts", "--reporter",
                      "plain", "--registry", c.registry, "--cache", str(c.cache)]


def weir_tool(name: str, binary: str | None = None) -> Tool:
    """weir as a tool; ``binary`` runs another build of it (a ``--baseline``)."""
    return Tool(name, "weir", "package-lock.json", _weir([], binary), _weir(["--lockfile-only"], binary),
                _weir([], binary),
                lambda: _output([binary or weir_binary(), "--version"]).removeprefix("weir "))


def _utoo(command: str, extra: list[str]) -> Callable[[Context], list[str]]:
    return lambda c: [str(peers.peer_binary("utoo")), command, *extra, "--registry",
                      c.registry, "--cache-dir", str(c.cache)]


ALL: dict[str, Tool] = {
    "weir": weir_tool("weir"),
    "npm": Tool("npm", "npm", "package-lock.json", _npm([]), _npm(["--package-lock-only"]), _npm([]),
                peers.npm_version),
    "pnpm": Tool("pnpm", "pnpm", "pnpm-lock.yaml", _pnpm([]), _pnpm(["--lockfile-only"]),
                 _pnpm(["--frozen-lockfile"]), lambda: peers.peer_version("pnpm") or "?"),
    "bun": Tool("bun", "bun", "bun.lock", _bun([]), _bun(["--lockfile-only"]),
                _bun(["--frozen-lockfile"]), lambda: peers.peer_version("bun") or "?"),
    "utoo": Tool("utoo", "utoo", "package-lock.json", _utoo("install", ["--ignore-scripts"]),
                 _utoo("deps", []), _utoo("install", ["--ignore-scripts"]),
                 lambda: peers.peer_version("utoo") or "?"),
}


def make_lockfile(tool: Tool, fixture: Path, dest: Path, ctx: Context, timeout: float = 1800) -> None:
    """Write ``tool``'s lockfile for ``fixture`` into the folder ``dest`` (untimed setup)."""
    dest.mkdir(parents=True, exist_ok=True)
    package_json = (fixture / "package.json").read_bytes()
    npm_lock = (fixture / "package-lock.json").read_text()
    (dest / "package.json").write_bytes(package_json)
    if tool.kind in ("npm", "weir"):
        (dest / "package-lock.json").write_text(npm_lock)
        return
    if tool.kind == "utoo":
        (dest / "package-lock.json").write_text(npm_lock.replace(PUBLIC_REGISTRY, ctx.registry))
        return
    (dest / "package-lock.json").write_text(npm_lock)
    if tool.kind == "pnpm":
        cmd = [str(peers.peer_binary("pnpm")), "import"]  # registry: npm_config_registry
    else:
        cmd = _bun(["--lockfile-only"])(ctx)
    try:
        done = subprocess.run(cmd, check=False, cwd=dest, env=tool.env(ctx), capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{tool.name}: making {tool.lockfile} took over {timeout:.0f} s "
                           "(raise --timeout)") from exc
    if done.returncode != 0 or not (dest / tool.lockfile).is_file():
        raise RuntimeError(f"{tool.name}: making {tool.lockfile} failed: "
                           f"{(done.stdout + done.stderr)[-800:]}")
    (dest / "package-lock.json").unlink()
