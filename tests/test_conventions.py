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
import subprocess
import sys
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


# -- .npmrc lines npm would not use -------------------------------------------------


def test_npmrc_lines_npm_cannot_use_are_warned_about_and_the_install_goes_on(
    project: Callable[..., Path], cache_dir: Path, small_graph: LoopbackRegistry
) -> None:
    """npm 11 prints `Unknown project config "…"` for a garbage line, an unknown key and a
    [section], and a replacement for a deprecated key, then installs."""
    npmrc = "[[[garbage\nfoo-bar-baz=1\n\nshrinkwrap=false\n//127.0.0.1/:always-auth=true\n[sec]\nfoo=1\n"
    app = project({"name": "app", "version": "1.0.0", "dependencies": {"c": "^2.0.0"}}, npmrc=npmrc)
    out = weir(app, cache_dir, small_graph, "install")
    assert out.returncode == 0, out.stderr
    assert (app / "node_modules/c/package.json").is_file()
    rc = app / ".npmrc"
    for line in (
        f'{rc}:1: unknown project config "[[[garbage"',
        f'{rc}:2: unknown project config "foo-bar-baz"',
        f'{rc}:4: config "shrinkwrap" is deprecated in npm: use package-lock',
        f'{rc}:5: unknown project config "always-auth" (//127.0.0.1/:always-auth)',
        f'{rc}:6: unknown project config "sec" (a [sec] section)',
    ):
        assert line in out.stderr
    again = weir(app, cache_dir, small_graph, "install")
    assert again.returncode == 0 and "up to date" in again.stderr
    assert f'{rc}:2: unknown project config "foo-bar-baz"' in again.stderr  # npm warns on every run


