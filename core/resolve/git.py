"""Git dependencies: a spec → a repository and committish → a commit sha → a packed tarball.

npm (npm-package-arg, hosted-git-info, pacote) installs a git dependency by
resolving its committish to a commit, cloning the repository, packing the
checkout with ``npm pack``'s file rules and installing that tarball. Rules
this module holds:

1. Spec forms: ``git+https://``, ``git+http://``, ``git+ssh://`` (also with an
   scp-like ``user@host:path`` after it), ``git://``, ``git+file://``, a bare
   ``user@host:path``, the shorthands ``github:``/``gitlab:``/``bitbucket:``/
   ``gist:`` and bare ``user/repo`` (GitHub), and URLs on those hosts. After
   ``#`` a committish (branch, tag, sha) or ``semver:<range>`` (the highest
   tag whose version fits).
2. The lockfile's ``resolved`` is npm's: for a hosted repository
   ``git+ssh://git@<host>/<user>/<repo>.git#<sha>`` whatever form the spec had;
   otherwise the spec without its committish, then ``#<sha>``. No integrity.
3. A committish is resolved with ``git ls-remote``: a branch or tag (peeled),
   ``HEAD`` when there is none, a full sha as is; anything else (a short sha)
   by a full clone and ``git rev-parse``.
4. Clones are shallow when a ref names the commit, and cached by commit sha:
   ``<cache>/git/<sha>.tgz`` is the packed tarball, written atomically, so a
   second install (or ``weir ci``) of the same commit runs no git at all.
5. The checkout is packed with npm-packlist's rules (``files``, ``.npmignore``
   else ``.gitignore`` per folder, the always-included and always-excluded
   files), as ``package/<path>`` entries with npm pack's fixed mtime, sorted,
   so the same commit always gives the same bytes.
6. A ``prepare`` script runs only when the caller's script policy says so
   (``Prepare``): then, as npm does, the checkout gets its own install
   (dependencies, dev ones included, and its root lifecycle scripts, among
   them ``prepare``) before it is packed, and the tarball is cached apart
   (``<sha>.prepared.tgz``). Otherwise the commit is packed as committed and
   the caller says so, naming the package. A chain of git dependencies
   prepares each commit once (``WEIR_GIT_PREPARING``, like npm's
   ``_PACOTE_NO_PREPARE_``), so two repositories that need each other cannot
   start installs without end.
"""

from __future__ import annotations

import fnmatch
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import orjson

from weir.core.errors import InputError, NetworkError, ResolveError
from weir.core.registry.local_tarball import tarball_package_json
from weir.core.npm.packument import PackumentError, VersionManifest, decode_version
from weir.core.npm.semver import max_satisfying, valid

__all__ = [
    "GitPackage", "GitSource", "Hosted", "fetch_git", "fetch_resolved", "pack_folder", "packed_commit", "parse_git", "resolve_commit",
]

_HOSTS = {"github": "github.com", "gitlab": "gitlab.com", "bitbucket": "bitbucket.org", "gist": "gist.github.com"}
_BY_DOMAIN = {d: t for t, d in _HOSTS.items()} | {"www.github.com": "github"}
_SHA = re.compile(r"^[0-9a-f]{40}$")
_SCP = re.compile(r"^(?P<user>[^@/:]+@)?(?P<host>[^:/]+):(?P<path>(?!//).+)$")
_NPM_PACK_MTIME = 499162500  # 1985-10-26T08:15:00Z, the date npm pack writes on every entry
_GIT_TIMEOUT = 120
_PREPARE_TIMEOUT = 900


@dataclass(frozen=True, slots=True)
class Hosted:
    """A repository on GitHub, GitLab, Bitbucket or gist (hosted-git-info)."""

    type: str
    user: str
    project: str
    default: str  # how the spec wrote it: shortcut, https, sshurl, git

    @property
    def _path(self) -> str:
        return self.project if self.type == "gist" else f"{self.user}/{self.project}"

    def ssh_url(self) -> str:
        return f"ssh://git@{_HOSTS[self.type]}/{self._path}.git"

    def https_url(self) -> str:
        return f"https://{_HOSTS[self.type]}/{self._path}.git"

    def shortcut(self) -> str:
        return f"{self.type}:{self._path}"


