from __future__ import annotations

import base64
from pathlib import Path

import pytest
from weir.core.config import DEFAULT_REGISTRY, Config, load_config
from weir.core.settings import parse_ini
from weir.core.errors import EXIT_INPUT, InputError


class Env:
    """A project dir, a home dir and a global rc, all under tmp_path."""

    def __init__(self, tmp_path: Path) -> None:
        self.project = tmp_path / "project"
        self.home = tmp_path / "home"
        self.global_rc = tmp_path / "prefix" / "etc" / "npmrc"
        for folder in (self.project, self.home, self.global_rc.parent):
            folder.mkdir(parents=True)

    def write(self, layer: str, text: str) -> None:
        path = {
            "project": self.project / ".npmrc",
            "user": self.home / ".npmrc",
            "global": self.global_rc,
        }[layer]
        path.write_text(text)

    def load(
        self, *, cli: dict | None = None, env: dict[str, str] | None = None
    ) -> Config:
        return load_config(
            self.project,
            cli=cli,
            env=env or {},
            home=self.home,
            global_rc=self.global_rc,
        )


@pytest.fixture
def rc(tmp_path: Path) -> Env:
    return Env(tmp_path)


def test_defaults(rc: Env) -> None:
    config = rc.load()
    assert config.registry == DEFAULT_REGISTRY == "https://registry.npmjs.org/"
    assert config.scoped_registries == {}
    assert config.strict_ssl is True
    assert (
        config.fetch_retries,
        config.fetch_retry_mintimeout,
        config.fetch_retry_maxtimeout,
    ) == (2, 10000, 60000)
    assert config.fetch_timeout == 300000
    assert config.maxsockets == 16
    assert config.cache == rc.home / ".cache" / "weir"
    assert not (
        config.prefer_offline
        or config.prefer_online
        or config.offline
        or config.ignore_scripts
    )
    assert config.omit == frozenset()
    assert config.legacy_peer_deps is False
    assert (config.save_exact, config.save_prefix) == (False, "^")
    assert config.manifest_max_age == 300
    assert config.extra == {}
    assert config.auth_for("https://registry.npmjs.org/lodash") == {}


def test_xdg_cache_home(rc: Env) -> None:
    assert rc.load(env={"XDG_CACHE_HOME": "/xdg"}).cache == Path("/xdg/weir")


def test_precedence_across_all_layers(rc: Env) -> None:
    rc.write(
        "global",
        "fetch-retries=1\nmaxsockets=1\nfetch-timeout=1\nsave-prefix=~\noffline=true\n",
    )
    rc.write("user", "fetch-retries=2\nmaxsockets=2\nfetch-timeout=2\nsave-prefix=>=\n")
    rc.write("project", "fetch-retries=3\nmaxsockets=3\n")
    config = rc.load(
        env={"npm_config_fetch_retries": "4", "NPM_CONFIG_SAVE_PREFIX": "="},
        cli={"fetch-retries": "5"},
    )
    assert config.fetch_retries == 5  # command line
    assert config.save_prefix == "="  # environment, any case
    assert config.maxsockets == 3  # project
    assert config.fetch_timeout == 2  # user
    assert config.offline is True  # global
    assert config.fetch_retry_maxtimeout == 60000  # default


def test_empty_env_values_are_ignored(rc: Env) -> None:
    rc.write("project", "maxsockets=7\n")
    assert rc.load(env={"npm_config_maxsockets": ""}).maxsockets == 7


def test_userconfig_from_environment(rc: Env, tmp_path: Path) -> None:
    other = tmp_path / "other.npmrc"
    other.write_text("maxsockets=9\n")
    rc.write("user", "maxsockets=2\n")
    assert rc.load(env={"NPM_CONFIG_USERCONFIG": str(other)}).maxsockets == 9


def test_global_rc_from_prefix(rc: Env) -> None:
    rc.write("global", "maxsockets=11\n")
    config = load_config(
        rc.project, env={"PREFIX": str(rc.global_rc.parent.parent)}, home=rc.home
    )
    assert config.maxsockets == 11