def test_an_install_goes_through_the_proxy_the_environment_names(
    project: Callable[..., Path], cache_dir: Path, small_graph: LoopbackRegistry
) -> None:
    """A registry reachable only through a proxy (a corporate network): HTTP_PROXY routes every
    request, as it routes npm's; the registry's own name does not even resolve here."""
    app = project({"name": "app", "version": "1.0.0", "dependencies": {"c": "^2.0.0"}})
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "http_proxy", "https_proxy")}
    env.update(CI="true", HTTP_PROXY=small_graph.url)  # the loopback registry is its own forward proxy
    cmd = [sys.executable, "-m", "weir.tui.cli.main", "install", "--registry", "http://registry.weir-proxy.invalid/",
           "--cache", str(cache_dir), "-C", str(app)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert (app / "node_modules/c/package.json").is_file()
    assert small_graph.packument_requests("c")


def test_npm_s_proxy_keys_warn_that_weir_reads_the_environment_instead(
    project: Callable[..., Path], cache_dir: Path, small_graph: LoopbackRegistry
) -> None:
    app = project({"name": "app", "version": "1.0.0", "dependencies": {"c": "^2.0.0"}},
                  npmrc="https-proxy=http://proxy.corp.example:3128\n")
    out = weir(app, cache_dir, small_graph, "install")
    assert out.returncode == 0, out.stderr
    assert (f'{app / ".npmrc"}:1: config "https-proxy" is not read by weir; set HTTPS_PROXY in the environment, '
            "which weir honours") in out.stderr


# -- the no-op path sees what the full path sees -------------------------------------


@pytest.fixture
def app_with_dev(small_graph: LoopbackRegistry, project: Callable[..., Path]) -> Path:
    return project({"name": "app", "version": "1.0.0", "dependencies": {"c": "^2.0.0"}, "devDependencies": {"tool": "^1.0.0"}})


@pytest.mark.parametrize("where", ["environment", "npmrc"])
def test_omit_from_configuration_is_not_up_to_date(
    app_with_dev: Path, cache_dir: Path, small_graph: LoopbackRegistry, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    assert weir(app_with_dev, cache_dir, small_graph, "install").returncode == 0
    assert (app_with_dev / "node_modules/tool").is_dir()
    if where == "environment":
        monkeypatch.setenv("npm_config_omit", "dev")
    else:
        (app_with_dev / ".npmrc").write_text("omit=dev\n")
    out = weir(app_with_dev, cache_dir, small_graph, "install")
    assert out.returncode == 0, out.stderr
    assert "up to date" not in out.stderr
    assert not (app_with_dev / "node_modules/tool").exists()
    assert not (app_with_dev / "node_modules/.bin/tool").exists()
    assert (app_with_dev / "node_modules/c").is_dir()
    assert "up to date" in weir(app_with_dev, cache_dir, small_graph, "install").stderr  # now it is


@pytest.mark.parametrize("folder", ["node_modules/stray", "node_modules/@scope/stray"])
def test_extraneous_folder_is_pruned_not_up_to_date(
    app_with_dev: Path, cache_dir: Path, small_graph: LoopbackRegistry, folder: str
) -> None:
    assert weir(app_with_dev, cache_dir, small_graph, "install").returncode == 0
    stray = app_with_dev / folder
    stray.mkdir(parents=True)
    (stray / "package.json").write_text('{"name": "stray", "version": "1.0.0"}')
    hidden = app_with_dev / "node_modules/.package-lock.json"
    os.utime(hidden)  # newer than everything: only the listing can tell
    out = weir(app_with_dev, cache_dir, small_graph, "install")
    assert out.returncode == 0, out.stderr
    assert "up to date" not in out.stderr
    assert not stray.exists()
    assert weir(app_with_dev, cache_dir, small_graph, "ls").returncode == 0


@pytest.mark.parametrize(
    ("before", "after"),
    [  # npm 11.19.1 `npm install is-number --package-lock-only` on the same files, with c for is-number
        (
            b'{\r\n\t"name": "app",\r\n\t"version": "1.0.0"\r\n}\r\n',
            b'{\r\n\t"name": "app",\r\n\t"version": "1.0.0",\r\n\t"dependencies": {\r\n\t\t"c": "^2.0.0"\r\n\t}\r\n}\r\n',
        ),
        (b'{"name":"app","version":"1.0.0"}', b'{"name":"app","version":"1.0.0","dependencies":{"c":"^2.0.0"}}'),
        (
            b'\xef\xbb\xbf{\n    "name": "app",\n    "version": "1.0.0"\n}',
            b'{\n    "name": "app",\n    "version": "1.0.0",\n    "dependencies": {\n        "c": "^2.0.0"\n    }\n}\n',
        ),
    ],
    ids=["crlf-tabs", "one-line", "bom-four-spaces"],
)
def test_package_json_keeps_its_layout(
    empty_app: Path, cache_dir: Path, small_graph: LoopbackRegistry, before: bytes, after: bytes
) -> None:
    (empty_app / "package.json").write_bytes(before)
    out = weir(empty_app, cache_dir, small_graph, "install", "--lockfile-only", "c")
    assert out.returncode == 0, out.stderr
    assert (empty_app / "package.json").read_bytes() == after


def test_a_project_without_dependencies_installs_without_node_modules(
    project: Callable[..., Path], cache_dir: Path, small_graph: LoopbackRegistry
) -> None:
    """npm writes package-lock.json and creates no node_modules; weir crashed writing its record."""
    app = project({"name": "app", "version": "1.0.0", "devDependencies": {"tool": "^1.0.0"}})
    out = weir(app, cache_dir, small_graph, "remove", "tool")
    assert out.returncode == 0, out.stderr
    assert json.loads((app / "package.json").read_text()) == {"name": "app", "version": "1.0.0"}
    assert not (app / "node_modules").exists()
    assert weir(app, cache_dir, small_graph, "install").returncode == 0
    assert json.loads((app / "package-lock.json").read_text())["packages"] == {"": {"name": "app", "version": "1.0.0"}}


def test_the_no_op_reads_settings_without_the_heavy_modules(
    app_with_dev: Path, cache_dir: Path, small_graph: LoopbackRegistry
) -> None:
    """The no-op answers from the same settings as a full install, and still imports neither
    the network stack, the UI, nor the typed Config."""
    assert weir(app_with_dev, cache_dir, small_graph, "install").returncode == 0
    (app_with_dev / ".npmrc").write_text("omit=optional\n")
    args = ["install", "--registry", small_graph.url, "--cache", str(cache_dir), "-C", str(app_with_dev)]
    probe = (
        "import sys\nfrom weir.tui.cli.main import main\n"
        f"code = main({args!r})\n"
        "print(code, ' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=dict(os.environ, CI="true"), timeout=120)
    assert "up to date" in out.stderr, out.stderr
    code, _, modules = out.stdout.partition(" ")
    assert code == "0"
    loaded = set(modules.split())
    assert "weir.core.settings" in loaded
    for heavy in ("anyio", "httpx", "textual", "rich", "weir.core.config", "weir.core.install"):
        assert heavy not in loaded, heavy
