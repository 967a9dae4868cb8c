from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from weir.core.errors import EXIT_INPUT, InputError
from weir.core.npm.package_json import (
    normalize_bin,
    package_json_from_dict,
    read_package_json,
)


def write(tmp_path: Path, doc: Any) -> Path:
    path = tmp_path / "package.json"
    path.write_text(json.dumps(doc, indent=2))
    return path


def test_reads_the_fields_weir_uses(tmp_path: Path) -> None:
    doc = {
        "name": "my-app",
        "version": "1.0.0",
        "dependencies": {"lodash": "^4.17.21"},
        "devDependencies": {"jest": "^29"},
        "optionalDependencies": {"fsevents": "^2"},
        "peerDependencies": {"react": ">=18"},
        "peerDependenciesMeta": {"react": {"optional": True}},
        "overrides": {"foo": {"bar": "1.0.0", ".": "2.0.0"}, "baz@1": "$baz"},
        "workspaces": ["packages/*"],
        "engines": {"node": ">=18"},
        "os": ["linux", "!win32"],
        "cpu": "x64",
        "libc": ["glibc"],
        "scripts": {"postinstall": "node setup.js"},
        "trustedDependencies": ["esbuild"],
        "funding": "https://example.com",
    }
    pkg = read_package_json(write(tmp_path, doc))
    assert pkg.path == tmp_path / "package.json"
    assert (pkg.name, pkg.version) == ("my-app", "1.0.0")
    assert pkg.dependencies == {"lodash": "^4.17.21"}
    assert pkg.dev_dependencies == {"jest": "^29"}
    assert pkg.optional_dependencies == {"fsevents": "^2"}
    assert pkg.peer_dependencies == {"react": ">=18"}
    assert pkg.peer_dependencies_meta == {"react": {"optional": True}}
    assert pkg.overrides == {"foo": {"bar": "1.0.0", ".": "2.0.0"}, "baz@1": "$baz"}
    assert pkg.workspaces == ("packages/*",)
    assert pkg.engines == {"node": ">=18"}
    assert pkg.os == ("linux", "!win32")
    assert pkg.cpu == ("x64",)
    assert pkg.libc == ("glibc",)
    assert pkg.scripts == {"postinstall": "node setup.js"}
    assert pkg.trusted_dependencies == ("esbuild",)
    assert pkg.raw == doc


def test_missing_fields_are_empty(tmp_path: Path) -> None:
    pkg = read_package_json(write(tmp_path, {}))
    assert pkg.name is None and pkg.version is None
    assert pkg.dependencies == {} and pkg.overrides == {} and pkg.bin == {}
    assert pkg.workspaces == () and pkg.bundle_dependencies == () and pkg.os == ()


def test_workspaces_object_form(tmp_path: Path) -> None:
    pkg = read_package_json(
        write(tmp_path, {"workspaces": {"packages": ["a", "b/*"], "nohoist": ["x"]}})
    )
    assert pkg.workspaces == ("a", "b/*")


@pytest.mark.parametrize("key", ["bundleDependencies", "bundledDependencies"])
def test_bundle_dependencies_both_spellings(tmp_path: Path, key: str) -> None:
    pkg = read_package_json(write(tmp_path, {key: ["a"]}))
    assert pkg.bundle_dependencies == ("a",)


def test_bundle_dependencies_true_means_all_dependencies(tmp_path: Path) -> None:
    doc = {
        "dependencies": {"a": "1", "b": "2"},
        "devDependencies": {"c": "3"},
        "bundleDependencies": True,
    }
    assert read_package_json(write(tmp_path, doc)).bundle_dependencies == ("a", "b")


def test_legacy_engines_array_is_ignored(tmp_path: Path) -> None:
    assert (
        read_package_json(write(tmp_path, {"engines": ["node >= 0.4"]})).engines == {}
    )


def test_malformed_json_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "package.json"
    path.write_text(
        '{\n  "name": "x",\n  "version": "1.0.0"\n  "dependencies": {}\n}\n'
    )
    with pytest.raises(InputError) as info:
        read_package_json(path)
    assert info.value.message == f"{path}:4:3: Expecting ',' delimiter"
    assert info.value.exit_code == EXIT_INPUT


def test_trailing_comma_is_located(tmp_path: Path) -> None:
    path = tmp_path / "package.json"
    path.write_text('{\n  "dependencies": {\n    "a": "1",\n  }\n}\n')
    with pytest.raises(InputError, match=r"package\.json:4:3: "):
        read_package_json(path)


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "package.json"
    path.write_bytes(b'\xef\xbb\xbf{"name": "bom"}')
    assert read_package_json(path).name == "bom"


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no package.json"):
        read_package_json(tmp_path / "package.json")