@dataclass(frozen=True, slots=True)
class GitSource:
    """What a git spec asks for. ``base`` is the spec without its committish
    (``resolved`` of a non-hosted repository starts with it)."""

    urls: tuple[str, ...]  # what to clone from, tried in order
    committish: str | None
    range: str | None
    hosted: Hosted | None
    base: str

    def resolved(self, sha: str) -> str:
        """The lockfile's ``resolved`` for this repository at ``sha`` (rule 2)."""
        if self.hosted is not None:
            return f"git+{self.hosted.ssh_url()}#{sha}"
        return f"{self.base}#{sha}"

    @property
    def repo(self) -> str:
        """The repository, the same for every committish: ``resolved`` before its ``#``."""
        return self.resolved("").rstrip("#")

    def save_spec(self) -> str:
        """How npm writes the spec in package.json (npm-package-arg's saveSpec)."""
        tail = f"#semver:{self.range}" if self.range is not None else f"#{self.committish}" if self.committish else ""
        h = self.hosted
        if h is None:
            return (self.base if self.base.lower().startswith("git") else f"git+ssh://{self.base}") + tail
        if h.default == "shortcut":
            return h.shortcut() + tail
        if h.default == "https":
            return f"git+{h.https_url()}{tail}"
        if h.default == "git":
            return f"git://{_HOSTS[h.type]}/{h._path}.git{tail}"
        return f"git+{h.ssh_url()}{tail}"


def parse_git(raw: str) -> GitSource:
    """The repository and committish a git spec names (rule 1)."""
    text = raw.strip()
    head, _, frag = text.partition("#")
    page = re.match(r"^(https?://(?:www\.)?github\.com/[^/]+/[^/]+)/tree/(.+)$", head, re.IGNORECASE)
    if page and not frag:  # a repository page at a branch: https://github.com/u/r/tree/<committish>
        head, frag = page.group(1), page.group(2)
    committish, rng = _fragment(frag, raw)
    if head.lower().removeprefix("git+").startswith("-") or (committish or "").startswith("-"):
        raise InputError(f"{raw!r}: a repository or committish may not start with '-' (git would read it as an option)",
                         spec=raw, code="EINVALIDSPEC", hint="check the spec")
    hosted = _hosted(head)
    if hosted is not None:
        urls = (hosted.https_url(), hosted.ssh_url())
        return GitSource(urls, committish, rng, hosted, hosted.shortcut())
    lowered = head.lower()
    if lowered.startswith("git+"):
        url = head[4:]
        if url.lower().startswith("ssh://"):
            rest = url[6:]
            m = _SCP.match(rest)
            if m and not re.match(r"^\d+(/|$)", m.group("path")):  # git+ssh://git@host:path is scp-like, not a port
                url = rest
        return GitSource((url,), committish, rng, None, head)
    if lowered.startswith("git://"):
        return GitSource((head,), committish, rng, None, head)
    if _SCP.match(head) and "@" in head:
        return GitSource((head,), committish, rng, None, head)
    raise InputError(f"{raw!r} is not a git repository spec", spec=raw, code="EUNSUPPORTEDPROTOCOL")


def _fragment(frag: str, raw: str) -> tuple[str | None, str | None]:
    if not frag:
        return None, None
    if frag.startswith("semver:"):
        rng = frag[len("semver:") :]
        return None, rng
    return frag, None


def _hosted(head: str) -> Hosted | None:
    """hosted-git-info: a shorthand, bare ``user/repo``, or a URL on a known host."""
    m = re.match(r"^(github|gitlab|bitbucket|gist):(.+)$", head, re.IGNORECASE)
    if m:
        return _hosted_path(m.group(1).lower(), m.group(2), "shortcut")
    if re.match(r"^[^./:@\s][^/:@\s]*/[^/:@\s]+$", head):
        return _hosted_path("github", head, "shortcut")
    scp = re.match(r"^(?:git\+ssh://)?git@([^:/]+):(?!\d+/)(.+)$", head)
    if scp and scp.group(1).lower() in _BY_DOMAIN:
        return _hosted_path(_BY_DOMAIN[scp.group(1).lower()], scp.group(2), "sshurl")
    url = head[4:] if head.lower().startswith("git+") else head
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host not in _BY_DOMAIN or parts.scheme not in ("https", "http", "ssh", "git"):
        return None
    default = {"https": "https", "http": "https", "ssh": "sshurl", "git": "git"}[parts.scheme]
    return _hosted_path(_BY_DOMAIN[host], parts.path.lstrip("/"), default)


