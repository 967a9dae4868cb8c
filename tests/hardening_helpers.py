"""Shared machinery for the end-to-end hardening tests (tests/test_hardening_*.py).

Every hardening test runs the real `weir` command in a subprocess against the
loopback registry, inside a ``Sandbox``: a private HOME, a project, a cache and
a canary folder beside the project. Then it checks the four promises of
SECURITY.md:

1. nothing outside the project and the cache changed (HOME and the canary
   are byte-for-byte and inode-for-inode as before; no new entries beside
   the project);
2. a failure names the package and says what to do, with the documented
   exit code;
3. the previous node_modules and package-lock.json survive a failure
   (``State`` snapshots inode, mtime and bytes of every entry);
4. the cache holds no rejected content and no temp files.

Retries and timeouts are made tiny through the project's .npmrc
(``FAST_NPMRC``) so faults cost milliseconds, not minutes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from loopback import LoopbackRegistry

FAST_NPMRC = "fetch-retries=2\nfetch-retry-mintimeout=10\nfetch-retry-maxtimeout=50\nfetch-timeout=5000\n"
BASE = {"name": "app", "version": "1.0.0", "dependencies": {"base": "^1.0.0"}}

Snapshot = dict[str, tuple[int, int, str]]


def snapshot(root: Path) -> Snapshot:
    """Every entry under ``root`` (not following links) with inode, mtime and a digest of its bytes
    (a link's target, a directory's nothing): proves whether anything was touched."""
    seen: Snapshot = {}
    if not root.exists() and not root.is_symlink():
        return seen
    if not root.is_dir() or root.is_symlink():
        return {"": _stat(root)}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            p = Path(dirpath) / name
            seen[str(p.relative_to(root))] = _stat(p)
    return seen


def _stat(p: Path) -> tuple[int, int, str]:
    st = p.lstat()
    if p.is_symlink():
        digest = "->" + os.readlink(p)
    elif p.is_file():
        digest = hashlib.sha1(p.read_bytes()).hexdigest()
    else:
        digest = "dir"
    return (st.st_ino, st.st_mtime_ns, digest)


@dataclass(frozen=True, slots=True)
class State:
    """The project's installed state: node_modules and package-lock.json, exactly."""

    node_modules: Snapshot
    lockfile: bytes | None

    @classmethod
    def of(cls, project: Path) -> State:
        lock = project / "package-lock.json"
        return cls(snapshot(project / "node_modules"), lock.read_bytes() if lock.exists() else None)


@dataclass
class Sandbox:
    """tmp_path laid out as HOME, project, cache and canary; runs `weir` with HOME pointing inside."""

    root: Path
    registry: LoopbackRegistry
    home: Path = field(init=False)
    project: Path = field(init=False)
    cache: Path = field(init=False)
    canary: Path = field(init=False)
    _outside: tuple[Snapshot, Snapshot, frozenset[str]] | None = None

    def __post_init__(self) -> None:
        self.home = self.root / "home"
        self.project = self.root / "project"
        self.cache = self.root / "cache"
        self.canary = self.root / "canary"
        for d in (self.home, self.project, self.cache, self.canary):
            d.mkdir(parents=True, exist_ok=True)
        (self.canary / "keep.txt").write_text("must never change\n")
        (self.canary / "node_modules").mkdir(exist_ok=True)
        (self.home / ".bashrc").write_text("# canary\n")

    def write_project(self, package_json: Mapping[str, Any], npmrc: str = "") -> None:
        (self.project / "package.json").write_text(json.dumps(package_json, indent=2) + "\n")
        (self.project / ".npmrc").write_text(FAST_NPMRC + npmrc)

    def weir(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        registry: bool = True,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        """Run `weir ARGS` in the project (CI=true: plain lines on stderr)."""
        cmd, run_env = self._command(args, env, registry)
        return subprocess.run(cmd, capture_output=True, text=True, env=run_env, timeout=timeout, check=False)

    def weir_with_peak_rss(self, *args: str) -> tuple[subprocess.CompletedProcess[str], int]:
        """`weir ARGS` and that process's own peak RSS in KiB. ``os.wait4`` reports the usage of
        this one child; RUSAGE_CHILDREN keeps the largest of every child the test process ever
        waited for (npm's resolutions earlier in a session among them)."""
        cmd, run_env = self._command(args, None, True)
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=run_env)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read()), usage.ru_maxrss

    def _command(self, args: tuple[str, ...], env: Mapping[str, str] | None, registry: bool) -> tuple[list[str], dict[str, str]]:
        run_env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
        run_env.update(CI="true", HOME=str(self.home), XDG_CACHE_HOME=str(self.home / ".cache"))
        run_env.update(env or {})
        cmd = [sys.executable, "-m", "weir.tui.cli.main", *args, "--cache", str(self.cache), "-C", str(self.project)]
        if registry:
            cmd += ["--registry", self.registry.url]
        return cmd, run_env

    def popen(self, *args: str, env: Mapping[str, str] | None = None, new_session: bool = False) -> subprocess.Popen[bytes]:
        """`weir ARGS --reporter ndjson` started in the background (events on stdout, one per line).

        ``new_session``: its own process group, so a test can signal the whole group as a terminal does."""
        run_env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
        run_env.update(CI="true", HOME=str(self.home), XDG_CACHE_HOME=str(self.home / ".cache"))
        run_env.update(env or {})
        cmd = [sys.executable, "-m", "weir.tui.cli.main", *args, "--reporter", "ndjson"]
        cmd += ["--cache", str(self.cache), "-C", str(self.project), "--registry", self.registry.url]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=run_env, start_new_session=new_session)

    def mark_outside(self) -> None:
        """Remember HOME, the canary and what sits beside the project (call before the run under test)."""
        self._outside = (snapshot(self.home), snapshot(self.canary), frozenset(p.name for p in self.root.iterdir()))

    def assert_outside_untouched(self) -> None:
        assert self._outside is not None, "call mark_outside() first"
        home, canary, beside = self._outside
        assert snapshot(self.home) == home, "weir wrote into HOME"
        assert snapshot(self.canary) == canary, "weir wrote beside the project"
        assert frozenset(p.name for p in self.root.iterdir()) == beside, "weir created something beside the project"

    def install_base(self) -> State:
        """A working install of ``base@1.0.0`` (the registry must hold it); returns its State."""
        self.write_project(BASE)
        out = self.weir("install")
        assert out.returncode == 0, out.stderr
        return State.of(self.project)


