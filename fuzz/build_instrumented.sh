#!/usr/bin/env bash
# Builds a copy of fastcore whose compiled modules (fastcore/*.pyx) carry
# libFuzzer coverage instrumentation, so that the fuzz targets in fuzz/ get a
# coverage signal from the C code and not only from the Python modules.
#
# Usage:
#     fuzz/build_instrumented.sh [--asan] [CHECKOUT] OUT
#
#     CHECKOUT  source tree to build from (default: the repository holding this
#               script); it is not modified
#     OUT       directory that receives a copy of the source tree (without
#               .venv, build outputs, compiled modules and generated C files)
#               and the instrumented modules, built in place
#     --asan    also instrument with AddressSanitizer
#
# Environment: PYTHON (default python3) is the interpreter that builds and runs
# the copy; it needs Cython, setuptools and atheris. CLANG (default clang) is
# the compiler; it must be able to link with -fsanitize=fuzzer-no-link.
#
# The modules are compiled with -fsanitize=fuzzer-no-link (coverage counters,
# comparison tracing, no libFuzzer main) and release directives (setup.py
# without FASTCORE_DEBUG). Because setup.py strips release modules (-s, -g0),
# the compiler is called through a small wrapper that drops those two flags, so
# sanitizer reports name functions and source lines. At run time libFuzzer
# comes from atheris' asan_with_fuzzer.so, which has to be preloaded (also
# without --asan); the script prints the command line.
set -euo pipefail

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit "${1:-0}"
}

ASAN=0
ARGS=()
for arg in "$@"; do
    case "$arg" in
        --asan) ASAN=1 ;;
        -h|--help) usage 0 ;;
        -*) echo "unknown option: $arg" >&2; usage 2 >&2 ;;
        *) ARGS+=("$arg") ;;
    esac
done

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${#ARGS[@]}" in
    1) SRC="$HERE"; OUT="${ARGS[0]}" ;;
    2) SRC="${ARGS[0]}"; OUT="${ARGS[1]}" ;;
    *) usage 2 >&2 ;;
esac
SRC="$(cd "$SRC" && pwd)"
PYTHON="${PYTHON:-python3}"
CLANG="${CLANG:-clang}"
CLANG_PATH="$(command -v "$CLANG")" || { echo "$CLANG not found (apt-get install clang)" >&2; exit 1; }
CLANGXX_PATH="$(command -v "${CLANG/clang/clang++}" || true)"

[ -f "$SRC/setup.py" ] || { echo "$SRC has no setup.py" >&2; exit 1; }
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
[ "$OUT" != "$SRC" ] || { echo "OUT must differ from the checkout" >&2; exit 1; }

ATHERIS_DIR="$("$PYTHON" -c 'import atheris; print(atheris.path())')"
PRELOAD="$ATHERIS_DIR/asan_with_fuzzer.so"
[ -f "$PRELOAD" ] || { echo "atheris has no $PRELOAD; see atheris' native_extension_fuzzing.md" >&2; exit 1; }

# Copy the tree. Generated C files are left behind so that Cython regenerates
# them from the .pyx files of this checkout.
tar -C "$SRC" -cf - \
    --exclude='*.so' --exclude='*.o' --exclude=__pycache__ --exclude='*.egg-info' \
    --anchored \
    --exclude=./.venv --exclude=./venv --exclude=./build --exclude=./dist \
    --exclude=./wheels --exclude=./wheelhouse --exclude=./.git \
    --exclude=./.pytest_cache --exclude=./.hypothesis --exclude=./.instrumented \
    --exclude='./fastcore/_*.c' --exclude='./fastcore/plugins/*.c' \
    . | tar -C "$OUT" -xf -

# Compiler wrapper: the release flags -s and -g0 of setup.py go, the rest is
# passed to clang unchanged.
TOOLS="$OUT/.instrumented"
mkdir -p "$TOOLS"
cat >"$TOOLS/cc" <<EOF
#!/usr/bin/env bash
args=()
for a in "\$@"; do
    case "\$a" in -s|-g0) ;; *) args+=("\$a") ;; esac
done
exec "$CLANG_PATH" "\${args[@]}"
EOF
chmod +x "$TOOLS/cc"

SANITIZE="fuzzer-no-link"
[ "$ASAN" = 0 ] || SANITIZE="address,fuzzer-no-link"
FLAGS="-fsanitize=$SANITIZE -fno-omit-frame-pointer -gline-tables-only"

cd "$OUT"
env -u FASTCORE_DEBUG \
    CC="$TOOLS/cc" CXX="${CLANGXX_PATH:-$TOOLS/cc}" \
    LDSHARED="$TOOLS/cc -shared" \
    CFLAGS="$FLAGS" CXXFLAGS="$FLAGS" LDFLAGS="-fsanitize=$SANITIZE" \
    "$PYTHON" setup.py build_ext --inplace --force

# Each module must call into the coverage runtime, or nothing was instrumented.
missing=0
while IFS= read -r so; do
    imports="$(nm -D --undefined-only "$so")"
    case "$imports" in *__sanitizer_cov_8bit_counters_init*) ;;
        *) echo "not instrumented: $so" >&2; missing=1 ;; esac
    if [ "$ASAN" = 1 ]; then
        case "$imports" in *__asan_report*) ;;
            *) echo "no AddressSanitizer checks: $so" >&2; missing=1 ;; esac
    fi
done < <(find fastcore -name '*.so')
[ "$missing" = 0 ] || exit 1

if [ "$ASAN" = 1 ]; then
    # Python objects come from malloc, not pymalloc's arenas, so that
    # AddressSanitizer sees an access past a bytes object's end.
    RUNENV="LD_PRELOAD=$PRELOAD ASAN_OPTIONS=detect_leaks=0 PYTHONMALLOC=malloc"
else
    RUNENV="LD_PRELOAD=$PRELOAD ASAN_OPTIONS=detect_leaks=0"
fi
cat <<EOF

Instrumented modules built in $OUT (-fsanitize=$SANITIZE). Run a target:

    cd $OUT && $PYTHON -m fuzz.seeds
    cd $OUT && $RUNENV $PYTHON -m fuzz.http1 .cache/fuzz/http1 -max_total_time=60

and likewise fuzz.router, fuzz.ws_frames, fuzz.serializer.
EOF