def _hosted_path(kind: str, path: str, default: str) -> Hosted | None:
    segments = [s for s in path.split("/") if s]
    if kind == "gist":
        if not segments:
            return None
        return Hosted(kind, segments[0] if len(segments) > 1 else "", segments[-1].removesuffix(".git"), default)
    if len(segments) < 2 or (kind != "gitlab" and len(segments) != 2):
        return None
    return Hosted(kind, "/".join(segments[:-1]), segments[-1].removesuffix(".git"), default)


@dataclass(frozen=True, slots=True)
class Prepare:
    """Rule 6: how to run a trusted git dependency's install in its checkout (the
    registry and cache of the install that asked for it)."""

    registry: str
    cache: Path


@dataclass(frozen=True, slots=True)
class GitPackage:
    """A git dependency ready to install: its lockfile ``resolved``, the packed tarball, its
    manifest (``dist.tarball`` is ``resolved``), and whether a ``prepare`` script went unrun."""

    resolved: str
    tarball: Path
    manifest: VersionManifest
    unprepared: bool


def fetch_git(spec: str, cache: Path, who: str, prepare: Prepare | None) -> GitPackage:
    """Resolve ``spec`` to a commit and pack it (cached by sha): the resolver's whole git step."""
    source = parse_git(spec)
    sha, url, ref = resolve_commit(source, who=who)
    return _package(source.resolved(sha), packed_commit(source, url, sha, ref, cache, who=who, prepare=prepare), who, prepare)


def fetch_resolved(resolved: str, cache: Path, who: str, prepare: Prepare | None) -> Path:
    """The packed tarball of a lockfile's ``resolved`` (``…#<sha>``): ``weir ci`` clones the recorded commit."""
    source = parse_git(resolved)
    sha = (source.committish or "").lower()
    if not _SHA.match(sha):
        raise InputError(
            f"{who}: package-lock.json records {resolved!r}, which names no commit sha",
            code="ELOCKFILE",
            hint="delete the entry from package-lock.json and run `weir install` to record the commit",
        )
    target = _cached(cache, sha, prepare)
    if target.is_file():
        return target
    errors: list[str] = []
    for url in source.urls:
        try:
            return packed_commit(source, url, sha, None, cache, who=who, prepare=prepare)
        except NetworkError as exc:
            errors.append(exc.message)
    raise NetworkError("; ".join(errors), code="EGITREMOTE", hint="check that this machine can reach the repository")


def _package(resolved: str, tarball: Path, who: str, prepare: Prepare | None) -> GitPackage:
    doc = tarball_package_json(tarball.read_bytes(), who)
    unprepared = prepare is None and _has_prepare(doc)
    doc["dist"] = {"tarball": resolved}
    try:
        manifest = decode_version(orjson.dumps(doc))
    except PackumentError as exc:
        raise InputError(f"{who}: the repository's package.json is not usable: {exc}", code="EJSONPARSE") from None
    return GitPackage(resolved, tarball, manifest, unprepared)


# -- resolving ------------------------------------------------------------------------


def resolve_commit(source: GitSource, *, who: str) -> tuple[str, str, str | None]:
    """The commit the spec names: (sha, url that answered, ref name or None) (rule 3)."""
    if source.committish and _SHA.match(source.committish.lower()):
        return source.committish.lower(), source.urls[0], None
    url, refs = _ls_remote(source, who)
    if source.range is not None:
        versions = {v: sha for name, sha in refs.items() if (v := _tag_version(name)) is not None}
        best = max_satisfying(list(versions), source.range, loose=True)
        if best is None:
            raise ResolveError(
                f"{who}: no tag in {url} has a version in semver:{source.range} (tags: {', '.join(sorted(versions)) or 'none'})",
                code="ETARGET",
                hint="tag a commit with a fitting version (e.g. v1.2.3), or change the range",
            )
        tag = next(n for n in refs if _tag_version(n) == best and not n.startswith("refs/"))
        return versions[best], url, tag
    want = source.committish or "HEAD"
    if want in refs:
        return refs[want], url, None if want == "HEAD" else want
    return _rev_parse(url, want, who), url, None