def test_ini_syntax() -> None:
    text = (
        "; a comment\n"
        "# another\n"
        "plain = value ; trailing comment\n"
        'quoted = "a;b#c"\n'
        "single = 'x y'\n"
        "escaped = a\\;b\n"
        "flag\n"
        "off = false\n"
        "gone = null\n"
        "omit[] = dev\n"
        "omit[] = optional\n"
        'ca = "-----BEGIN-----\\nAAA\\n-----END-----"\n'
        "dup = 1\n"
        "dup = 2\n"
        "[section]\n"
        "registry = http://nope/\n"
    )
    assert parse_ini(text) == {
        "plain": "value",
        "quoted": "a;b#c",
        "single": "x y",
        "escaped": "a;b",
        "flag": True,
        "off": False,
        "omit": ["dev", "optional"],
        "ca": "-----BEGIN-----\nAAA\n-----END-----",
        "dup": "2",
        "section.registry": "http://nope/",
    }


def test_section_keys_are_not_settings(rc: Env) -> None:
    rc.write("project", "[x]\nregistry=https://other.example/\n")
    config = rc.load()
    assert config.registry == DEFAULT_REGISTRY
    assert config.extra == {"x.registry": "https://other.example/"}


def test_env_expansion(rc: Env) -> None:
    rc.write(
        "project",
        "cache=${HOME_CACHE}/c\n"
        "unset=${NOT_SET}\n"
        "optional=a${NOT_SET?}b\n"
        "optional-set=${SET?}\n"
        "escaped=\\\\${SET}\n"  # ini reads \\ as one backslash, which escapes the $
        "doubled=\\\\\\\\${SET}\n"  # two backslashes: one literal backslash, then the value
        "${KEY_NAME}=1\n",
    )
    config = rc.load(
        env={"HOME_CACHE": "/var/cache", "SET": "yes", "KEY_NAME": "from-env"}
    )
    assert config.cache == Path("/var/cache/c")
    assert config.extra["unset"] == "${NOT_SET}"
    assert config.extra["optional"] == "ab"
    assert config.extra["optional-set"] == "yes"
    assert config.extra["escaped"] == "${SET}"
    assert config.extra["doubled"] == "\\yes"
    assert config.extra["from-env"] == "1"


def test_paths_expand_home_and_resolve_against_the_project(rc: Env) -> None:
    rc.write("project", "cache=~/weir-cache\ncafile=certs/ca.pem\n")
    config = rc.load()
    assert config.cache == rc.home / "weir-cache"
    assert config.cafile == rc.project / "certs" / "ca.pem"


def test_booleans_and_arrays(rc: Env) -> None:
    rc.write(
        "project",
        "strict-ssl=false\nignore-scripts\nca[]=CERT1\nca[]=CERT2\nsave-exact=true\n",
    )
    config = rc.load(cli={"legacy-peer-deps": True, "prefer-offline": "true"})
    assert config.strict_ssl is False
    assert config.ignore_scripts is True
    assert config.ca == ("CERT1", "CERT2")
    assert config.save_exact is True
    assert config.legacy_peer_deps is True
    assert config.prefer_offline is True


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("fetch-retries=lots\n", "fetch-retries"),
        ("maxsockets=-1\n", "maxsockets"),
        ("strict-ssl=maybe\n", "strict-ssl"),
        ("omit=tests\n", "omit"),
        ("include[]=everything\n", "include"),
        ("registry=ftp://example.com/\n", "registry"),
        ("@s:registry=not a url\n", "@s:registry"),
    ],
)
def test_bad_values_name_the_key_and_file(rc: Env, text: str, key: str) -> None:
    rc.write("project", text)
    with pytest.raises(InputError) as info:
        rc.load()
    assert info.value.exit_code == EXIT_INPUT
    assert f"config {key}=" in info.value.message
    assert str(rc.project / ".npmrc") in info.value.message


def test_omit_and_include(rc: Env) -> None:
    rc.write("project", "omit[]=dev\nomit[]=optional\n")
    assert rc.load().omit == {"dev", "optional"}
    assert rc.load(cli={"include": ["optional"]}).omit == {"dev"}
    assert rc.load(cli={"omit": "peer"}).omit == {"peer"}


def test_node_env_production_omits_dev(rc: Env) -> None:
    assert rc.load(env={"NODE_ENV": "production"}).omit == {"dev"}
    assert (
        rc.load(env={"NODE_ENV": "production"}, cli={"include": "dev"}).omit
        == frozenset()
    )
    # An explicit omit replaces the NODE_ENV default.
    assert rc.load(env={"NODE_ENV": "production"}, cli={"omit": "optional"}).omit == {
        "optional"
    }