def publish_base(registry: LoopbackRegistry) -> None:
    registry.add("base", "1.0.0", bin={"base": "cli.js"})


def sri(data: bytes, algorithm: str = "sha512") -> str:
    return f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def cache_problems(cache: Path, rejected: Iterable[bytes] = ()) -> list[str]:
    """Why the cache is not clean: temp files left, half-built entries, or an entry for rejected bytes."""
    problems: list[str] = []
    tmp = cache / "tmp"
    if tmp.exists():
        problems += [f"left in tmp/: {p.name}" for p in tmp.iterdir()]
    content = cache / "content"
    if content.exists():
        for entry in content.glob("*/*/*"):
            if not (entry / "manifest.json").is_file() or not (entry / "package").is_dir():
                problems.append(f"incomplete entry {entry}")
    for data in rejected:
        for alg in ("sha512", "sha1"):
            hexdigest = hashlib.new(alg, data).hexdigest()
            if (content / alg / hexdigest[:2] / hexdigest[2:]).exists():
                problems.append(f"rejected {alg} {hexdigest[:12]} is stored")
    for dirpath, _dirs, files in os.walk(cache):
        problems += [f"temp file {dirpath}/{f}" for f in files if f.endswith((".tmp", ".part")) or f.startswith(".tmp")]
    return problems


def assert_failed(out: subprocess.CompletedProcess[str], exit_code: int, *names: str) -> None:
    """The documented exit code, every given name in the message, and a next step."""
    assert out.returncode == exit_code, f"exit {out.returncode}, expected {exit_code}\n{out.stderr}"
    for name in names:
        assert name in out.stderr, f"{name!r} not named in:\n{out.stderr}"
    assert "what to do:" in out.stderr, f"no next step in:\n{out.stderr}"
    assert "Traceback" not in out.stderr, out.stderr


def events(stdout: str) -> list[dict[str, Any]]:
    """The ndjson event stream of `--reporter ndjson`."""
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, symlinks=True, dirs_exist_ok=True)


def base_template(registry: LoopbackRegistry, root: Path) -> Path:
    """A sandbox at ``root`` with base@1.0.0 installed: copy it per test with ``from_template``
    (one install per module instead of one per test)."""
    publish_base(registry)
    Sandbox(root, registry).install_base()
    return root


def shared_install_fixtures() -> tuple[Any, Any, Any]:
    """``reg, template, box = shared_install_fixtures()`` at the top of a suite module:
    one registry and one installed base project per module (built once), and for
    each test a fresh copy of that project."""

    @pytest.fixture(scope="module")
    def reg() -> Iterator[LoopbackRegistry]:
        with LoopbackRegistry() as registry:
            yield registry
        assert not registry.errors

    @pytest.fixture(scope="module")
    def template(reg: LoopbackRegistry, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
        return base_template(reg, tmp_path_factory.mktemp(f"{request.module.__name__}-template"))

    @pytest.fixture
    def box(reg: LoopbackRegistry, template: Path, tmp_path: Path) -> Sandbox:
        return from_template(template, tmp_path, reg)

    return reg, template, box


def from_template(template: Path, tmp_path: Path, registry: LoopbackRegistry) -> Sandbox:
    """A fresh sandbox in ``tmp_path`` holding a copy of the template's project and cache."""
    for part in ("project", "cache"):
        copy_tree(template / part, tmp_path / part)
    return Sandbox(tmp_path, registry)


def with_dep(box: Sandbox, name: str, spec: str = "1.0.0", npmrc: str = "") -> State:
    """Add ``name@spec`` to the base project's package.json; returns the state before the run."""
    box.write_project(dict(BASE, dependencies=dict(BASE["dependencies"], **{name: spec})), npmrc)
    box.mark_outside()
    return State.of(box.project)