def _tag_version(ref: str) -> str | None:
    if ref.startswith("refs/") or ref.endswith("^{}"):
        return None
    m = re.search(r"v?(\d+\.\d+\.\d+(?:[-+].+)?)$", ref)
    return valid(m.group(1), loose=True) if m else None


def _ls_remote(source: GitSource, who: str) -> tuple[str, dict[str, str]]:
    """The refs of the first URL that answers: short and full names → commit sha (tags peeled)."""
    failures = []
    for url in source.urls:
        result = _git(["ls-remote", url], None)
        if result.returncode == 0:
            return url, _refs(result.stdout)
        failures.append(f"{url}: {_last_line(result.stderr)}")
    raise NetworkError(
        f"{who}: cannot list the refs of the repository ({'; '.join(failures)})",
        code="EGITREMOTE",
        hint="check the URL and that this machine can reach the host (and has credentials for a private repository)",
    )


def _refs(out: str) -> dict[str, str]:
    refs: dict[str, str] = {}
    peeled: dict[str, str] = {}
    for line in out.splitlines():
        sha, _, raw = line.strip().partition("\t")
        if not raw:
            continue
        if raw.endswith("^{}"):
            peeled[raw[:-3]] = sha
            continue
        refs[raw] = sha
        for prefix in ("refs/tags/", "refs/heads/"):
            if raw.startswith(prefix):
                refs.setdefault(raw[len(prefix) :], sha)
    for raw, sha in peeled.items():
        refs[raw] = sha
        refs[raw.removeprefix("refs/tags/")] = sha
    return refs


def _rev_parse(url: str, committish: str, who: str) -> str:
    with tempfile.TemporaryDirectory(prefix="weir-git-") as tmp:
        _check(_git(["clone", "--quiet", "--bare", url, tmp], None), who, f"clone {url}")
        result = _git(["rev-parse", "--verify", "--quiet", f"{committish}^{{commit}}"], Path(tmp))
        if result.returncode != 0:
            raise ResolveError(
                f"{who}: {url} has no branch, tag or commit named {committish!r}",
                code="ETARGET",
                hint="check the part after # in the spec (a branch, a tag, a commit sha or semver:<range>)",
            )
        return result.stdout.strip()


# -- fetching and packing -------------------------------------------------------------


def packed_commit(
    source: GitSource, url: str, sha: str, ref: str | None, cache: Path, *, who: str, prepare: Prepare | None
) -> Path:
    """``<cache>/git/<sha>.tgz``, cloning and packing it if the cache lacks it (rules 4 and 6)."""
    target = _cached(cache, sha, prepare)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="weir-git-", dir=target.parent) as tmp:
        work = Path(tmp) / "checkout"
        _checkout(url, sha, ref, work, who)
        if prepare is not None:
            _prepare(work, source.resolved(sha), prepare, who)
        data = pack_folder(work, who=who)
        part = Path(tmp) / "package.tgz"
        part.write_bytes(data)
        os.replace(part, target)
    return target


def _cached(cache: Path, sha: str, prepare: Prepare | None) -> Path:
    return cache / "git" / (f"{sha}.prepared.tgz" if prepare is not None else f"{sha}.tgz")


def _has_prepare(manifest: dict[str, object]) -> bool:
    scripts = manifest.get("scripts")
    return isinstance(scripts, dict) and bool(scripts.get("prepare"))


