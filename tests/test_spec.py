from __future__ import annotations

import os
from pathlib import Path

import pytest
from weir.core.errors import EXIT_INPUT, InputError
from weir.core.npm.spec import Spec, parse_arg, parse_spec


@pytest.mark.parametrize(
    ("raw", "kind", "fetch_spec"),
    [
        ("1.2.3", "version", "1.2.3"),
        ("=1.2.3", "version", "1.2.3"),
        ("v1.2.3", "version", "1.2.3"),
        (" 1.2.3 ", "version", "1.2.3"),
        ("^1.2.3", "range", "^1.2.3"),
        ("~1.2", "range", "~1.2"),
        (">=1 <2 || 3.x", "range", ">=1 <2 || 3.x"),
        ("1.x", "range", "1.x"),
        ("*", "range", "*"),
        ("", "range", "*"),
        ("latest", "tag", "latest"),
        ("next", "tag", "next"),
        ("beta-2", "tag", "beta-2"),
    ],
)
def test_registry_specs(raw: str, kind: str, fetch_spec: str) -> None:
    spec = parse_spec("lodash", raw)
    assert (spec.kind, spec.name, spec.raw, spec.fetch_spec) == (
        kind,
        "lodash",
        raw,
        fetch_spec,
    )
    assert spec.subspec is None


@pytest.mark.parametrize("raw", ["not a tag", "tag?x", "tag#1", "a%b", "~é"])
def test_invalid_tags_are_input_errors(raw: str) -> None:
    with pytest.raises(InputError) as info:
        parse_spec("lodash", raw)
    assert info.value.exit_code == EXIT_INPUT
    assert info.value.package == "lodash"
    assert info.value.spec == raw


def test_alias_points_at_a_registry_spec() -> None:
    spec = parse_spec("my-lodash", "npm:lodash@^4.17.0")
    assert spec.kind == "alias"
    assert spec.name == "my-lodash"
    assert spec.fetch_spec == "lodash@^4.17.0"
    assert spec.subspec == Spec("range", "lodash", "^4.17.0", "^4.17.0")


def test_alias_to_a_scoped_package_without_range_asks_for_latest() -> None:
    spec = parse_spec("types", "npm:@types/node")
    assert spec.subspec == Spec("tag", "@types/node", "", "latest")


def test_alias_to_an_exact_version() -> None:
    sub = parse_spec("x", "npm:@scope/real@1.0.0").subspec
    assert sub is not None and (sub.kind, sub.name, sub.fetch_spec) == (
        "version",
        "@scope/real",
        "1.0.0",
    )


@pytest.mark.parametrize(
    "raw",
    [
        "npm:lodash@npm:other@1",
        "npm:lodash@github:u/r",
        "npm:../x",
        "npm:",
        "npm:@x/..@1",
    ],
)
def test_bad_alias_targets_are_rejected(raw: str) -> None:
    with pytest.raises(InputError):
        parse_spec("a", raw)


@pytest.mark.parametrize(
    "raw",
    [
        "https://example.com/pkg-1.0.0.tgz",
        "http://example.com/download/pkg.tgz",
        "https://github.com/u/r/archive/v1.0.0.tar.gz",
    ],
)
def test_tarball_urls_are_remote(raw: str) -> None:
    spec = parse_spec("pkg", raw)
    assert (spec.kind, spec.fetch_spec) == ("remote", raw)


@pytest.mark.parametrize(
    "raw",
    [
        "git+https://github.com/u/r.git",
        "git+https://example.com/r.git#v1.0.0",
        "git://github.com/u/r.git",
        "git+ssh://git@github.com:u/r.git#semver:^1",
        "git+ssh://git@example.com/u/r.git",
        "git+file:///srv/repo.git",
        "git@github.com:u/r.git",
        "github:u/r",
        "github:u/r#main",
        "gitlab:group/proj",
        "bitbucket:u/r",
        "gist:11081aaa281",
        "u/r",
        "u/r#v1.2.3",
        "https://github.com/u/r",
        "https://github.com/u/r.git",
        "https://github.com/u/r/tree/main",
    ],
)
def test_git_specs_parse_without_error(raw: str) -> None:
    spec = parse_spec("dep", raw)
    assert spec.kind == "git"
    assert spec.name == "dep"
    assert spec.fetch_spec == raw


@pytest.mark.parametrize(
    ("raw", "relative"),
    [
        ("file:../lib", "../lib"),
        ("file:vendor/pkg-1.0.0.tgz", "vendor/pkg-1.0.0.tgz"),
        ("file:./x", "x"),
        ("./packages/a", "packages/a"),
        ("../sibling", "../sibling"),
        ("vendor/a/b", "vendor/a/b"),
        ("pkg.tgz", "pkg.tgz"),
    ],
)
def test_file_specs_resolve_against_the_package_dir(
    tmp_path: Path, raw: str, relative: str
) -> None:
    spec = parse_spec("local", raw, where=tmp_path / "app")
    assert spec.kind == "file"
    assert spec.fetch_spec == os.path.normpath(tmp_path / "app" / relative)


