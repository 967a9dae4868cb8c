"""``file:`` tarball dependencies, installed by weir and by npm side by side.

No registry is involved: the tarballs are built in tmp_path, npm runs with
``--offline`` and its own empty cache, and weir is pointed at an unreachable
loopback registry so that any request would fail the test. What must match
npm byte for byte: package-lock.json, node_modules/.package-lock.json (its
header included) and the list of files, folders and links in node_modules
(weir's own node_modules/.weir aside).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

NPM_FLAGS = ("--offline", "--ignore-scripts", "--no-audit", "--no-fund")
HIDDEN = "node_modules/.package-lock.json"


def make_tarball(path: Path, manifest: dict[str, object], files: dict[str, str]) -> Path:
    """A packed package as `npm pack` lays it out: everything under package/."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tf:
        for name, text in {"package.json": json.dumps(manifest, indent=2), **files}.items():
            data = text.encode()
            info = tarfile.TarInfo(f"package/{name}")
            info.size, info.mode, info.mtime = len(data), 0o755 if name.startswith("bin/") else 0o644, 1_700_000_000
            tf.addfile(info, io.BytesIO(data))
    path.write_bytes(gzip.compress(raw.getvalue(), mtime=0))  # the same bytes on every build
    return path


def vendor(project: Path, *, index: str = "module.exports = 'x';\n") -> None:
    """x (with a bin) and the scoped @v/y in the project's vendor/ folder."""
    make_tarball(
        project / "vendor/x-1.0.0.tgz",
        {"name": "x", "version": "1.0.0", "main": "lib/index.js", "bin": {"xcli": "bin/cli.js"}},
        {"lib/index.js": index, "bin/cli.js": "#!/usr/bin/env node\nconsole.log('x');\n"},
    )
    make_tarball(
        project / "vendor/y-2.0.0.tgz",
        {"name": "@v/y", "version": "2.0.0", "license": "MIT"},
        {"index.js": "module.exports = 'y';\n"},
    )


def new_project(parent: Path, manifest: dict[str, object]) -> Path:
    """A project folder called ``proj`` under ``parent`` (npm names a nameless lockfile after it)."""
    project = parent / "proj"
    project.mkdir(parents=True)
    (project / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    vendor(project)
    return project


def weir(project: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CI="true")
    env.pop("npm_config_registry", None)
    cmd = [sys.executable, "-m", "weir.tui.cli.main", *args, "--registry", "http://127.0.0.1:9/", "--cache", str(cache), "-C", str(project)]
    return subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, timeout=120)


def npm(project: Path, cache: Path, *args: str) -> None:
    env = dict(os.environ, CI="true")
    out = subprocess.run(["npm", *args, *NPM_FLAGS, "--cache", str(cache)], check=False, cwd=project, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr


def tree(project: Path) -> dict[str, str]:
    """node_modules as a listing: each path with its kind (file, folder, link and target) and file bytes."""
    listing: dict[str, str] = {}
    root = project / "node_modules"
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not (dirpath == str(root) and d == ".weir")]
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                listing[rel] = f"link {os.readlink(path)}"
            elif path.is_dir():
                listing[rel] = "folder"
            else:
                mode = "x" if os.access(path, os.X_OK) else "-"
                listing[rel] = f"file {mode} {path.read_bytes().decode()}"
    return listing


def assert_same_install(by_weir: Path, by_npm: Path) -> None:
    """Both lockfiles byte for byte, and the same node_modules (files, contents, modes)."""
    assert (by_weir / "package-lock.json").read_bytes() == (by_npm / "package-lock.json").read_bytes()
    assert (by_weir / HIDDEN).read_bytes() == (by_npm / HIDDEN).read_bytes()
    assert tree(by_weir) == tree(by_npm)