def test_production_flag(rc: Env) -> None:
    assert rc.load(cli={"production": True}).omit == {"dev"}
    assert (
        rc.load(env={"NODE_ENV": "production"}, cli={"production": "false"}).omit
        == frozenset()
    )


def test_registry_gets_a_trailing_slash_and_scopes_route(rc: Env) -> None:
    rc.write(
        "user",
        "registry=https://mirror.example/npm\n@corp:registry=https://corp.example/api/npm\n",
    )
    config = rc.load()
    assert config.registry == "https://mirror.example/npm/"
    assert config.scoped_registries == {"@corp": "https://corp.example/api/npm/"}
    assert config.registry_for("@corp/ui") == "https://corp.example/api/npm/"
    assert config.registry_for("@other/ui") == "https://mirror.example/npm/"
    assert config.registry_for("lodash") == "https://mirror.example/npm/"


def test_token_is_scoped_to_its_host_and_path(rc: Env) -> None:
    rc.write(
        "user",
        "//corp.example/api/npm/:_authToken=CORP\n"
        "//registry.npmjs.org/:_authToken=PUBLIC\n"
        "//corp.example/api/npm/private/:_authToken=DEEPER\n",
    )
    config = rc.load()
    bearer = lambda t: {"Authorization": f"Bearer {t}"}
    assert config.auth_for("https://corp.example/api/npm/@corp%2fui") == bearer("CORP")
    assert config.auth_for(
        "https://corp.example/api/npm/@corp/ui/-/ui-1.0.0.tgz"
    ) == bearer("CORP")
    assert config.auth_for("https://corp.example/api/npm/private/x") == bearer("DEEPER")
    assert config.auth_for("https://registry.npmjs.org/lodash") == bearer("PUBLIC")
    # Not under the configured path, another host, a look-alike host: nothing is sent.
    assert config.auth_for("https://corp.example/other/x") == {}
    assert config.auth_for("https://corp.example/api/npmx/x") == {}
    assert config.auth_for("https://evil.example/api/npm/x") == {}
    assert config.auth_for("https://corp.example.evil.com/api/npm/x") == {}
    assert config.auth_for("https://corp.example:8443/api/npm/x") == {}


def test_default_ports_match_keys_without_a_port(rc: Env) -> None:
    rc.write(
        "user",
        "//a.example/:_authToken=A\n//b.example:443/:_authToken=B\n//c.example:8080/:_authToken=C\n",
    )
    config = rc.load()
    assert config.auth_for("https://a.example:443/x") == {"Authorization": "Bearer A"}
    assert config.auth_for("https://b.example/x") == {"Authorization": "Bearer B"}
    assert config.auth_for("http://a.example:80/x") == {"Authorization": "Bearer A"}
    assert config.auth_for("http://a.example:443/x") == {}
    assert config.auth_for("http://c.example:8080/x") == {"Authorization": "Bearer C"}
    assert config.auth_for("http://c.example/x") == {}


def test_basic_auth_forms(rc: Env) -> None:
    password = base64.b64encode(b"s3cret").decode()
    rc.write(
        "user",
        f"//u.example/:username=alice\n//u.example/:_password={password}\n"
        "//a.example/:_auth=YWxpY2U6czNjcmV0\n",
    )
    config = rc.load()
    expected = {"Authorization": "Basic " + base64.b64encode(b"alice:s3cret").decode()}
    assert config.auth_for("https://u.example/pkg") == expected
    assert config.auth_for("https://a.example/pkg") == {
        "Authorization": "Basic YWxpY2U6czNjcmV0"
    }


def test_token_from_env_var_and_env_layer(rc: Env) -> None:
    rc.write("project", "//r.example/:_authToken=${NPM_TOKEN}\n")
    assert rc.load(env={"NPM_TOKEN": "t0k"}).auth_for("https://r.example/a") == {
        "Authorization": "Bearer t0k"
    }
    # Unset: npm sends the literal text, which the registry will refuse.
    assert rc.load().auth_for("https://r.example/a") == {
        "Authorization": "Bearer ${NPM_TOKEN}"
    }
    config = rc.load(env={"npm_config_//r.example/:_authToken": "fromenv"})
    assert config.auth_for("https://r.example/a") == {"Authorization": "Bearer fromenv"}