def test_top_level_must_be_an_object(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="top level"):
        read_package_json(write(tmp_path, ["not", "an", "object"]))


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"dependencies": ["lodash"]}, '"dependencies" must be an object'),
        ({"dependencies": {"lodash": 4}}, '"dependencies"["lodash"] must be a string'),
        (
            {"devDependencies": {"jest": None}},
            '"devDependencies"["jest"] must be a string',
        ),
        ({"peerDependencies": "react"}, '"peerDependencies" must be an object'),
        (
            {"optionalDependencies": {"a": True}},
            '"optionalDependencies"["a"] must be a string',
        ),
        (
            {"peerDependenciesMeta": {"react": True}},
            '"peerDependenciesMeta"["react"] must be an object',
        ),
        ({"overrides": ["x"]}, '"overrides" must be an object'),
        ({"workspaces": "packages/*"}, '"workspaces" must be an array of strings'),
        (
            {"workspaces": {"packages": [1]}},
            '"workspaces"."packages" must be an array of strings',
        ),
        ({"scripts": {"test": ["jest"]}}, '"scripts"["test"] must be a string'),
        ({"name": 42}, '"name" must be a string'),
        ({"os": [1]}, '"os" must be an array of strings'),
        (
            {"bundleDependencies": "a"},
            '"bundleDependencies" must be an array of strings',
        ),
        (
            {"trustedDependencies": "esbuild"},
            '"trustedDependencies" must be an array of strings',
        ),
    ],
)
def test_wrong_types_name_the_field(
    tmp_path: Path, doc: dict[str, Any], field: str
) -> None:
    path = write(tmp_path, doc)
    with pytest.raises(InputError) as info:
        read_package_json(path)
    assert info.value.message.startswith(f"{path}: {field}")


def test_string_bin_uses_the_bare_package_name(tmp_path: Path) -> None:
    pkg = read_package_json(write(tmp_path, {"name": "@scope/tool", "bin": "./cli.js"}))
    assert pkg.bin == {"tool": "cli.js"}
    assert pkg.bin_warnings == ()


def test_object_bin_is_normalized(tmp_path: Path) -> None:
    doc = {
        "name": "t",
        "bin": {"a": "./bin//a.js", "@scope/b": "bin\\b.js", "c": "lib/../bin/c.js"},
    }
    assert read_package_json(write(tmp_path, doc)).bin == {
        "a": "bin/a.js",
        "b": "bin/b.js",
        "c": "bin/c.js",
    }


@pytest.mark.parametrize(
    "bin_field",
    [
        {"../evil": "x.js"},
        {"a/b": "x.js"},
        {"..": "x.js"},
        {"": "x.js"},
        {"a\\b": "x.js"},
        {"ok": "../../outside.js"},
        {"ok": "/usr/bin/env"},
        {"ok": "C:\\Windows\\x.exe"},
        {"ok": "."},
        {"ok": 5},
    ],
)
def test_hostile_bin_entries_are_dropped_with_a_warning(
    bin_field: dict[str, Any],
) -> None:
    bins, warnings = normalize_bin("pkg", bin_field, None)
    assert bins == {}
    assert len(warnings) == 1


def test_hostile_bin_entries_do_not_drop_good_ones() -> None:
    bins, warnings = normalize_bin("pkg", {"good": "bin/good.js", "bad": "../x"}, None)
    assert bins == {"good": "bin/good.js"}
    assert warnings == ["bin 'bad' target '../x' points outside the package; skipped"]


def test_string_bin_without_a_name_links_nothing() -> None:
    bins, warnings = normalize_bin(None, "cli.js", None)
    assert bins == {} and warnings


def test_directories_bin_lists_the_folder(tmp_path: Path) -> None:
    (tmp_path / "scripts" / "sub").mkdir(parents=True)
    (tmp_path / "scripts" / "one.js").write_text("")
    (tmp_path / "scripts" / "sub" / "two").write_text("")
    (tmp_path / "scripts" / ".hidden").write_text("")
    (tmp_path / "scripts" / "link").symlink_to("/etc/passwd")
    pkg = read_package_json(
        write(tmp_path, {"name": "p", "directories": {"bin": "./scripts"}})
    )
    assert pkg.bin == {"one.js": "scripts/one.js", "two": "scripts/sub/two"}


def test_directories_bin_is_ignored_when_bin_is_given(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "one.js").write_text("")
    doc = {"name": "p", "bin": {"x": "x.js"}, "directories": {"bin": "scripts"}}
    assert read_package_json(write(tmp_path, doc)).bin == {"x": "x.js"}


def test_directories_bin_may_not_escape_the_package(tmp_path: Path) -> None:
    pkg_dir = tmp_path / "pkg"
    pkg_dir.mkdir()
    (tmp_path / "secret").write_text("")
    pkg = read_package_json(
        write(pkg_dir, {"name": "p", "directories": {"bin": "../"}})
    )
    assert pkg.bin == {}
    assert pkg.bin_warnings


def test_package_json_from_dict_names_its_source() -> None:
    with pytest.raises(InputError) as info:
        package_json_from_dict({"dependencies": 1}, source="left-pad@1.0.0")
    assert (
        info.value.message
        == 'left-pad@1.0.0: "dependencies" must be an object, not a number'
    )


def test_dependency_names_sort_as_npm_sorts_them() -> None:
    """npm orders a saved dependency object with localeCompare(…, "en"); node 20 sorts these
    names exactly so."""
    from weir.core.npm.package_json import tidy_dependency_fields

    names = "JSONStream @s/a x1 a.b ab express a-b aB a~b @s-a/b a a_b Ab".split()
    tidy = tidy_dependency_fields({"name": "app", "dependencies": dict.fromkeys(names, "1"), "devDependencies": {}})
    assert list(tidy["dependencies"]) == "@s-a/b @s/a a a_b a-b a.b a~b ab aB Ab express JSONStream x1".split()
    assert "devDependencies" not in tidy
