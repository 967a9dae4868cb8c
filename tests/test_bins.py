from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from linkkit import Store, tree
from loopback import LoopbackRegistry
from test_bundled import run_npm, run_weir
from weir.core.linker.bins import link_bins
from weir.core.events import Recorder, Warned
from weir.core.linker import execute_link, plan_link
from weir.core.tree.lockfile import entry_from_json


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "cache")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "app"
    p.mkdir()
    return p


def materialize(project: Path, desired, sources, mode="hardlink") -> Recorder:
    rec = Recorder()
    execute_link(plan_link(project, desired, None), sources, mode=mode, reporter=rec)
    link_bins(project, desired, reporter=rec)
    return rec


def tool(
    store: Store,
    path: str,
    name: str,
    bins: dict[str, str],
    *,
    version="1.0.0",
    exe=True,
):
    files = {target: "#!/bin/sh\necho hi\n" for target in set(bins.values())}
    return store.package(
        path,
        name,
        version,
        files,
        executable=tuple(files) if exe else (),
        lock={"bin": bins},
    )


def test_bins_are_relative_executable_symlinks(store: Store, project: Path) -> None:
    desired, sources = tree(
        tool(store, "node_modules/typescript", "typescript", {"tsc": "bin/tsc"}),
        tool(store, "node_modules/a/node_modules/b", "b", {"bee": "cli.js"}),
        store.package("node_modules/a", "a", "1.0.0"),
    )
    materialize(project, desired, sources)
    tsc = project / "node_modules/.bin/tsc"
    assert os.readlink(tsc) == "../typescript/bin/tsc"
    assert os.access(tsc, os.X_OK)
    assert (
        os.readlink(project / "node_modules/a/node_modules/.bin/bee") == "../b/cli.js"
    )
    assert not (project / "node_modules/.bin/bee").exists()


def test_non_executable_hardlinked_target_is_copied_not_chmodded(
    store: Store, project: Path
) -> None:
    desired, sources = tree(
        tool(store, "node_modules/t", "t", {"t": "run.js"}, exe=False)
    )
    materialize(project, desired, sources, "hardlink")
    linked = project / "node_modules/t/run.js"
    cached = sources["node_modules/t"].dir / "run.js"
    assert os.access(linked, os.X_OK)
    assert not os.access(cached, os.X_OK)  # the content store is unchanged
    assert linked.stat().st_ino != cached.stat().st_ino


def test_conflict_first_by_path_wins_as_npm(store: Store, project: Path) -> None:
    desired, sources = tree(
        tool(store, "node_modules/alpha", "alpha", {"tool": "a.js"}),
        tool(store, "node_modules/tool", "tool", {"tool": "t.js"}),
    )
    rec = materialize(project, desired, sources)
    assert os.readlink(project / "node_modules/.bin/tool") == "../alpha/a.js"
    conflicts = [w for w in rec.of(Warned) if w.code == "bin-conflict"]
    assert len(conflicts) == 1 and conflicts[0].package == "tool"


def test_escaping_bins_are_dropped_with_warnings(
    store: Store, project: Path, tmp_path: Path
) -> None:
    (tmp_path / "outside.sh").write_text("#!/bin/sh\n")
    entry, source = store.package(
        "node_modules/evil",
        "evil",
        "1.0.0",
        {"ok.js": "x"},
        lock={
            "bin": {
                "../../x": "ok.js",
                "abs": "/etc/passwd",
                "up": "../../../outside.sh",
                "gone": "nope.js",
                "fine": "ok.js",
            }
        },
    )
    desired, sources = tree((entry, source))
    rec = materialize(project, desired, sources)
    assert sorted(os.listdir(project / "node_modules/.bin")) == ["fine"]
    codes = sorted(w.code for w in rec.of(Warned))
    assert codes == ["bin-dropped", "bin-dropped", "bin-dropped", "bin-missing"]


def test_scoped_string_bin_normalizes_to_bare_name(store: Store, project: Path) -> None:
    from weir.core.npm.package_json import normalize_bin

    bins, _ = normalize_bin("@scope/x", "cli.js", None)
    desired, sources = tree(tool(store, "node_modules/@scope/x", "@scope/x", bins))
    materialize(project, desired, sources)
    assert os.readlink(project / "node_modules/.bin/x") == "../@scope/x/cli.js"


