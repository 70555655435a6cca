"""The suite really runs against an installed wheel when wheels/build.sh says so.

wheels/build.sh runs the whole suite with FASTCORE_EXPECT_INSTALLED=1, from a
folder where the repository's fastcore/ cannot be imported. Then fastcore must
come from the virtual environment's site-packages, its compiled modules must be
the wheel's extension modules, and the package must hold what the wheel
promises (stubs, .pxd, py.typed) and nothing it must not (Cython and C sources).
Elsewhere (a checkout built in place) these tests skip.
"""
from __future__ import annotations

import importlib
import os
import sys
import sysconfig
from pathlib import Path

import pytest

import fastcore

pytestmark = pytest.mark.skipif(os.environ.get("FASTCORE_EXPECT_INSTALLED") != "1",
                                reason="checks an installed wheel (wheels/build.sh sets "
                                       "FASTCORE_EXPECT_INSTALLED=1)")

PACKAGE = Path(fastcore.__file__).resolve().parent


def site_packages() -> set[Path]:
    paths = sysconfig.get_paths()
    return {Path(paths[key]).resolve() for key in ("purelib", "platlib")}


def compiled_names() -> list[str]:
    names = sorted(p.name.split(".")[0] for p in PACKAGE.glob("_*.so"))
    assert names, "no extension module in %s" % PACKAGE
    return names


def test_fastcore_is_imported_from_site_packages():
    assert PACKAGE.parent in site_packages(), fastcore.__file__


def test_no_other_fastcore_package_is_on_the_path():
    others = [entry for entry in sys.path if (Path(entry or ".") / "fastcore" / "__init__.py").exists()
              and Path(entry or ".").resolve() not in site_packages()]
    assert others == []


def test_every_compiled_module_is_an_extension_module_of_the_wheel():
    for name in compiled_names():
        module = importlib.import_module("fastcore." + name)
        path = Path(module.__file__).resolve()
        assert path.parent == PACKAGE and path.suffix == ".so", module.__file__


def test_each_compiled_module_has_its_stub_and_declarations():
    assert (PACKAGE / "py.typed").is_file()
    for name in compiled_names():
        assert (PACKAGE / (name + ".pyi")).is_file(), name
        assert (PACKAGE / (name + ".pxd")).is_file(), name


def test_every_stub_is_of_a_compiled_module():
    # A stub without its extension module: a module left out of the build.
    assert sorted(p.stem for p in PACKAGE.glob("_*.pyi")) == compiled_names()


def test_no_cython_or_c_source_is_installed():
    sources = [p.name for suffix in ("*.pyx", "*.c", "*.html") for p in PACKAGE.rglob(suffix)]
    assert sources == []