@pytest.mark.parametrize("key", ["_authToken", "_auth", "_password", "username"])
def test_unscoped_auth_is_an_error(rc: Env, key: str) -> None:
    rc.write("user", f"{key}=abc\n")
    with pytest.raises(InputError) as info:
        rc.load()
    assert info.value.exit_code == EXIT_INPUT
    assert "must be scoped to a registry" in info.value.message
    assert str(rc.home / ".npmrc") in info.value.message
    assert f"//registry.npmjs.org/:{key}" in (info.value.hint or "")


def test_unscoped_token_from_the_environment_is_an_error(rc: Env) -> None:
    with pytest.raises(InputError, match="must be scoped to a registry"):
        rc.load(env={"npm_config__authToken": "abc"})


def test_bad_password_encoding(rc: Env) -> None:
    rc.write("user", "//u.example/:username=a\n//u.example/:_password=***\n")
    with pytest.raises(InputError, match="base64"):
        rc.load()


def test_repr_and_redact_hide_secrets(rc: Env) -> None:
    password = base64.b64encode(b"hunter2").decode()
    rc.write(
        "user",
        "//r.example/:_authToken=npm_TOKENVALUE\n"
        f"//u.example/:username=bob\n//u.example/:_password={password}\n"
        "//a.example/:_auth=QUFBQUFBQUE=\n"
        "https-proxy=http://proxyuser:proxypass@proxy.example:3128/\n",
    )
    config = rc.load()
    text = repr(config)
    for secret in (
        "npm_TOKENVALUE",
        "hunter2",
        password,
        "QUFBQUFBQUE=",
        "proxypass",
        "proxyuser",
    ):
        assert secret not in text
    assert "***" in text
    basic = config.auth_for("https://u.example/x")["Authorization"]
    log = f"GET https://r.example/x with npm_TOKENVALUE; {basic}; pw hunter2; via https://me:pw@host.example/p"
    assert (
        config.redact(log)
        == "GET https://r.example/x with ***; Basic ***; pw ***; via https://***@host.example/p"
    )


def test_unknown_keys_are_kept_in_extra(rc: Env) -> None:
    rc.write(
        "project", "engine-strict=true\nfund=false\n//r.example/:always-auth=true\n"
    )
    config = rc.load()
    assert config.extra == {
        "engine-strict": True,
        "fund": False,
        "//r.example/:always-auth": True,
    }


def test_project_rc_that_is_the_user_rc_is_read_once(rc: Env, tmp_path: Path) -> None:
    rc.write("user", "maxsockets=4\n")
    config = load_config(rc.home, env={}, home=rc.home, global_rc=rc.global_rc)
    assert config.maxsockets == 4


def test_lines_npm_would_warn_about_are_warnings_with_file_and_line(rc: Env) -> None:
    rc.write("user", "fund=false\naudit=false\nnodedir=/usr\nalways-auth=true\n")
    rc.write("global", "; comment\n\nproduction=true\n")
    rc.write(
        "project",
        "registry=https://r.example/\n@s:registry=https://s.example/\n//r.example/:_authToken=t\n"
        "//r.example/:certfile=/c.pem\ninit.author.name=x\nweir-manifest-max-age=5\nomit[]=dev\nthis is junk\n",
    )
    config = rc.load()
    assert config.warnings == (
        f'{rc.global_rc}:3: config "production" is deprecated in npm: use omit=dev',
        f'{rc.home / ".npmrc"}:4: unknown user config "always-auth"; ignored, as npm ignores it',
        f'{rc.project / ".npmrc"}:5: config "init.author.name" is deprecated in npm: use init-author-name',
        f'{rc.project / ".npmrc"}:8: unknown project config "this is junk"; ignored, as npm ignores it',
    )
    assert config.registry == "https://r.example/" and config.omit == frozenset({"dev"})


def test_a_token_pasted_without_its_key_is_not_echoed(rc: Env) -> None:
    token = "npm_" + "A1b2C3d4E5" * 4
    rc.write("project", f"{token}\n//registry.npmjs.org/:_authToken {token}\n")
    warnings = rc.load().warnings
    assert len(warnings) == 2
    assert not any(token[4:24] in w for w in warnings)
    assert warnings[1].endswith('unknown project config "_authToken ***" (//registry.npmjs.org/:_authToken ***); ignored, as npm ignores it')
