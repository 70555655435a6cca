"""Builds the compiled modules. FASTCORE_DEBUG=1 turns Cython's checks back on."""
import os
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("FASTCORE_DEBUG") == "1"

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "nonecheck": DEBUG,
    "cdivision": not DEBUG,
    "embedsignature": True,
}

# Release builds carry no debug information: Python's own CFLAGS (sysconfig)
# usually hold -g, which would make each module several times its size, so -g0
# comes after it, and the linker drops the symbol table (-s; the exported
# PyInit_* symbols stay, they are in the dynamic table).
compile_args = ["-O0", "-g"] if DEBUG else ["-O2", "-g0"]
link_args = ["-s"] if not DEBUG and sys.platform.startswith("linux") else []

# The core's per-request modules, then the plugins' per-request paths.
MODULES = (
    "_router", "_head", "_reply", "_tally", "_lifecycle", "_http1", "_serialize_plan", "_serialize",
    "_validate", "_ws_frames", "_event_sink",
    "plugins._cors.policy", "plugins._rate_limit.window",
)
extensions = [
    Extension(f"fastcore.{name}", ["fastcore/%s.pyx" % name.replace(".", "/")],
              extra_compile_args=compile_args, extra_link_args=link_args)
    for name in MODULES
]

ext_modules = cythonize(
    extensions,
    compiler_directives=directives,
    annotate=os.environ.get("FASTCORE_ANNOTATE") == "1",
    force=DEBUG,
)
# The sdist must build from source, so it carries each .pyx; a wheel must not
# (pyproject.toml excludes *.pyx and the generated *.c from package data). Each
# .pyx goes in as a dependency of its extension, which the sdist includes and
# the wheel does not.
for ext in ext_modules:
    ext.depends.append(ext.name.replace(".", "/") + ".pyx")

setup(ext_modules=ext_modules)
