"""What a user sees when something goes wrong: one clear message and the documented exit code, never a traceback."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from weir.core.errors import EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_NETWORK, NetworkError
from weir.tui.cli import run_guarded


def _weir(project: Path, cache: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    env.update(CI="true")
    cmd = [sys.executable, "-m", "weir.tui.cli", *args, "--cache", str(cache), "-C", str(project)]
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
