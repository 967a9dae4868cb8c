from __future__ import annotations

import pytest
from weir.core.errors import EXIT_INPUT, InputError
from weir.core.npm.names import escape_for_url, is_valid_name, split_scope, validate_name


@pytest.mark.parametrize(
    "name",
    [
        "lodash",
        "@types/node",
        "react-dom",
        "JSONStream",  # capitals: not valid for new packages, but existing ones install
        "a",
        "lodash.merge",
        "@babel/core",
        "x" * 214,
        "left-pad_2",
        "~tilde!(star)*'",
    ],
)
def test_existing_names_are_accepted(name: str) -> None:
    validate_name(name)
    assert is_valid_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "x" * 215,
        ".hidden",
        "_private",
        " lodash",
        "lodash ",
        "..",
        ".",
        "../x",
        "a/b",
        "a\\b",
        "node_modules",
        "NODE_MODULES",
        "favicon.ico",
        "@x/../../../.git/hooks",
        "@x/../..",
        "@x/..",
        "@../x",
        "@x",
        "@/x",
        "@x/",
        "@x/.y",
        "with space",
        "café",
        "a:b",
        "a%2fb",
    ],
)
def test_hostile_or_malformed_names_are_rejected(name: str) -> None:
    assert not is_valid_name(name)
    with pytest.raises(InputError) as info:
        validate_name(name)
    assert info.value.code == "EINVALIDPACKAGENAME"
    assert info.value.exit_code == EXIT_INPUT
    assert info.value.package == name
    assert "invalid package name" in str(info.value)


def test_error_says_which_rule_was_broken() -> None:
    with pytest.raises(InputError, match="period"):
        validate_name(".git")
    with pytest.raises(InputError, match="reserved"):
        validate_name("node_modules")
    with pytest.raises(InputError, match="URL-safe"):
        validate_name("a/b")


def test_split_scope() -> None:
    assert split_scope("@types/node") == ("@types", "node")
    assert split_scope("lodash") == (None, "lodash")


def test_escape_for_url_encodes_only_the_scope_slash() -> None:
    assert escape_for_url("@types/node") == "@types%2fnode"
    assert escape_for_url("lodash") == "lodash"


def test_escape_for_url_refuses_invalid_names() -> None:
    with pytest.raises(InputError):
        escape_for_url("../../etc/passwd")
