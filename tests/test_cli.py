"""The command line: cheap startup, npm-style flags, stable exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from weir.core import __version__


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "weir.tui.cli.main", *args], capture_output=True, text=True)


def _imported_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("flag", ["--version", "--help"])
def test_startup_imports_no_ui_or_network_stack(flag: str) -> None:
    mods = _imported_after(
        "from weir.tui.cli.main import main\n"
        f"try:\n    main(['{flag}'])\nexcept SystemExit:\n    pass"
    )
    for heavy in ("textual", "httpx", "anyio", "rich"):
        assert heavy not in mods, f"`weir {flag}` imported {heavy}"


def test_version_prints_the_package_version() -> None:
    out = _run("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"weir {__version__}"


def test_help_lists_commands_and_exit_codes() -> None:
    out = _run("--help")
    assert out.returncode == 0
    for word in ("install", "ci", "why", "ls", "replay", "remove", "exit codes:", "130"):
        assert word in out.stdout


@pytest.mark.parametrize("command", ["install", "i", "add", "ci", "remove", "why", "ls", "replay", "doctor"])
def test_every_command_has_help(command: str) -> None:
    out = _run(command, "--help")
    assert out.returncode == 0, out.stderr
    assert "usage: weir" in out.stdout


def test_unknown_command_exits_2_with_usage() -> None:
    out = _run("instal")
    assert out.returncode == 2
    assert "usage: weir" in out.stderr
    assert "invalid choice" in out.stderr


def test_bad_flag_exits_2() -> None:
    out = _run("install", "--link-mode", "teleport")
    assert out.returncode == 2
    assert "--link-mode" in out.stderr


def test_npm_spelling_of_lockfile_only_is_accepted() -> None:
    from weir.tui.cli.main import build_parser

    args = build_parser().parse_args(["install", "--package-lock-only"])
    assert args.lockfile_only is True
