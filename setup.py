"""Builds the compiled modules. FASTCORE_DEBUG=1 turns Cython's checks back on."""
import os

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

compile_args = ["-O0", "-g"] if DEBUG else ["-O2"]

extensions = [
    Extension(f"fastcore.{name}", [f"fastcore/{name}.pyx"], extra_compile_args=compile_args)
    for name in ("_router", "_reply", "_tally", "_lifecycle", "_http1", "_serialize_plan", "_serialize",
                 "_validate", "_ws_frames", "_event_sink")
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=directives,
        annotate=os.environ.get("FASTCORE_ANNOTATE") == "1",
        force=DEBUG,
    ),
)
