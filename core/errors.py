"""Every error weir reports to a user, and the exit code each one maps to.

Rules this module holds:

1. Every failure a user can cause or meet (bad input, registry trouble, a
   hostile tarball) is a ``WeirError`` subclass. Anything else escaping the
   engine is a bug and exits with ``EXIT_INTERNAL``.
2. A ``WeirError`` carries the facts a user needs to act: the package, the
   version or range asked for, the dependent path that asked for it, and a
   ``hint`` saying what to do next. ``str(error)`` renders all of them, so a
   reporter never has to know the subclass.
3. Exit codes are stable: they are documented in README.md and tests assert
   them. Add a new code at the end; never renumber.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1  # a bug in weir: please report it
EXIT_USAGE = 2  # unknown command, bad flag
EXIT_INPUT = 3  # malformed package.json / lockfile / .npmrc, invalid name or spec
EXIT_RESOLVE = 4  # E404, ETARGET, ERESOLVE (peer conflict), offline miss
EXIT_NETWORK = 5  # registry unreachable after retries, auth refused, bad answers
EXIT_INTEGRITY = 6  # integrity mismatch, hostile or corrupt tarball
EXIT_LOCK_OUT_OF_SYNC = 7  # `weir ci` with a lockfile that does not match package.json
EXIT_SCRIPT = 8  # a lifecycle script failed
EXIT_FILESYSTEM = 9  # disk full, permission denied, refusing to write through a symlink
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells expect


class WeirError(Exception):
    """A failure the user can act on.

    ``code`` is npm's error code where npm has one (``E404``, ``ETARGET``,
    ``ERESOLVE``, ``EINTEGRITY``...), so people can search for it.
    ``path`` is the dependent path, outermost first, e.g.
    ``("my-app", "express@4.21.2", "body-parser@1.20.3")``.
    """

    exit_code: int = EXIT_INTERNAL
    code: str = "EWEIR"

    def __init__(
        self,
        message: str,
        *,
        package: str | None = None,
        spec: str | None = None,
        path: tuple[str, ...] = (),
        hint: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.package = package
        self.spec = spec
        self.path = tuple(path)
        self.hint = hint
        if code is not None:
            self.code = code

    def __reduce__(self) -> tuple[object, ...]:
        """Survive pickling (errors raised in a worker process keep their facts)."""
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))

    def __str__(self) -> str:
        lines = [f"{self.code}: {self.message}"]
        if self.package is not None:
            wanted = f"{self.package}@{self.spec}" if self.spec is not None else self.package
            lines.append(f"  package: {wanted}")
        if self.path:
            lines.append(f"  required by: {' > '.join(self.path)}")
        if self.hint:
            lines.append(f"  what to do: {self.hint}")
        return "\n".join(lines)


def _rebuild(cls: type[WeirError], message: str, state: dict[str, object]) -> WeirError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class UsageError(WeirError):
    exit_code = EXIT_USAGE
    code = "EUSAGE"


class InputError(WeirError):
    """package.json, package-lock.json, .npmrc, a name or a spec is malformed."""

    exit_code = EXIT_INPUT
    code = "EINPUT"


class ResolveError(WeirError):
    """No acceptable version: E404, ETARGET, ERESOLVE, offline miss."""

    exit_code = EXIT_RESOLVE
    code = "ERESOLVE"


class NetworkError(WeirError):
    """The registry could not be reached, or answered something unusable."""

    exit_code = EXIT_NETWORK
    code = "ENETWORK"


class IntegrityError(WeirError):
    """Bytes that do not match their integrity, or a tarball weir refuses to extract."""

    exit_code = EXIT_INTEGRITY
    code = "EINTEGRITY"


class LockfileOutOfSync(WeirError):
    exit_code = EXIT_LOCK_OUT_OF_SYNC
    code = "EUSAGE"


class ScriptError(WeirError):
    exit_code = EXIT_SCRIPT
    code = "ELIFECYCLE"


class FilesystemError(WeirError):
    exit_code = EXIT_FILESYSTEM
    code = "EFS"


def first_weir_error(exc: BaseException) -> WeirError | None:
    """The first WeirError inside (possibly nested) exception groups from concurrent tasks.

    When several tasks fail at once the user needs one clear message, and the
    first user-facing error is the one that explains the rest (they are
    usually the cancellations it caused).
    """
    if isinstance(exc, WeirError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = first_weir_error(inner)
            if found is not None:
                return found
    return None