def _prepare(work: Path, resolved: str, prepare: Prepare, who: str) -> None:
    """Rule 6: ``weir install`` in the checkout, as npm runs ``npm install`` there.

    A child process, as npm spawns npm: the install owns its own event loop,
    store workers and signal handling, which must not mix with the running one.
    """
    try:
        manifest = orjson.loads((work / "package.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return  # pack_folder reports it
    seen = [line for line in os.environ.get("WEIR_GIT_PREPARING", "").split("\n") if line]
    if not isinstance(manifest, dict) or not _has_prepare(manifest) or resolved in seen:
        return
    env = {**os.environ, "WEIR_GIT_PREPARING": "\n".join([*seen, resolved]), "CI": "true"}
    cmd = [sys.executable, "-m", "weir.tui.cli.main", "install", "--reporter", "plain",
           "--registry", prepare.registry, "--cache", str(prepare.cache), "-C", str(work)]
    try:
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=_PREPARE_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        result = subprocess.CompletedProcess(cmd, 1, "", f"took longer than {_PREPARE_TIMEOUT} s")
    if result.returncode != 0:
        from weir.core.errors import ScriptError

        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-12:])
        raise ScriptError(
            f"{who}: preparing the git dependency failed (its install and prepare script in a checkout):\n{tail}",
            code="EGITPREPARE",
            hint="fix the repository's prepare script, or remove the package from trustedDependencies to install it as committed",
        )


def _checkout(url: str, sha: str, ref: str | None, work: Path, who: str) -> None:
    if ref is not None:
        cloned = _git(["clone", "--quiet", "--depth", "1", "--branch", ref, "--no-checkout", url, str(work)], None)
        if cloned.returncode == 0 and _git(["rev-parse", "HEAD"], work).stdout.strip() == sha:
            _check(_git(["checkout", "--quiet", "--detach", sha], work), who, f"check out {sha}")
            return
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    _check(_git(["init", "--quiet"], work), who, "create a checkout")
    if _git(["fetch", "--quiet", "--depth", "1", url, sha], work).returncode != 0:  # servers may refuse a bare sha
        _check(_git(["fetch", "--quiet", url, "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"], work), who, f"fetch {url}")
    result = _git(["checkout", "--quiet", "--detach", sha], work)
    if result.returncode != 0:
        raise ResolveError(
            f"{who}: {url} has no commit {sha}",
            code="ETARGET",
            hint="the commit package-lock.json records is gone (a force-push?); delete its entry and run `weir install`",
        )


def _git(args: list[str], cwd: Path | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "echo", "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -oBatchMode=yes")}
    try:
        return subprocess.run(["git", "-c", "protocol.ext.allow=never", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=_GIT_TIMEOUT, check=False)
    except FileNotFoundError:
        raise InputError("git is not installed, and a dependency comes from a git repository", code="ENOGIT", hint="install git") from None
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, 1, "", f"git {args[0]} took longer than {_GIT_TIMEOUT} s")


def _check(result: subprocess.CompletedProcess[str], who: str, doing: str) -> None:
    if result.returncode != 0:
        raise NetworkError(f"{who}: git could not {doing}: {_last_line(result.stderr)}", code="EGITREMOTE", hint="check the URL and that this machine can reach the host")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


# -- npm pack's file list -------------------------------------------------------------

_ALWAYS_EXCLUDED = (
    ".npmignore", ".gitignore", "**/.git", "**/.svn", "**/.hg", "**/CVS", "/.lock-wscript", "/.wafpickle-*",
    "/build/config.gypi", "npm-debug.log", "**/.npmrc", ".*.swp", ".DS_Store", "._*", "*.orig",
    "/archived-packages", "/node_modules", "/package-lock.json", "/yarn.lock", "/pnpm-lock.yaml", "/bun.lockb",
)
_ALWAYS_INCLUDED = re.compile(r"^(?:readme|copying|license|licence)(?:\..*)?$", re.IGNORECASE)


def pack_folder(folder: Path, *, who: str) -> bytes:
    """The tarball ``npm pack`` would make of ``folder`` (rule 5)."""
    pj = folder / "package.json"
    try:
        manifest = orjson.loads(pj.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    except FileNotFoundError:
        raise InputError(f"{who}: the repository has no package.json at its top", code="ENOPACKAGEJSON",
                         hint="point the spec at a repository (or commit) that holds an npm package") from None
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{who}: the repository's package.json is not JSON: {exc}", code="EJSONPARSE") from None
    files = _pack_list(folder, manifest if isinstance(manifest, dict) else {})
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.PAX_FORMAT, compresslevel=9) as tf:
        for rel in files:
            path = folder / rel
            data = path.read_bytes()
            info = tarfile.TarInfo(f"package/{rel}")
            info.size = len(data)
            info.mtime = _NPM_PACK_MTIME
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            tf.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _pack_list(folder: Path, manifest: dict[str, object]) -> list[str]:
    """Relative paths, sorted: npm-packlist's walk with ``files`` or the ignore files."""
    wanted = manifest.get("files")
    found: list[str] = []
    _walk(folder, "", [], found, wanted if isinstance(wanted, list) else None)
    keep = set(found)
    for rel in _required(folder, manifest):
        keep.add(rel)
    return sorted(keep)


