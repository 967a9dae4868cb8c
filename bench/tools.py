"""How each installer is told to resolve or install, with its own cache and lockfile.

Rules:
- Every tool gets ``--ignore-scripts``, the registry under test, a cache
  folder the harness owns, and a HOME of its own (so no user config, no
  global store and no update check leaks in).
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
    name: str
    lockfile: str  # the file name it installs from
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
        if self.name == "pnpm":
            env.update(npm_config_store_dir=str(ctx.cache / "store"),
                       npm_config_cache_dir=str(ctx.cache / "metadata"),
                       npm_config_registry=ctx.registry)
        if self.name == "bun":
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


def _weir(extra: list[str]) -> Callable[[Context], list[str]]:
    return lambda c: [weir_binary(), "install", *extra, "--ignore-scripts", "--reporter",
                      "plain", "--registry", c.registry, "--cache", str(c.cache)]


def _utoo(command: str, extra: list[str]) -> Callable[[Context], list[str]]:
    return lambda c: [str(peers.peer_binary("utoo")), command, *extra, "--registry",
                      c.registry, "--cache-dir", str(c.cache)]


ALL: dict[str, Tool] = {
    "weir": Tool("weir", "package-lock.json", _weir(["--lockfile-only"]), _weir([]),
                 lambda: _output([weir_binary(), "--version"]).removeprefix("weir ")),
    "npm": Tool("npm", "package-lock.json", _npm(["--package-lock-only"]), _npm([]),
                peers.npm_version),
    "pnpm": Tool("pnpm", "pnpm-lock.yaml", _pnpm(["--lockfile-only"]),
                 _pnpm(["--frozen-lockfile"]), lambda: peers.peer_version("pnpm") or "?"),
    "bun": Tool("bun", "bun.lock", _bun(["--lockfile-only"]), _bun(["--frozen-lockfile"]),
                lambda: peers.peer_version("bun") or "?"),
    "utoo": Tool("utoo", "package-lock.json", _utoo("deps", []),
                 _utoo("install", ["--ignore-scripts"]), lambda: peers.peer_version("utoo") or "?"),
}


def make_lockfile(tool: Tool, fixture: Path, dest: Path, ctx: Context) -> None:
    """Write ``tool``'s lockfile for ``fixture`` into the folder ``dest`` (untimed setup)."""
    dest.mkdir(parents=True, exist_ok=True)
    package_json = (fixture / "package.json").read_bytes()
    npm_lock = (fixture / "package-lock.json").read_text()
    (dest / "package.json").write_bytes(package_json)
    if tool.name in ("npm", "weir"):
        (dest / "package-lock.json").write_text(npm_lock)
        return
    if tool.name == "utoo":
        (dest / "package-lock.json").write_text(npm_lock.replace(PUBLIC_REGISTRY, ctx.registry))
        return
    (dest / "package-lock.json").write_text(npm_lock)
    if tool.name == "pnpm":
        cmd = [str(peers.peer_binary("pnpm")), "import"]  # registry: npm_config_registry
    else:
        cmd = _bun(["--lockfile-only"])(ctx)
    done = subprocess.run(cmd, check=False, cwd=dest, env=tool.env(ctx), capture_output=True, text=True)
    if done.returncode != 0 or not (dest / tool.lockfile).is_file():
        raise RuntimeError(f"{tool.name}: making {tool.lockfile} failed: "
                           f"{(done.stdout + done.stderr)[-800:]}")
    (dest / "package-lock.json").unlink()