def npm_ls_clean(project: Path) -> None:
    out = subprocess.run(["npm", "ls", "--all", "--offline"], check=False, cwd=project, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"npm ls --all failed:\n{out.stdout}\n{out.stderr}"


DEPS = {"x": "file:./vendor/x-1.0.0.tgz", "@v/y": "file:vendor/y-2.0.0.tgz"}


@pytest.mark.parametrize(
    "manifest",
    [{"name": "proj", "version": "2.3.4", "dependencies": DEPS}, {"dependencies": DEPS}],
    ids=["named", "nameless"],
)
def test_install_writes_what_npm_writes(tmp_path: Path, manifest: dict[str, object]) -> None:
    by_npm, by_weir = new_project(tmp_path / "npm", manifest), new_project(tmp_path / "weir", manifest)
    npm(by_npm, tmp_path / "npm-cache", "install")
    out = weir(by_weir, tmp_path / "cache", "install")
    assert out.returncode == 0, out.stderr

    assert_same_install(by_weir, by_npm)
    assert not (by_weir / "node_modules/x").is_symlink()  # a copy of the package, as npm makes it
    node = subprocess.run(["node", "-p", "require('x') + require('@v/y')"], check=False, cwd=by_weir, capture_output=True, text=True, timeout=60)
    assert node.stdout.strip() == "xy"
    npm_ls_clean(by_weir)

    again = weir(by_weir, tmp_path / "cache", "install")
    assert again.returncode == 0 and "up to date" in again.stderr


def test_old_hidden_lockfile_without_header_is_rewritten_once(tmp_path: Path) -> None:
    project = new_project(tmp_path, {"name": "proj", "version": "2.3.4", "dependencies": DEPS})
    assert weir(project, tmp_path / "cache", "install").returncode == 0
    hidden = project / HIDDEN
    written = hidden.read_bytes()
    doc = json.loads(written)
    old = {k: v for k, v in doc.items() if k not in ("name", "version")}
    assert list(doc)[:2] == ["name", "version"]
    st = hidden.stat()
    hidden.write_text(json.dumps(old, indent=2) + "\n")  # as weir wrote it before it wrote the header
    os.utime(hidden, ns=(st.st_atime_ns, st.st_mtime_ns))
    package_inode = (project / "node_modules/x/lib/index.js").stat().st_ino

    first = weir(project, tmp_path / "cache", "install")
    assert first.returncode == 0 and "up to date: nothing to install" not in first.stderr  # the full path ran
    assert hidden.read_bytes() == written
    assert (project / "node_modules/x/lib/index.js").stat().st_ino == package_inode  # the tree was kept
    second = weir(project, tmp_path / "cache", "install")
    assert second.returncode == 0 and "up to date" in second.stderr


def test_ci_installs_npm_lockfile(tmp_path: Path) -> None:
    manifest = {"name": "proj", "version": "2.3.4", "dependencies": DEPS}
    by_npm = new_project(tmp_path / "npm", manifest)
    npm(by_npm, tmp_path / "npm-cache", "install")
    by_weir = tmp_path / "weir/proj"
    shutil.copytree(by_npm, by_weir, ignore=shutil.ignore_patterns("node_modules"))
    lock = (by_weir / "package-lock.json").read_bytes()

    out = weir(by_weir, tmp_path / "cache", "ci")
    assert out.returncode == 0, out.stderr
    assert (by_weir / "package-lock.json").read_bytes() == lock
    assert (by_weir / HIDDEN).read_bytes() == (by_npm / HIDDEN).read_bytes()
    assert tree(by_weir) == tree(by_npm)
    npm_ls_clean(by_weir)


def locked_project(tmp_path: Path) -> tuple[Path, Path]:
    """A project installed once by weir, and the (now warm) cache it used."""
    project = new_project(tmp_path, {"name": "proj", "version": "2.3.4", "dependencies": DEPS})
    cache = tmp_path / "cache"
    out = weir(project, cache, "install")
    assert out.returncode == 0, out.stderr
    return project, cache


def test_tarball_edited_after_locking_fails_integrity(tmp_path: Path) -> None:
    project, warm = locked_project(tmp_path)
    expected = json.loads((project / "package-lock.json").read_text())["packages"]["node_modules/x"]["integrity"]
    vendor(project, index="module.exports = 'tampered';\n")
    out = weir(project, tmp_path / "cold-cache", "ci")
    assert out.returncode == 6, out.stderr
    assert "EINTEGRITY" in out.stderr and "x@1.0.0" in out.stderr
    assert str(project.resolve() / "vendor/x-1.0.0.tgz") in out.stderr
    assert expected in out.stderr and "got sha512-" in out.stderr
    assert (project / "node_modules/x/lib/index.js").read_text() == "module.exports = 'x';\n"  # ci removed nothing

    # As npm does, a copy already verified under the locked integrity is installed from the cache.
    again = weir(project, warm, "ci")
    assert again.returncode == 0, again.stderr
    assert (project / "node_modules/x/lib/index.js").read_text() == "module.exports = 'x';\n"


def test_missing_tarball_is_an_input_error(tmp_path: Path) -> None:
    project, _ = locked_project(tmp_path)
    (project / "vendor/x-1.0.0.tgz").unlink()
    out = weir(project, tmp_path / "cold-cache", "ci")
    assert out.returncode == 3, out.stderr
    assert "ENOENT" in out.stderr and "x@1.0.0" in out.stderr
    assert str(project.resolve() / "vendor/x-1.0.0.tgz") in out.stderr


def test_tarball_outside_the_project_is_refused(tmp_path: Path) -> None:
    project, warm = locked_project(tmp_path)
    lock_path = project / "package-lock.json"
    lock = json.loads(lock_path.read_text())
    outside = tmp_path / "elsewhere/x-1.0.0.tgz"
    outside.parent.mkdir()
    shutil.copy(project / "vendor/x-1.0.0.tgz", outside)

    # Refused even though the warm cache holds these very bytes.
    lock["packages"]["node_modules/x"]["resolved"] = "file:../elsewhere/x-1.0.0.tgz"
    lock_path.write_text(json.dumps(lock, indent=2) + "\n")
    out = weir(project, warm, "ci")
    assert out.returncode == 3, out.stderr
    assert "x@1.0.0" in out.stderr and "file:../elsewhere/x-1.0.0.tgz" in out.stderr and "outside the project" in out.stderr

    lock["packages"]["node_modules/x"]["resolved"] = "file:vendor/x-1.0.0.tgz"
    lock_path.write_text(json.dumps(lock, indent=2) + "\n")
    (project / "vendor/x-1.0.0.tgz").unlink()
    (project / "vendor/x-1.0.0.tgz").symlink_to(outside)
    out = weir(project, warm, "ci")
    assert out.returncode == 3, out.stderr
    assert "x@1.0.0" in out.stderr and "symlink" in out.stderr and str(outside) in out.stderr


def test_deleted_entry_is_resolved_again_from_the_new_tarball(tmp_path: Path) -> None:
    """The way out the integrity error names: drop the entry, install, and the lockfile
    records the new tarball (npm's "changed 1 package"), where a lockfile missing a
    dependency's entry used to be taken as the whole tree and the package removed."""
    manifest = {"name": "proj", "version": "2.3.4", "dependencies": DEPS}
    by_npm, by_weir = new_project(tmp_path / "npm", manifest), new_project(tmp_path / "weir", manifest)
    npm(by_npm, tmp_path / "npm-cache", "install")
    assert weir(by_weir, tmp_path / "cache", "install").returncode == 0
    for project in (by_npm, by_weir):
        vendor(project, index="module.exports = 'x2';\n")
        lock = json.loads((project / "package-lock.json").read_text())
        del lock["packages"]["node_modules/x"]
        (project / "package-lock.json").write_text(json.dumps(lock, indent=2) + "\n")
    npm(by_npm, tmp_path / "npm-cache", "install")
    out = weir(by_weir, tmp_path / "cache", "install")
    assert out.returncode == 0, out.stderr
    assert_same_install(by_weir, by_npm)
    assert (by_weir / "node_modules/x/lib/index.js").read_text() == "module.exports = 'x2';\n"