def _required(folder: Path, manifest: dict[str, object]) -> list[str]:
    """package.json, README/LICENSE/COPYING at the top, ``main`` and ``bin`` files."""
    out = ["package.json"]
    out += [p.name for p in folder.iterdir() if p.is_file() and _ALWAYS_INCLUDED.match(p.name)]
    main = manifest.get("main")
    bins = manifest.get("bin")
    named = [main] if isinstance(main, str) else []
    named += [bins] if isinstance(bins, str) else list(bins.values()) if isinstance(bins, dict) else []
    for name in named:
        rel = os.path.normpath(str(name)).replace(os.sep, "/")
        if not rel.startswith("..") and (folder / rel).is_file():
            out.append(rel)
    return out


def _walk(folder: Path, prefix: str, rules: list[tuple[str, str]], found: list[str], files: list[object] | None) -> None:
    here = folder / prefix if prefix else folder
    local = [(prefix, r) for r in _ignore_rules(here)] if files is None or prefix else []  # with files, the top's ignore files do not count
    rules = rules + local
    for entry in sorted(os.listdir(here)):
        rel = f"{prefix}{entry}"
        path = here / entry
        is_dir = path.is_dir() and not path.is_symlink()
        if _excluded_by_default(rel, is_dir) or _ignored(rel, is_dir, rules):
            continue
        if files is not None and not _listed(rel, is_dir, files):
            continue
        if is_dir:
            _walk(folder, rel + "/", rules, found, files)
        elif path.is_file() and not path.is_symlink():
            found.append(rel)


def _ignore_rules(here: Path) -> list[str]:
    for name in (".npmignore", ".gitignore"):
        try:
            text = (here / name).read_text(errors="replace")
        except OSError:
            continue
        return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return []


def _excluded_by_default(rel: str, is_dir: bool) -> bool:
    return any(_match(pattern, rel, is_dir) for pattern in _ALWAYS_EXCLUDED)


def _ignored(rel: str, is_dir: bool, rules: list[tuple[str, str]]) -> bool:
    """gitignore semantics: the last matching rule wins, ``!`` re-includes."""
    ignored = False
    for base, rule in rules:
        negated = rule.startswith("!")
        pattern = rule[1:] if negated else rule
        sub = rel[len(base) :] if rel.startswith(base) else None
        if sub and _match(pattern, sub, is_dir):
            ignored = not negated
    return ignored


def _listed(rel: str, is_dir: bool, files: list[object]) -> bool:
    """Does a ``files`` pattern name ``rel``, a folder above it, or (for a folder) something inside it?"""
    parts = rel.split("/")
    for item in files:
        if not isinstance(item, str) or not item.strip():
            continue
        pattern = item.strip().removeprefix("./").strip("/")
        regex = _glob_regex(pattern)
        if any(re.fullmatch(regex, "/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            return True
        if is_dir:
            head = pattern.split("/")
            if "**" in pattern or (len(head) > len(parts) and all(fnmatch.fnmatchcase(p, h) for p, h in zip(parts, head))):
                return True
    return False


def _match(pattern: str, rel: str, is_dir: bool) -> bool:
    """One gitignore pattern against a path relative to the ignore file's folder."""
    dir_only = pattern.endswith("/")
    pattern = pattern.rstrip("/")
    if dir_only and not is_dir:
        return False
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    pattern = pattern.lstrip("/")
    regex = _glob_regex(pattern)
    if anchored:
        return re.fullmatch(regex, rel) is not None
    return any(re.fullmatch(regex, part) for part in rel.split("/")[-1:])


def _glob_regex(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        out.append("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c))
        i += 1
    return "".join(out)
