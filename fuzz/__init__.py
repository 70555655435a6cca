"""Coverage-guided fuzzing targets for fastcore (atheris, libFuzzer for Python).

Targets, one module each, run from the repository root:

    python -m fuzz.http1       [libFuzzer args]  # HTTP/1 protocol, bytes in arbitrary splits
    python -m fuzz.router      [libFuzzer args]  # Router.find against a reference matcher
    python -m fuzz.ws_frames   [libFuzzer args]  # WebSocket FrameParser and build_frame
    python -m fuzz.serializer  [libFuzzer args]  # compile_serializer against orjson

Useful libFuzzer arguments: ``-runs=N``, ``-max_total_time=SECONDS``,
``-seed=N``, and corpus directories as positional arguments (the first one
receives new inputs). ``python -m fuzz.seeds`` writes seed corpora under
``.cache/fuzz/<target>/`` (git-ignored). A failure leaves ``crash-<sha1>``
in the working directory; rerun a target with that file as its only argument
to reproduce it.

Atheris instruments Python bytecode only, so the compiled modules give
libFuzzer no coverage signal in an ordinary build. ``fuzz/build_instrumented.sh
[--asan] OUT`` copies the tree to OUT and builds the modules there with clang
and ``-fsanitize=fuzzer-no-link`` (plus AddressSanitizer with ``--asan``); it
prints the command that runs a target against that copy (atheris'
``asan_with_fuzzer.so`` preloaded).

Atheris comes with the test extras (``pip install -e ".[test]"``), not with fastcore.
"""
