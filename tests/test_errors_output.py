"""What a user sees when something goes wrong: one clear message and the documented exit code, never a traceback."""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from loopback import LoopbackRegistry

from weir.core import events as ev
from weir.core.errors import EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_NETWORK, NetworkError
from weir.core.install import InstallOptions, install
from weir.tui.cli.main import run_guarded


def _weir(project: Path, cache: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    env.update(CI="true", npm_config_userconfig=os.devnull)  # not this machine's ~/.npmrc
    cmd = [sys.executable, "-m", "weir.tui.cli.main", *args, "--cache", str(cache), "-C", str(project)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


def _args(cache: Path, project: Path) -> argparse.Namespace:
    return argparse.Namespace(cache=str(cache), prefix=str(project))


def _raises(exc: BaseException) -> Callable[[], int]:
    def work() -> int:
        raise exc

    return work


def test_an_internal_error_is_one_line_naming_the_bug_and_the_saved_traceback(
    tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def buggy() -> int:
        {}["x"]  # noqa: B018 - the bug
        return 0

    def in_tasks() -> int:
        try:
            buggy()
        except KeyError as exc:
            raise ExceptionGroup("unhandled errors in a TaskGroup", [ExceptionGroup("inner", [exc])]) from None
        return 0

    assert run_guarded(_args(cache_dir, tmp_path), in_tasks) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "a bug in weir" in err and "KeyError: 'x'" in err and "ExceptionGroup" not in err
    (saved,) = (cache_dir / "logs").glob("weir-crash-*.log")
    assert str(saved) in err
    log = saved.read_text()
    assert "Traceback" in log and "in buggy" in log and "KeyError: 'x'" in log


def test_a_weir_error_inside_task_groups_is_reported_as_itself(
    tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused = NetworkError("cannot reach the registry", package="left-pad", spec="^1.0.0", path=("app",), hint="run weir doctor")
    group = ExceptionGroup("tasks", [ExceptionGroup("inner", [refused]), RuntimeError("a cancelled sibling")])
    assert run_guarded(_args(cache_dir, tmp_path), _raises(group)) == EXIT_NETWORK
    err = capsys.readouterr().err
    assert err.startswith("weir: ENETWORK: cannot reach the registry\n") and "left-pad@^1.0.0" in err
    assert "Traceback" not in err and not (cache_dir / "logs").exists()


def test_ctrl_c_in_several_tasks_at_once_is_an_interruption(
    tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    group = BaseExceptionGroup("tasks", [KeyboardInterrupt(), KeyboardInterrupt()])
    assert run_guarded(_args(cache_dir, tmp_path), _raises(group)) == EXIT_INTERRUPTED
    assert "interrupted" in capsys.readouterr().err


def test_a_workspace_spec_without_that_workspace_is_bad_input(
    project: Callable[..., Path], cache_dir: Path
) -> None:
    app = project({"name": "app", "version": "1.0.0", "dependencies": {"x": "workspace:*"}})
    out = _weir(app, cache_dir, "install")
    assert out.returncode == EXIT_INPUT, out.stderr
    assert "Traceback" not in out.stderr and "KeyError" not in out.stderr
    assert 'ENOWORKSPACE: "x": "workspace:*" asks for a workspace, and this project has no workspace named x' in out.stderr
    assert "required by: app" in out.stderr and '"workspaces"' in out.stderr
    assert not (app / "package-lock.json").exists()


def _refused_url() -> str:
    """A loopback URL where nothing listens (a port just freed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_a_refused_registry_fails_fast_naming_the_package_its_dependent_and_weir_doctor(
    project: Callable[..., Path], cache_dir: Path
) -> None:
    """npm's default retries (fetch-retries=2, backoff from 10 s) once made this take 17-25 s and say ConnectTimeout."""
    url = _refused_url()
    app = project({"name": "app", "version": "1.0.0", "dependencies": {"left-pad": "^1.0.0"}})
    started = time.perf_counter()
    out = _weir(app, cache_dir, "install", "--registry", url)
    elapsed = time.perf_counter() - started
    assert out.returncode == EXIT_NETWORK, out.stderr
    assert elapsed < 8, f"a refused connection took {elapsed:.1f} s to report"
    message = out.stderr[out.stderr.index("weir: ") :]
    host = url.removeprefix("http://")
    assert message.startswith(f"weir: ECONNREFUSED: connection refused by {host}: GET {url}/left-pad failed after 3 attempt(s)\n")
    assert "  package: left-pad@^1.0.0\n  required by: app\n" in message
    assert "weir doctor" in message
    assert "ConnectTimeout" not in out.stderr and "ssl:default" not in out.stderr
    assert out.stderr.count("connection refused") == 3  # two retries announced, then the error


class _Recorder(ev.Reporter):
    def __init__(self, seen: list[ev.Event]) -> None:
        self.seen = seen

    def event(self, event: ev.Event) -> None:
        self.seen.append(event)


def _children() -> set[int]:
    """This process's live child processes (Linux: every thread's children list)."""
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            pids.update(int(pid) for pid in (task / "children").read_text().split())
    return pids


def test_an_install_reaps_its_extraction_workers_itself(
    small_graph: LoopbackRegistry, project: Callable[..., Path], cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers left to anyio's shutdown were killed twice, and 3 cold installs in 20 printed
    "Unknown child process pid N, will report returncode 255" (the second kill reaped the
    first one's corpse before asyncio's watcher could). None may outlive ``install``."""
    for name in [n for n in os.environ if n.lower().startswith("npm_config_")]:
        monkeypatch.delenv(name)
    app = project({"name": "app", "version": "1.0.0", "dependencies": {"a": "^1.0.0", "tool": "^1.0.0"}})
    before = _children()
    options = InstallOptions(project=app, cli_config={"registry": small_graph.url, "cache": str(cache_dir)})
    seen: list[ev.Event] = []

    async def run() -> set[int]:
        await install(options, _Recorder(seen))
        return _children() - before

    assert anyio.run(run) == set()
    assert any(isinstance(e, ev.JobStarted) and e.kind == "extract" for e in seen), "nothing was extracted"
    assert (app / "node_modules" / "a" / "package.json").is_file()
