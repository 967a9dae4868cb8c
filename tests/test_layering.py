"""core/ is the engine, grouped by the stages of an install; a module's folder says what it may import.

The rules are read from the source (every ``import``, including the lazy ones
inside functions and under ``TYPE_CHECKING``), so a lazy import that would only
break the layering on some code path is caught too:

- ``core/npm`` holds npm's rules as pure functions: it imports nothing from
  core but other ``npm`` modules and ``errors`` (the exception types every
  layer raises).
- ``core/registry`` and ``core/store`` come before resolution: they never
  import ``resolve``, nor the stages built on it (``tree``, ``linker``).
- ``core/tree`` (what is on disk) never imports ``linker`` (what puts it
  there): node_modules path arithmetic lives in ``tree/paths``.
- ``core/tree`` (the lockfile, selection, bundled packages) is what resolution
  produces and reads: ``resolve`` imports ``tree``, never the other way round.
- nothing in ``core`` imports ``weir.tui``, textual or rich.
"""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import weir.core

CORE = Path(weir.core.__file__).parent


def core_modules() -> dict[str, Path]:
    """Every module of weir.core by dotted name, with its source file."""
    found: dict[str, Path] = {}
    for path in sorted(CORE.rglob("*.py")):
        parts = path.relative_to(CORE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(("weir", "core", *parts))] = path
    return found


def imports_of(name: str, path: Path) -> set[str]:
    """Dotted names a module imports anywhere in its body (relative imports made absolute)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from weir.core.npm import semver` imports the module weir.core.npm.semver
            found.update(f"{base}.{alias.name}" for alias in node.names)
            found.add(base)
    return found


def group_of(dotted: str) -> str | None:
    """The core folder a dotted name lives in ("npm", "resolve", ...), None when outside core/ or at its top."""
    parts = dotted.split(".")
    if parts[:2] != ["weir", "core"] or len(parts) < 3:
        return None
    return parts[2] if (CORE / parts[2]).is_dir() else None


def core_imports(group: str) -> list[tuple[str, str]]:
    """(module, imported weir.core module) for every module of `group`, lazy imports included.

    `from weir.core.errors import InputError` counts as importing the module
    weir.core.errors: a name is cut back to the longest prefix that is a module.
    """
    modules = core_modules()

    def owner(target: str) -> str:
        while target not in modules and "." in target:
            target = target.rpartition(".")[0]
        return target

    return sorted(
        {
            (name, owner(target))
            for name, path in modules.items()
            if group_of(name) == group
            for target in imports_of(name, path)
            if target.startswith("weir.core")
        }
    )


def test_every_stage_is_a_folder_of_core() -> None:
    groups = {group_of(name) for name in core_modules()} - {None}
    assert groups == {"npm", "registry", "resolve", "tree", "store", "linker"}


def test_npm_rules_import_nothing_else_from_core() -> None:
    allowed = {"weir.core", "weir.core.errors"}
    bad = [f"{m} -> {t}" for m, t in core_imports("npm") if group_of(t) != "npm" and t not in allowed]
    assert bad == []


def test_registry_and_store_never_import_resolution_or_later_stages() -> None:
    later = {"resolve", "tree", "linker"}
    bad = [f"{m} -> {t}" for g in ("registry", "store") for m, t in core_imports(g) if group_of(t) in later]
    assert bad == []


def test_tree_never_imports_the_linker() -> None:
    bad = [f"{m} -> {t}" for m, t in core_imports("tree") if group_of(t) == "linker"]
    assert bad == []


def test_tree_never_imports_resolution() -> None:
    bad = [f"{m} -> {t}" for m, t in core_imports("tree") if group_of(t) == "resolve"]
    assert bad == []


def test_no_core_module_names_textual_rich_or_tui_even_lazily() -> None:
    bad = sorted(
        f"{name} -> {target}"
        for name, path in core_modules().items()
        for target in imports_of(name, path)
        if target.split(".")[0] in ("textual", "rich") or target.startswith("weir.tui")
    )
    assert bad == []


def test_checker_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    source = tmp_path / "probe.py"
    source.write_text("def f():\n    from ..resolve import resolver\n    import textual.app\n", encoding="utf-8")
    found = imports_of("weir.core.store.probe", source)
    assert "weir.core.resolve.resolver" in found and "textual.app" in found


def test_core_never_imports_textual_rich_or_tui() -> None:
    modules = sorted(m.name for m in pkgutil.walk_packages(weir.core.__path__, "weir.core."))
    assert len(modules) >= 5
    probe = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich') or m.startswith('weir.tui'))\n"
        "print(' '.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"weir.core imported: {out.stdout.strip()}"
