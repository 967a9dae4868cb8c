"""Which folders become which packages; everything else about the build is in pyproject.toml.

The source folders ``core/`` and ``tui/`` are installed as ``weir.core`` and
``weir.tui``. pyproject.toml alone can only list such remapped packages by
hand, and a hand list once forgot ``weir.core.linker``: the editable install
that development and CI used maps whole folders and never noticed, while a
plain ``pip install .`` shipped a weir that crashed on its first install. So
every subpackage is found here, and tests/test_packaging.py checks the built
wheel against the source tree.
"""

from __future__ import annotations

from setuptools import find_packages, setup

PACKAGE_DIRS = {"weir.core": "core", "weir.tui": "tui"}


def packages() -> list[str]:
    """Every package under each mapped folder (a folder with an __init__.py), named under weir."""
    found: list[str] = []
    for name, folder in PACKAGE_DIRS.items():
        found.append(name)
        found.extend(f"{name}.{sub}" for sub in find_packages(folder))
    return found


setup(packages=packages(), package_dir=PACKAGE_DIRS)
