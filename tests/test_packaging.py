"""What `python -m pip install .` ships: the wheel holds every module, and README's run command works from it.

Development and CI use an editable install, which maps whole folders and so
cannot notice a subpackage missing from the wheel (a hand-written package
list once shipped without ``weir.core.linker``). These tests build the real
wheel, offline (``--no-build-isolation``, the test environment's
setuptools), once per module, from a clean copy of the sources.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import LoopbackRegistry

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "core", "tui")
PACKAGE_FOLDERS = {"core": "weir/core", "tui": "weir/tui"}
HELLO_PRINTS = "weir installed this; 2 hours well spent"  # what `node index.js` prints after `npm install`


def _source_files() -> set[str]:
    """Every module and stylesheet under core/ and tui/, as its path inside the wheel."""
    wanted = set()
    for folder, package in PACKAGE_FOLDERS.items():
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".tcss") and "__pycache__" not in path.parts:
                wanted.add(f"{package}/{path.relative_to(ROOT / folder).as_posix()}")
    return wanted


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip install .` would install, built from a copy (no stale build/ folder can leak in)."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    out = work / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
        text=True,
    )
    (built,) = out.glob("weir-*.whl")
    return built


def test_the_wheel_holds_every_module_and_stylesheet(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    wanted = _source_files()
    assert "weir/core/linker/plan.py" in wanted and "weir/tui/app/screens/live.tcss" in wanted
    assert wanted - shipped == set()


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the wheel (no deps); its dependencies come from this test run's environment.

    The venv's own site-packages comes first on its path, so ``weir`` is the
    wheel's; a .pth line adds this environment's site-packages after it for
    textual, anyio and the rest (a path line does not run that folder's own
    .pth files, so an editable weir there stays inactive).
    """
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
        check=True,
        capture_output=True,
        text=True,
    )
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env_dir


def _hello_registry(registry: LoopbackRegistry) -> None:
    """examples/hello's dependency graph (chalk 4's and ms 2's), with stand-ins that print as the real ones do.

    Off a terminal chalk adds no colour; ms(90 minutes, long) rounds to "2 hours".
    """
    registry.add(
        "chalk",
        "4.1.2",
        dependencies={"ansi-styles": "^4.1.0", "supports-color": "^7.1.0"},
        files={"index.js": "require('ansi-styles'); require('supports-color');\nmodule.exports = { green: (s) => s };\n"},
        extra_manifest={"main": "index.js"},
    )
    registry.add("ansi-styles", "4.3.0", dependencies={"color-convert": "^2.0.1"})
    registry.add("color-convert", "2.0.1", dependencies={"color-name": "~1.1.4"})
    registry.add("color-name", "1.1.4")
    registry.add("supports-color", "7.2.0", dependencies={"has-flag": "^4.0.0"})
    registry.add("has-flag", "4.0.0")
    registry.add(
        "ms",
        "2.1.3",
        files={
            "index.js": "module.exports = (ms, o) => {\n"
            "  const h = Math.round(ms / 3600000);\n"
            "  return o && o.long ? `${h} hour${h === 1 ? '' : 's'}` : `${h}h`;\n"
            "};\n"
        },
    )


@pytest.fixture
def hello(tmp_path: Path, registry: LoopbackRegistry) -> Iterator[Path]:
    """A copy of examples/hello with the loopback registry holding its dependencies."""
    _hello_registry(registry)
    project = tmp_path / "hello"
    shutil.copytree(ROOT / "examples" / "hello", project)
    yield project


def test_readme_run_command_works_from_the_installed_wheel(
    installed: Path, hello: Path, registry: LoopbackRegistry, tmp_path: Path
) -> None:
    """README's `pip install . && cd examples/hello && weir install && node index.js`, as a user runs it."""
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    env.update(
        CI="true",
        HOME=str(tmp_path / "home"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        npm_config_registry=registry.url,
        PATH=f"{installed / 'bin'}{os.pathsep}{env.get('PATH', '')}",
    )
    env.pop("PYTHONPATH", None)
    where = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import weir.core; print(weir.core.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(installed)), f"weir was imported from {where}, not from the wheel"
    weir = subprocess.run(["weir", "install"], cwd=hello, env=env, capture_output=True, text=True, timeout=120)
    assert weir.returncode == 0, weir.stderr
    node = subprocess.run(["node", "index.js"], cwd=hello, env=env, capture_output=True, text=True, timeout=60)
    assert node.returncode == 0, node.stderr
    assert node.stdout.strip() == HELLO_PRINTS
