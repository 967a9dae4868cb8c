"""The root and workspace entries, and the lockfile's layout, as npm 11 writes them.

Found by the corpus (tests/test_corpus_npm_parity.py): cheerio's package.json
has a string ``funding``, which npm writes as ``{"url": ...}`` (so after
``engines``, objects sorting after scalars); nodemailer's package.json is
indented with 4 spaces, and npm lays out package-lock.json and
node_modules/.package-lock.json the same way (its indent and line break,
whatever the previous lockfile used). Each test runs npm and weir on the same
project against the loopback registry and compares the bytes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from loopback import LoopbackRegistry
from test_bundled import HIDDEN, run_npm, run_weir


def twins(tmp_path: Path, files: dict[str, bytes]) -> tuple[Path, Path]:
    """The same project twice, ``files`` written byte for byte: one for npm, one for weir."""
    made = []
    for who in ("npm", "weir"):
        root = tmp_path / who / "app"
        for rel, data in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        made.append(root)
    return made[0], made[1]


def assert_same_bytes(weir: Path, npm: Path, rel: str) -> None:
    ours, theirs = (weir / rel).read_bytes(), (npm / rel).read_bytes()
    assert ours == theirs, f"{rel}:\n--- npm\n{theirs.decode()[:1500]}\n--- weir\n{ours.decode()[:1500]}"


def test_funding_in_the_root_and_workspace_entries_is_written_as_npm_does(tmp_path: Path,
                                                                          registry: LoopbackRegistry) -> None:
    registry.add("dep", "1.0.0")
    root = (b'{"name": "app", "version": "1.0.0", "license": "MIT", "funding": "https://fund.test/app",'
            b' "engines": {"node": ">=18"}, "workspaces": ["ws/*"], "dependencies": {"dep": "^1.0.0"}}\n')
    files = {
        "package.json": root,
        "ws/obj/package.json": b'{"name": "obj", "version": "1.0.0", "funding": {"type": "github", "url": "https://g.test"}}',
        "ws/list/package.json": b'{"name": "list", "version": "1.0.0", "funding": ["https://a.test", {"url": "https://b.test"}]}',
        "ws/str/package.json": b'{"name": "str", "version": "1.0.0", "funding": "https://str.test", "engines": {"node": "*"}}',
    }
    npm_app, app = twins(tmp_path, files)
    run_npm(npm_app, tmp_path / "npm-cache", registry.url, "install", "--package-lock-only")
    run_weir(app, tmp_path / "weir-cache", registry.url, "install", "--lockfile-only")
    assert_same_bytes(app, npm_app, "package-lock.json")


STYLES = {
    "four spaces": (b'{\n    "name": "app",\n    "version": "1.0.0",\n    "dependencies": {\n        "dep": "^1.0.0"\n    }\n}\n'),
    "tabs and CRLF": (b'{\r\n\t"name": "app",\r\n\t"version": "1.0.0",\r\n\t"dependencies": {\r\n\t\t"dep": "^1.0.0"\r\n\t}\r\n}\r\n'),
    "one line": b'{"name": "app", "version": "1.0.0", "dependencies": {"dep": "^1.0.0"}}',
}


@pytest.mark.parametrize("style", sorted(STYLES))
def test_lockfiles_take_package_jsons_indent_and_line_break(style: str, tmp_path: Path,
                                                              registry: LoopbackRegistry) -> None:
    registry.add("dep", "1.0.0", dependencies={"leaf": "^1.0.0"})
    registry.add("leaf", "1.0.0")
    npm_app, app = twins(tmp_path, {"package.json": STYLES[style]})
    run_npm(npm_app, tmp_path / "npm-cache", registry.url, "install")
    run_weir(app, tmp_path / "weir-cache", registry.url, "install")
    assert_same_bytes(app, npm_app, "package-lock.json")
    assert_same_bytes(app, npm_app, HIDDEN)
    assert_same_bytes(app, npm_app, "package.json")
    # A lockfile laid out otherwise (here: by npm for a two-space package.json) is rewritten
    # in package.json's layout by the next install that changes it, as npm does.
    two = tmp_path / "two"
    two.mkdir()
    (two / "package.json").write_bytes(b'{\n  "name": "app",\n  "version": "1.0.0",\n  "dependencies": {\n    "dep": "^1.0.0"\n  }\n}\n')
    run_npm(two, tmp_path / "npm-cache", registry.url, "install", "--package-lock-only")
    for project in (npm_app, app):
        (project / "package-lock.json").write_bytes((two / "package-lock.json").read_bytes())
    registry.add("other", "1.0.0")
    run_npm(npm_app, tmp_path / "npm-cache", registry.url, "install", "other")
    run_weir(app, tmp_path / "weir-cache", registry.url, "install", "other")
    assert b"node_modules/other" in (app / "package-lock.json").read_bytes()
    assert_same_bytes(app, npm_app, "package.json")
    assert_same_bytes(app, npm_app, "package-lock.json")
    assert_same_bytes(app, npm_app, HIDDEN)