def test_removing_a_package_removes_its_bins_and_rerun_is_quiet(
    store: Store, project: Path
) -> None:
    a = tool(store, "node_modules/a", "a", {"aa": "a.js"})
    b = tool(store, "node_modules/b", "b", {"bb": "b.js"})
    desired, sources = tree(a, b)
    materialize(project, desired, sources)
    before = os.lstat(project / "node_modules/.bin/aa")
    again = link_bins(project, desired)
    assert again.linked == () and again.removed == () and again.kept == 2
    assert os.lstat(project / "node_modules/.bin/aa").st_ino == before.st_ino
    desired, sources = tree(a)
    materialize(project, desired, sources)
    assert os.listdir(project / "node_modules/.bin") == ["aa"]


def test_workspace_link_gets_bins(store: Store, project: Path) -> None:
    ws = project / "packages/cli"
    ws.mkdir(parents=True)
    (ws / "main.js").write_text("#!/usr/bin/env node\n")
    (ws / "package.json").write_text(
        '{"name":"cli","version":"0.0.1","bin":{"mycli":"main.js"}}'
    )
    desired, sources = tree(
        extra=(
            entry_from_json(
                "packages/cli",
                {"name": "cli", "version": "0.0.1", "bin": {"mycli": "main.js"}},
            ),
            entry_from_json(
                "node_modules/cli", {"resolved": "packages/cli", "link": True}
            ),
        )
    )
    materialize(project, desired, sources)
    assert os.readlink(project / "node_modules/.bin/mycli") == "../cli/main.js"
    assert os.access(project / "node_modules/.bin/mycli", os.X_OK)


CRLF_FILES = {
    "crlf.js": "#!/usr/bin/env node\r\n'use strict';\r\nconsole.log(1);\r\n",
    "lf.js": "#!/usr/bin/env node\nconsole.log(2);\r\n",
    "plain.js": "'use strict';\r\nconsole.log(3);\r\n",
    "bare.js": "#!\r\nx\r\n",
}


def test_a_crlf_hashbang_line_ends_in_lf_in_a_private_copy(store: Store, project: Path) -> None:
    # human-id@4's dist/cli.js: `env` would look for "node\r". npm's bin-links fixes that one line.
    bins = {name.removesuffix(".js"): name for name in CRLF_FILES}
    entry = store.package("node_modules/t", "t", "1.0.0", CRLF_FILES, executable=tuple(CRLF_FILES), lock={"bin": bins})
    desired, sources = tree(entry)
    materialize(project, desired, sources, "hardlink")
    folder, cached = project / "node_modules/t", sources["node_modules/t"].dir
    assert (folder / "crlf.js").read_bytes() == b"#!/usr/bin/env node\n'use strict';\r\nconsole.log(1);\r\n"
    assert os.access(folder / "crlf.js", os.X_OK)
    assert (cached / "crlf.js").read_bytes() == CRLF_FILES["crlf.js"].encode()  # the content store is unchanged
    for name in ("lf.js", "plain.js", "bare.js"):
        assert (folder / name).read_bytes() == CRLF_FILES[name].encode()
        assert (folder / name).stat().st_ino == (cached / name).stat().st_ino
    assert link_bins(project, desired).linked == ()  # a second run finds nothing to do


def test_crlf_hashbang_fix_matches_npm(tmp_path: Path, registry: LoopbackRegistry) -> None:
    bins = {name.removesuffix(".js"): name for name in CRLF_FILES}
    registry.add("tool", "1.0.0", bin=bins, files=dict(CRLF_FILES))
    apps = []
    for who in ("npm", "weir"):
        app = tmp_path / who / "app"
        app.mkdir(parents=True)
        (app / "package.json").write_text(json.dumps({"name": "app", "version": "1.0.0", "dependencies": {"tool": "1.0.0"}}))
        apps.append(app)
    run_npm(apps[0], tmp_path / "npm-cache", registry.url, "install")
    run_weir(apps[1], tmp_path / "weir-cache", registry.url, "install")
    for name in CRLF_FILES:
        assert (apps[1] / "node_modules/tool" / name).read_bytes() == (apps[0] / "node_modules/tool" / name).read_bytes(), name
