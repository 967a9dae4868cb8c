"""Git dependencies, installed from bare repositories on the local disk and behind ``git daemon``.

No registry is involved (weir points at an unreachable loopback registry, so
any request would fail the test). npm is the oracle where it can run offline:
the spec → URL mapping (npm-package-arg, hosted-git-info), the lockfile
entry (``npm install --package-lock-only`` with a ``git+file://`` dependency)
and the packed file list (``npm pack --dry-run --json``).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from weir.core.resolve.git import pack_folder, parse_git

NPM_MODULES = Path("/usr/lib/node_modules/npm/node_modules")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env={**os.environ, **GIT_ENV})
    return out.stdout.strip()


def commit(work: Path, files: dict[str, str], message: str, *, tag: str | None = None) -> str:
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", message)
    if tag:
        git(work, "tag", "-a", tag, "-m", tag)
    return git(work, "rev-parse", "HEAD")


def make_repo(root: Path, name: str, versions: list[str], *, extra: dict[str, object] | None = None) -> tuple[Path, Path, dict[str, str]]:
    """A work tree and a bare clone ``<root>/<name>.git`` with one tagged commit per version."""
    work = root / f"{name}-work"
    work.mkdir(parents=True)
    git(work, "init", "-q", "-b", "main")
    shas = {}
    for v in versions:
        manifest = {"name": name, "version": v, "license": "MIT", **(extra or {})}
        shas[v] = commit(work, {"package.json": json.dumps(manifest, indent=2), "index.js": f"module.exports = {v!r};\n"}, v, tag=f"v{v}")
    bare = root / f"{name}.git"
    git(root, "clone", "-q", "--bare", str(work), str(bare))
    return work, bare, shas


def push(work: Path, bare: Path) -> None:
    git(work, "push", "-q", "--tags", str(bare), "main")


def weir(project: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **GIT_ENV, "CI": "true"}
    env.pop("npm_config_registry", None)
    cmd = [sys.executable, "-m", "weir.tui.cli.main", *args, "--registry", "http://127.0.0.1:9/", "--cache", str(cache), "-C", str(project)]
    return subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, timeout=120)


def project(parent: Path, deps: dict[str, str]) -> Path:
    proj = parent / "proj"
    proj.mkdir(parents=True)
    (proj / "package.json").write_text(json.dumps({"name": "proj", "version": "1.0.0", "dependencies": deps}, indent=2) + "\n")
    return proj


def lock_entry(proj: Path, name: str) -> dict[str, object]:
    return json.loads((proj / "package-lock.json").read_text())["packages"][f"node_modules/{name}"]


# -- spec → repository URL, against npm-package-arg and hosted-git-info -----------------

SPECS = [
    "github:uNetworking/uWebSockets.js#v20.56.0",
    "jackkav/grpc-reflection-js#remove-lodash-set",
    "gitlab:group/sub/project",
    "bitbucket:u/r#semver:^1.2",
    "gist:11081aaa",
    "git+https://github.com/u/r.git#abc",
    "git://github.com/u/r",
    "git+ssh://git@github.com/u/r.git",
    "git+ssh://git@github.com:u/r.git",
    "git@github.com:u/r.git",
    "https://github.com/u/r",
    "git+ssh://git@example.com:u/r.git#x",
    "git+file:///tmp/r.git",
    "git+https://example.com/u/r.git#semver:1.x",
    "git://example.com/r.git#main",
    "git+http://example.com/r.git",
    "https://github.com/u/r/tree/feature",
]

ORACLE = """
const npa = require(process.argv[1] + '/npm-package-arg')
const out = JSON.parse(process.argv[2]).map(s => {
  const r = npa.resolve('x', s)
  const h = r.hosted
  return {
    saveSpec: r.saveSpec, committish: r.gitCommittish || null, range: r.gitRange || null,
    urls: h ? [h.https({ noCommittish: true }).replace(/^git\\+/, ''), h.sshurl({ noCommittish: true })] : [r.fetchSpec],
    repo: h ? 'git+' + h.sshurl({ noCommittish: true }) : r.saveSpec.replace(/#.*$/, ''),
  }
})
console.log(JSON.stringify(out))
"""


def test_git_specs_map_to_the_urls_npm_package_arg_gives() -> None:
    out = subprocess.run(["node", "-e", ORACLE, str(NPM_MODULES), json.dumps(SPECS)], check=True, capture_output=True, text=True)
    for spec, want in zip(SPECS, json.loads(out.stdout), strict=True):
        source = parse_git(spec)
        got = {"saveSpec": source.save_spec(), "committish": source.committish, "range": source.range, "urls": list(source.urls), "repo": source.repo}
        assert got == want, spec


# -- the lockfile entry and the installed files, against npm ---------------------------


def test_git_file_dependency_locks_and_installs_as_npm_does(tmp_path: Path) -> None:
    _work, bare, shas = make_repo(tmp_path / "repos", "gdep", ["1.0.0", "1.2.3"], extra={"files": ["index.js"]})
    spec = f"git+file://{bare}#v1.0.0"
    ours, theirs = project(tmp_path / "weir", {"gdep": spec}), project(tmp_path / "npm", {"gdep": spec})
    run = weir(ours, tmp_path / "cache", "install")
    assert run.returncode == 0, run.stderr
    npm = subprocess.run(
        ["npm", "install", "--package-lock-only", "--offline", "--ignore-scripts", "--no-audit", "--no-fund", "--cache", str(tmp_path / "npm-cache")],
        cwd=theirs, check=False, capture_output=True, text=True, timeout=120,
    )
    assert npm.returncode == 0, npm.stderr
    assert (ours / "package-lock.json").read_text() == (theirs / "package-lock.json").read_text()
    assert lock_entry(ours, "gdep")["resolved"] == f"git+file://{bare}#{shas['1.0.0']}"
    assert "integrity" not in lock_entry(ours, "gdep")
    assert sorted(p.name for p in (ours / "node_modules/gdep").iterdir()) == ["index.js", "package.json"]
    assert (ours / "node_modules/gdep/index.js").read_text() == "module.exports = '1.0.0';\n"
    assert json.loads((ours / "package.json").read_text())["dependencies"]["gdep"] == spec


def test_ci_reinstalls_the_recorded_commit_after_the_branch_moved(tmp_path: Path) -> None:
    work, bare, shas = make_repo(tmp_path / "repos", "gdep", ["1.0.0"])
    proj = project(tmp_path, {"gdep": f"git+file://{bare}#main"})
    assert weir(proj, tmp_path / "cache", "install").returncode == 0
    commit(work, {"index.js": "module.exports = 'moved';\n"}, "moved")
    push(work, bare)
    shutil.rmtree(tmp_path / "cache")  # no packed copy left: ci must clone the recorded sha
    run = weir(proj, tmp_path / "cache", "ci")
    assert run.returncode == 0, run.stderr
    assert (proj / "node_modules/gdep/index.js").read_text() == "module.exports = '1.0.0';\n"
    assert lock_entry(proj, "gdep")["resolved"].endswith(f"#{shas['1.0.0']}")


def test_a_packed_commit_is_reused_from_the_cache_when_the_repository_is_gone(tmp_path: Path) -> None:
    _work, bare, _shas = make_repo(tmp_path / "repos", "gdep", ["1.0.0"])
    proj = project(tmp_path, {"gdep": f"git+file://{bare}"})
    assert weir(proj, tmp_path / "cache", "install").returncode == 0
    shutil.rmtree(tmp_path / "repos")
    shutil.rmtree(proj / "node_modules")
    run = weir(proj, tmp_path / "cache", "ci")
    assert run.returncode == 0, run.stderr
    assert (proj / "node_modules/gdep/index.js").is_file()


# -- git daemon on 127.0.0.1 -------------------------------------------------------------


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``git daemon`` serving ``<tmp>/served`` on a free loopback port, stopped afterwards."""
    base = tmp_path / "served"
    base.mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        ["git", "daemon", "--export-all", "--reuseaddr", "--informative-errors", f"--base-path={base}", "--listen=127.0.0.1", f"--port={port}", str(base)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "git daemon did not start"
                time.sleep(0.05)
        yield f"git://127.0.0.1:{port}", base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_semver_committish_picks_the_highest_fitting_tag_over_git_protocol(tmp_path: Path, daemon: tuple[str, Path]) -> None:
    url, base = daemon
    _work, _bare, shas = make_repo(base, "ranged", ["1.0.0", "1.4.0", "2.0.0"])
    proj = project(tmp_path, {"ranged": f"{url}/ranged.git#semver:^1.0.0"})
    run = weir(proj, tmp_path / "cache", "install")
    assert run.returncode == 0, run.stderr
    entry = lock_entry(proj, "ranged")
    assert entry["version"] == "1.4.0"
    assert entry["resolved"] == f"{url}/ranged.git#{shas['1.4.0']}"
    assert (proj / "node_modules/ranged/index.js").read_text() == "module.exports = '1.4.0';\n"


def test_an_unknown_ref_names_the_dependency_and_its_dependent(tmp_path: Path, daemon: tuple[str, Path]) -> None:
    url, base = daemon
    make_repo(base, "gdep", ["1.0.0"])
    proj = project(tmp_path, {"gdep": f"{url}/gdep.git#no-such-branch"})
    run = weir(proj, tmp_path / "cache", "install")
    assert run.returncode == 4, run.stderr
    assert "ETARGET" in run.stderr and "no-such-branch" in run.stderr
    assert f"gdep@{url}/gdep.git#no-such-branch" in run.stderr
    assert "required by: proj" in run.stderr
    assert not (proj / "package-lock.json").exists()


def test_an_unreachable_host_is_a_network_error_naming_the_dependency(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proj = project(tmp_path, {"gone": f"git://127.0.0.1:{port}/gone.git"})
    run = weir(proj, tmp_path / "cache", "install")
    assert run.returncode == 5, run.stderr
    assert "EGITREMOTE" in run.stderr and f"gone@git://127.0.0.1:{port}/gone.git" in run.stderr


def test_a_repository_without_package_json_is_refused_by_name(tmp_path: Path) -> None:
    work = tmp_path / "plain"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    commit(work, {"README.md": "not a package\n"}, "init")
    proj = project(tmp_path, {"plain": f"git+file://{work}"})
    run = weir(proj, tmp_path / "cache", "install")
    assert run.returncode == 3, run.stderr
    assert "ENOPACKAGEJSON" in run.stderr and "plain@git+file://" in run.stderr


def test_a_prepare_script_is_not_run_and_the_warning_names_the_package(tmp_path: Path) -> None:
    _work, bare, _ = make_repo(tmp_path / "repos", "built", ["1.0.0"], extra={"scripts": {"prepare": "touch prepared"}})
    proj = project(tmp_path, {"built": f"git+file://{bare}"})
    run = weir(proj, tmp_path / "cache", "install")
    assert run.returncode == 0, run.stderr
    assert "built@git+file://" in run.stdout + run.stderr and "prepare" in run.stdout + run.stderr
    assert not (proj / "node_modules/built/prepared").exists()


# -- npm pack's file rules ----------------------------------------------------------------

PACK_CASES = {
    "files": (
        {"files": ["lib", "bin/*.js"], "main": "main.js", "bin": {"b": "bin/b.js"}},
        {"lib/a.js": "", "lib/deep/b.js": "", "lib/.npmignore": "deep/skip.js\n", "lib/deep/skip.js": "", "bin/b.js": "",
         "bin/notes.txt": "", "main.js": "", "README.md": "", "LICENSE": "", "test/t.js": "", ".npmrc": ""},
    ),
    "npmignore": (
        {},
        {".npmignore": "test/\n*.log\n!keep.log\n", ".gitignore": "dist/\n", "dist/x.js": "", "test/t.js": "", "a.log": "",
         "keep.log": "", "src/x.js": "", "src/.DS_Store": "", "node_modules/m/index.js": "", "package-lock.json": "{}", "x.orig": ""},
    ),
    "gitignore": (
        {},
        {".gitignore": "/dist\nbuild/\n*.tmp\n", "dist/x.js": "", "sub/dist/y.js": "", "build/z.js": "", "a.tmp": "", "src/b.tmp": "",
         "src/ok.js": "", ".eslintrc": ""},
    ),
}


@pytest.mark.parametrize("case", sorted(PACK_CASES))
def test_packed_files_are_those_npm_pack_lists(tmp_path: Path, case: str) -> None:
    manifest, files = PACK_CASES[case]
    folder = tmp_path / "pkg"
    for name, text in {"package.json": json.dumps({"name": "p", "version": "1.0.0", **manifest}), **files}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    npm = subprocess.run(
        ["npm", "pack", "--dry-run", "--json", "--ignore-scripts", "--offline", "--cache", str(tmp_path / "npm-cache")],
        cwd=folder, check=True, capture_output=True, text=True, timeout=120,
    )
    want = sorted(f["path"] for f in json.loads(npm.stdout)[0]["files"])
    with tarfile.open(fileobj=io.BytesIO(pack_folder(folder, who="p")), mode="r:gz") as tf:
        got = sorted(m.name.removeprefix("package/") for m in tf.getmembers())
    assert got == want


def test_a_trusted_git_dependency_is_prepared_before_it_is_packed(tmp_path: Path) -> None:
    _work, bare, _ = make_repo(
        tmp_path / "repos", "built", ["1.0.0"], extra={"files": ["dist"], "scripts": {"prepare": "mkdir -p dist && cp index.js dist/built.js"}}
    )
    proj = project(tmp_path, {"built": f"git+file://{bare}"})
    manifest = json.loads((proj / "package.json").read_text())
    (proj / "package.json").write_text(json.dumps({**manifest, "trustedDependencies": ["built"]}, indent=2) + "\n")
    run = weir(proj, tmp_path / "cache", "install")
    assert run.returncode == 0, run.stderr
    assert "trustedDependencies" not in run.stdout + run.stderr
    assert (proj / "node_modules/built/dist/built.js").read_text() == "module.exports = '1.0.0';\n"
    shutil.rmtree(proj / "node_modules")
    run = weir(proj, tmp_path / "cache", "ci", "--ignore-scripts")  # the policy says no: the commit as committed
    assert run.returncode == 0, run.stderr
    assert not (proj / "node_modules/built/dist").exists()


def test_adding_a_git_url_without_a_name_saves_it_as_npm_does(tmp_path: Path) -> None:
    _work, bare, _ = make_repo(tmp_path / "repos", "gdep", ["1.0.0"])
    ours, theirs = project(tmp_path / "weir", {}), project(tmp_path / "npm", {})
    run = weir(ours, tmp_path / "cache", "add", f"git+file://{bare}")
    assert run.returncode == 0, run.stderr
    npm = subprocess.run(
        ["npm", "install", "--package-lock-only", "--offline", "--no-audit", "--no-fund", "--cache", str(tmp_path / "npm-cache"), f"git+file://{bare}"],
        cwd=theirs, check=False, capture_output=True, text=True, timeout=120,
    )
    assert npm.returncode == 0, npm.stderr
    assert json.loads((ours / "package.json").read_text()) == json.loads((theirs / "package.json").read_text())
    assert (ours / "package-lock.json").read_text() == (theirs / "package-lock.json").read_text()


@pytest.mark.parametrize("length", [40, 10])
def test_a_commit_sha_committish_locks_that_commit(tmp_path: Path, length: int) -> None:
    _work, bare, shas = make_repo(tmp_path / "repos", "gdep", ["1.0.0", "2.0.0"])
    proj = project(tmp_path, {"gdep": f"git+file://{bare}#{shas['1.0.0'][:length]}"})
    run = weir(proj, tmp_path / "cache", "install")
    assert run.returncode == 0, run.stderr
    assert lock_entry(proj, "gdep") == {"version": "1.0.0", "resolved": f"git+file://{bare}#{shas['1.0.0']}", "license": "MIT"}


@pytest.mark.parametrize("spec", ["-oProxyCommand=touch@pwned.x:r", "git+file:///tmp/r.git#--upload-pack=touch"])
def test_a_spec_git_would_read_as_an_option_is_refused_before_git_runs(tmp_path: Path, spec: str) -> None:
    proj = project(tmp_path, {"evil": spec})
    run = weir(proj, tmp_path / "cache", "install")
    assert run.returncode == 3, run.stderr
    assert "EINVALIDSPEC" in run.stderr and f"evil@{spec}" in run.stderr
