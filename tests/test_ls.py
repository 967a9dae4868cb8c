"""`weir ls` end to end: a real install against the loopback registry, then the tree as npm prints it.

app depends on a and d; a on b and c@^2; b on c@^1 (nested under b); d on
c@^2 (the hoisted copy again, so `deduped`).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from loopback import LoopbackRegistry
from test_install_e2e import weir


@pytest.fixture
def installed(registry: LoopbackRegistry, project: Callable[..., Path], cache_dir: Path) -> Path:
    registry.add("a", "1.0.0", dependencies={"b": "^1.0.0", "c": "^2.0.0"})
    registry.add("b", "1.0.0", dependencies={"c": "^1.0.0"})
    registry.add("d", "1.0.0", dependencies={"c": "^2.0.0"})
    registry.add("c", "1.1.0")
    registry.add("c", "2.0.0")
    app = project({"name": "app", "version": "1.0.0", "dependencies": {"a": "^1.0.0", "d": "^1.0.0"}})
    out = weir(app, cache_dir, registry, "install")
    assert out.returncode == 0, out.stderr
    return app


def npm_ls(app: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["npm", "ls", "--offline", *args], check=False, cwd=app, capture_output=True, text=True, timeout=120)


def test_ls_shows_top_level_dependencies_by_default(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    out = weir(installed, cache_dir, registry, "ls")
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"app@1.0.0 {installed}\n├── a@1.0.0\n└── d@1.0.0\n\n"


def test_ls_all_matches_npm_ls_all(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    out = weir(installed, cache_dir, registry, "ls", "--all")
    assert out.returncode == 0, out.stderr
    expected = (
        f"app@1.0.0 {installed}\n"
        "├─┬ a@1.0.0\n"
        "│ ├─┬ b@1.0.0\n"
        "│ │ └── c@1.1.0\n"
        "│ └── c@2.0.0\n"
        "└─┬ d@1.0.0\n"
        "  └── c@2.0.0 deduped\n\n"
    )
    assert out.stdout == expected
    npm = npm_ls(installed, "--all")
    assert npm.returncode == 0, npm.stderr
    assert out.stdout.splitlines()[1:] == npm.stdout.splitlines()[1:]


def test_ls_depth_limits_the_tree(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    out = weir(installed, cache_dir, registry, "ls", "--depth", "1")
    assert "│ ├── b@1.0.0\n" in out.stdout  # b shown, its children not
    assert "c@1.1.0" not in out.stdout


def test_ls_name_filter_shows_every_path_to_it(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    out = weir(installed, cache_dir, registry, "ls", "c@^1")
    assert out.returncode == 0
    assert out.stdout == f"app@1.0.0 {installed}\n└─┬ a@1.0.0\n  └─┬ b@1.0.0\n    └── c@1.1.0\n\n"
    out = weir(installed, cache_dir, registry, "ls", "nope")
    assert out.returncode == 1
    assert out.stdout.endswith("└── (empty)\n\n")


def test_ls_json_has_npms_shape(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    out = weir(installed, cache_dir, registry, "ls", "--all", "--json")
    assert out.returncode == 0
    doc = json.loads(out.stdout)
    npm = json.loads(npm_ls(installed, "--all", "--json").stdout)

    def versions(node: dict) -> dict:
        return {k: (v["version"], versions(v)) for k, v in node.get("dependencies", {}).items()}

    assert doc["name"] == "app" and doc["version"] == "1.0.0"
    assert versions(doc) == versions(npm)
    assert doc["dependencies"]["a"]["resolved"] == npm["dependencies"]["a"]["resolved"]


def test_ls_reports_missing_invalid_and_extraneous(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    import shutil

    # b's own c@1 gone: node's lookup now finds the hoisted c@2.0.0, which b's ^1.0.0 rejects
    shutil.rmtree(installed / "node_modules/b/node_modules/c")
    shutil.rmtree(installed / "node_modules/d")
    (installed / "node_modules/stray").mkdir()
    (installed / "node_modules/stray/package.json").write_text('{"name": "stray", "version": "0.1.0"}')

    out = weir(installed, cache_dir, registry, "ls", "--all")
    assert out.returncode == 1
    npm = npm_ls(installed, "--all")
    assert npm.returncode == 1
    assert out.stdout.splitlines()[1:] == npm.stdout.splitlines()[1:]
    assert '│ │ └── c@2.0.0 deduped invalid: "^1.0.0" from node_modules/b\n' in out.stdout
    assert "├── UNMET DEPENDENCY d@^1.0.0\n" in out.stdout
    assert "└── stray@0.1.0 extraneous\n" in out.stdout
    assert "missing: d@^1.0.0, required by app@1.0.0" in out.stderr
    assert f"invalid: c@2.0.0 {installed / 'node_modules/c'}" in out.stderr
    assert "extraneous: stray@0.1.0" in out.stderr

    doc = json.loads(weir(installed, cache_dir, registry, "ls", "--all", "--json").stdout)
    assert doc["dependencies"]["d"] == {"required": "^1.0.0", "missing": True}
    assert doc["dependencies"]["a"]["dependencies"]["b"]["dependencies"]["c"]["invalid"] == '"^1.0.0" from node_modules/b'
    assert doc["dependencies"]["stray"]["extraneous"] is True
    assert len(doc["problems"]) == 3