def test_absolute_file_specs(tmp_path: Path) -> None:
    assert parse_spec("a", "file:///opt/pkg", where=tmp_path).fetch_spec == "/opt/pkg"
    assert parse_spec("a", "/opt/pkg", where=tmp_path).fetch_spec == "/opt/pkg"
    assert parse_spec("a", "file:/opt/pkg", where=tmp_path).fetch_spec == "/opt/pkg"


def test_home_relative_file_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert parse_spec("a", "~/pkgs/a").fetch_spec == str(tmp_path / "pkgs" / "a")


def test_file_spec_tells_tarball_from_directory(tmp_path: Path) -> None:
    assert parse_spec("a", "file:a-1.0.0.tgz", where=tmp_path).is_tarball
    assert parse_spec("a", "file:a.tar.gz", where=tmp_path).is_tarball
    assert not parse_spec("a", "file:a", where=tmp_path).is_tarball


@pytest.mark.parametrize(
    ("raw", "fetch_spec"),
    [
        ("workspace:*", "*"),
        ("workspace:^", "^"),
        ("workspace:~", "~"),
        ("workspace:^1.2.0", "^1.2.0"),
    ],
)
def test_workspace_specs(raw: str, fetch_spec: str) -> None:
    spec = parse_spec("@app/ui", raw)
    assert (spec.kind, spec.fetch_spec) == ("workspace", fetch_spec)


def test_invalid_workspace_spec() -> None:
    with pytest.raises(InputError, match="workspace"):
        parse_spec("a", "workspace:not a range!")


@pytest.mark.parametrize("raw", ["ftp://example.com/x.tgz", "svn:foo", "ssh://host/x"])
def test_unknown_protocols_are_rejected(raw: str) -> None:
    with pytest.raises(InputError) as info:
        parse_spec("a", raw)
    assert info.value.code == "EUNSUPPORTEDPROTOCOL"


@pytest.mark.parametrize(
    "name", ["../x", "@x/../../../.git/hooks", "a/b", "node_modules", ""]
)
def test_parse_spec_validates_the_dependency_name(name: str) -> None:
    with pytest.raises(InputError) as info:
        parse_spec(name, "^1.0.0")
    assert info.value.code == "EINVALIDPACKAGENAME"


@pytest.mark.parametrize(
    ("arg", "kind", "name", "fetch_spec"),
    [
        ("lodash", "tag", "lodash", "latest"),
        ("lodash@^4", "range", "lodash", "^4"),
        ("lodash@4.17.21", "version", "lodash", "4.17.21"),
        ("lodash@", "range", "lodash", "*"),
        ("lodash@*", "range", "lodash", "*"),
        ("lodash@next", "tag", "lodash", "next"),
        ("@scope/pkg", "tag", "@scope/pkg", "latest"),
        ("@scope/pkg@latest", "tag", "@scope/pkg", "latest"),
        ("@scope/pkg@~1.2.3", "range", "@scope/pkg", "~1.2.3"),
        ("my-lodash@npm:lodash@^4", "alias", "my-lodash", "lodash@^4"),
        ("npm:lodash@^4", "alias", "lodash", "lodash@^4"),
        ("github:u/r", "git", None, "github:u/r"),
        ("u/r", "git", None, "u/r"),
        ("git@github.com:u/r.git", "git", None, "git@github.com:u/r.git"),
        ("dep@github:u/r", "git", "dep", "github:u/r"),
        ("https://example.com/a.tgz", "remote", None, "https://example.com/a.tgz"),
        ("dep@https://example.com/a.tgz", "remote", "dep", "https://example.com/a.tgz"),
    ],
)
def test_parse_arg(arg: str, kind: str, name: str | None, fetch_spec: str) -> None:
    spec = parse_arg(arg)
    assert (spec.kind, spec.name, spec.fetch_spec) == (kind, name, fetch_spec)


def test_parse_arg_alias_subspec() -> None:
    spec = parse_arg("my-lodash@npm:lodash@^4")
    assert spec.subspec == Spec("range", "lodash", "^4", "^4")


def test_parse_arg_paths_resolve_against_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for arg in ("./pkg", "../pkg", "file:pkg", "pkg.tgz", "/abs/pkg"):
        spec = parse_arg(arg)
        assert spec.kind == "file"
        assert spec.name is None
        assert spec.fetch_spec == os.path.normpath(tmp_path / arg.removeprefix("file:"))


@pytest.mark.parametrize(
    "arg", ["node_modules", "_private", "Not Valid", "@x/..@1", "@x/../../.git/hooks"]
)
def test_parse_arg_rejects_bad_names(arg: str) -> None:
    with pytest.raises(InputError):
        parse_arg(arg)


def test_parse_arg_with_a_path_before_the_at_sign_is_a_path() -> None:
    # A directory called "x@1", not a package "../x" at version 1.
    spec = parse_arg("../x@1")
    assert (spec.kind, spec.name) == ("file", None)
    assert spec.fetch_spec.endswith("/x@1")
