"""npm's file conventions, as a user meets them: what `weir add`/`weir remove` save, the
modes of the files weir writes, and what weir says about .npmrc lines it does not know.

Every expectation was measured with npm 11.19.1 on the same inputs (the public registry's
lodash stood in for the loopback's ``c``: ``lodash@^4`` saves ``^4.18.1``, ``-E
lodash@^4`` saves ``4.18.1``, ``lodash@4.17.21`` saves ``^4.17.21``, ``lodash@>=1 <3``
saves ``^2.4.2``, ``lodash@>=3 <4.17.21`` and ``lodash@~4.17.0`` are saved as typed,
``--save-prefix=~ lodash@^4`` saves ``~4.18.1``, ``lo@npm:lodash`` saves
``npm:lodash@^4.18.1``, ``lodash@`` and ``lodash@*`` save ``^4.18.1``).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from loopback import LoopbackRegistry
from test_install_e2e import weir

UMASK = os.umask(0o022)
os.umask(UMASK)


def saved(project: Path, field: str = "dependencies") -> dict[str, str]:
    return json.loads((project / "package.json").read_text())[field]


@pytest.fixture
def empty_app(small_graph: LoopbackRegistry, project: Callable[..., Path]) -> Path:
    return project({"name": "app", "version": "1.0.0"})


# c has 1.0.0, 1.1.0 and 2.0.0 (latest) in the small graph.
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["c"], {"c": "^2.0.0"}),
        (["c@latest"], {"c": "^2.0.0"}),
        (["c@1"], {"c": "^1.1.0"}),
        (["c@^1"], {"c": "^1.1.0"}),
        (["c@^1", "-E"], {"c": "1.1.0"}),
        (["c@1.0.0"], {"c": "^1.0.0"}),
        (["c@>=1 <2"], {"c": "^1.1.0"}),
        (["c@>=1.0.0 <1.1.0"], {"c": ">=1.0.0 <1.1.0"}),
        (["c@>=1.0.0 <1.1.0", "-E"], {"c": "1.0.0"}),
        (["c@~1.0.0"], {"c": "~1.0.0"}),
        (["c@*"], {"c": "^2.0.0"}),
        (["c@"], {"c": "^2.0.0"}),
        (["c@^1", "--save-prefix", "~"], {"c": "~1.1.0"}),
        (["cc@npm:c@^1"], {"cc": "npm:c@^1.1.0"}),
        (["cc@npm:c"], {"cc": "npm:c@^2.0.0"}),
        (["cc@npm:c@1", "-E"], {"cc": "npm:c@1.1.0"}),
    ],
)
def test_add_saves_what_npm_saves(
    empty_app: Path, cache_dir: Path, small_graph: LoopbackRegistry, args: list[str], expected: dict[str, str]
) -> None:
    out = weir(empty_app, cache_dir, small_graph, "install", "--lockfile-only", *args)
    assert out.returncode == 0, out.stderr
    assert saved(empty_app) == expected
    lock = json.loads((empty_app / "package-lock.json").read_text())
    assert lock["packages"][""]["dependencies"] == expected


def test_save_exact_and_save_prefix_from_npmrc(
    project: Callable[..., Path], cache_dir: Path, small_graph: LoopbackRegistry
) -> None:
    app = project({"name": "app", "version": "1.0.0"}, npmrc="save-prefix=~\n")
    assert weir(app, cache_dir, small_graph, "install", "--lockfile-only", "c@^1").returncode == 0
    assert saved(app) == {"c": "~1.1.0"}
    (app / ".npmrc").write_text("save-prefix=~\nsave-exact=true\n")
    assert weir(app, cache_dir, small_graph, "install", "--lockfile-only", "tool@latest").returncode == 0
    assert saved(app) == {"c": "~1.1.0", "tool": "1.0.0"}


def test_remove_drops_the_emptied_dependency_object(
    project: Callable[..., Path], cache_dir: Path, small_graph: LoopbackRegistry
) -> None:
    app = project({"name": "app", "version": "1.0.0", "dependencies": {"c": "^2.0.0"}, "devDependencies": {"tool": "^1.0.0"}})
    out = weir(app, cache_dir, small_graph, "remove", "tool")
    assert out.returncode == 0, out.stderr
    pkg = json.loads((app / "package.json").read_text())
    assert pkg == {"name": "app", "version": "1.0.0", "dependencies": {"c": "^2.0.0"}}
    assert "devDependencies" not in json.loads((app / "package-lock.json").read_text())["packages"][""]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_written_files_keep_their_mode_or_get_the_umasks(app_with_tool: Path, cache_dir: Path, small_graph: LoopbackRegistry) -> None:
    """npm keeps an existing file's permission bits and gives a new file 0666 minus the umask."""
    (app_with_tool / "package.json").chmod(0o664)
    out = weir(app_with_tool, cache_dir, small_graph, "install", "c@^1")
    assert out.returncode == 0, out.stderr
    assert mode(app_with_tool / "package.json") == 0o664
    new_file = 0o666 & ~UMASK
    assert mode(app_with_tool / "package-lock.json") == new_file
    assert mode(app_with_tool / "node_modules/.package-lock.json") == new_file
    (app_with_tool / "package-lock.json").chmod(0o640)
    out = weir(app_with_tool, cache_dir, small_graph, "remove", "c")
    assert out.returncode == 0, out.stderr
    assert mode(app_with_tool / "package-lock.json") == 0o640
    assert mode(app_with_tool / "package.json") == 0o664


@pytest.fixture
def app_with_tool(small_graph: LoopbackRegistry, project: Callable[..., Path]) -> Path:
    return project({"name": "app", "version": "1.0.0", "dependencies": {"tool": "^1.0.0"}})
