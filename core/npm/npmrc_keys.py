"""The configuration keys npm 11 knows, so weir warns about the others as npm does.

An .npmrc line npm cannot use is not an error to npm: it warns ("Unknown project
config") and goes on, and a deprecated key gets a warning naming what replaces it.
weir reads the same files and says the same, naming the file and the line. The
names are npm 11.19.1's config definitions (``@npmcli/config``), plus the few
npm sets for itself and the ones only weir reads.
"""

from __future__ import annotations

NPM_KEYS = frozenset({
    "_auth", "access", "all", "allow-directory", "allow-file", "allow-git", "allow-remote",
    "allow-same-version", "allow-scripts", "allow-scripts-pending", "allow-scripts-pin",
    "also", "audit", "audit-level", "auth-type", "before", "bin-links", "browser",
    "bypass-2fa", "ca", "cache", "cache-max", "cache-min", "cafile", "call", "cert", "cidr",
    "color", "commit-hooks", "cpu", "dangerously-allow-all-scripts", "depth", "description",
    "dev", "diff", "diff-dst-prefix", "diff-ignore-all-space", "diff-name-only",
    "diff-no-prefix", "diff-src-prefix", "diff-text", "diff-unified", "dry-run", "editor",
    "engine-strict", "expect-result-count", "expect-results", "expires", "fetch-retries",
    "fetch-retry-factor", "fetch-retry-maxtimeout", "fetch-retry-mintimeout", "fetch-timeout",
    "force", "foreground-scripts", "format-package-lock", "fund", "git", "git-tag-version",
    "global", "global-style", "globalconfig", "heading", "https-proxy", "if-present",
    "ignore-scripts", "include", "include-attestations", "include-staged",
    "include-workspace-root", "init-author-email", "init-author-name", "init-author-url",
    "init-license", "init-module", "init-private", "init-type", "init-version",
    "init.author.email", "init.author.name", "init.author.url", "init.license", "init.module",
    "init.version", "install-links", "install-strategy", "json", "key", "legacy-bundling",
    "legacy-peer-deps", "libc", "link", "local-address", "location", "lockfile-version",
    "loglevel", "logs-dir", "logs-max", "long", "maxsockets", "message", "min-release-age",
    "min-release-age-exclude", "name", "node-gyp", "node-options", "noproxy", "offline",
    "omit", "omit-lockfile-registry-resolved", "only", "optional", "orgs", "orgs-permission",
    "os", "otp", "pack-destination", "package", "package-lock", "package-lock-only",
    "packages", "packages-all", "packages-and-scopes-permission", "parseable", "password",
    "prefer-dedupe", "prefer-offline", "prefer-online", "prefix", "preid", "production",
    "progress", "provenance", "provenance-file", "proxy", "read-only", "rebuild-bundle",
    "registry", "replace-registry-host", "save", "save-bundle", "save-dev", "save-exact",
    "save-optional", "save-peer", "save-prefix", "save-prod", "sbom-format", "sbom-type",
    "scope", "scopes", "script-shell", "searchexclude", "searchlimit", "searchopts",
    "searchstaleness", "shell", "shrinkwrap", "sign-git-commit", "sign-git-tag",
    "strict-allow-scripts", "strict-peer-deps", "strict-ssl", "tag", "tag-version-prefix",
    "timing", "token-description", "umask", "unicode", "update-notifier", "usage",
    "user-agent", "userconfig", "version", "versions", "viewer", "which", "workspace",
    "workspaces", "workspaces-update", "yes",
})  # fmt: skip

# Keys npm sets for itself and never warns about, and keys only weir reads.
QUIET_KEYS = frozenset({"nodedir", "npm-version", "global-prefix", "local-prefix", "weir-manifest-max-age"})

# The only fields npm reads after a ``//registry/path/:`` prefix besides its own keys.
NERF_DART_FIELDS = frozenset({"_auth", "_authToken", "_password", "certfile", "email", "keyfile", "username"})

# npm warns about these even though it still reads some of them; what to use instead.
DEPRECATED = {
    "also": "use include=dev",
    "cache-max": "use prefer-online",
    "cache-min": "use prefer-offline",
    "cert": "use a registry-scoped //host/:certfile",
    "dev": "use include=dev",
    "global-style": "use install-strategy=shallow",
    "init.author.email": "use init-author-email",
    "init.author.name": "use init-author-name",
    "init.author.url": "use init-author-url",
    "init.license": "use init-license",
    "init.module": "use init-module",
    "init.version": "use init-version",
    "key": "use a registry-scoped //host/:keyfile",
    "legacy-bundling": "use install-strategy=nested",
    "only": "use omit=dev",
    "optional": "use omit=optional, or include=optional",
    "production": "use omit=dev",
    "shrinkwrap": "use package-lock",
}
