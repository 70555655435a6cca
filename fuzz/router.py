"""Fuzz target: the compiled router (fastcore._router.Router.find).

One router is built once from ROUTES; each input is turned into a method and
a path (mostly assembled from segments the routes know, with arbitrary text
mixed in, so that matches happen often), looked up, and the answer compared
with ``reference_find``, a slow segment-by-segment matcher written here from
the documented rules (static beats a whole-segment param beats the wildcard,
per segment, with backtracking; params percent-decoded after splitting on
``/``; ``BadUrlError`` for a bad escape anywhere in an escaped path;
``ParamTooLongError`` for a matched param over ``max_param_length``).

The route table is restricted to shapes whose rules the reference states
simply: static segments, whole-segment ``:name`` params and a final ``*``.
Multi-param segments (``/:from-:to``), regex params, constraints and the
router options (case-insensitivity, trailing/duplicate slashes) are left out:
their matching order between pattern children is an implementation ranking
that a reference would have to copy rather than restate.
"""
import re
import sys

import atheris

with atheris.instrument_imports():
    from fastcore._router import Router
    from fastcore.errors import BadUrlError, ParamTooLongError

MAX_PARAM = 12
ROUTES = {
    "GET": ["/", "/users", "/users/", "/users/me", "/users/:id", "/users/:id/posts",
            "/users/:id/posts/:post", "/files/*", "/a/:x/c", "/a/b/:y", "/a/b/c/*",
            "/caf%C3%A9", "/x/:p/*", "/:any/static"],
    "POST": ["/*", "/users", "/users/:id/posts"],
    "DELETE": ["/users/:id", "/:a/:b"],
}
METHODS = list(ROUTES) + ["PUT", "get", ""]
WORDS = ["", "users", "me", "posts", "files", "a", "b", "c", "x", "static", "café",
         "caf%C3%A9", "%2F", "%", "%zz", "%C3", "%E2%82%AC", "42", "1" * (MAX_PARAM + 1),
         "%31" * (MAX_PARAM + 1), "é", "?q=1", "%25", ":id", "*"]
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


def build_router():
    router = Router(max_param_length=MAX_PARAM)
    for method, patterns in ROUTES.items():
        for pattern in patterns:
            router.on(method, pattern, (method, pattern))
    return router


class Unmatched(Exception):
    """The reference found no route."""


@atheris.instrument_func
def decode(text):
    """Strict percent-decoding of a path piece (UTF-8; ``+`` stays ``+``)."""
    out = bytearray()
    i = 0
    while i < len(text):
        if text[i] == "%":
            if not _ESCAPE.match(text, i):
                raise BadUrlError("bad escape")
            out.append(int(text[i + 1:i + 3], 16))
            i += 3
        else:
            out += text[i].encode("utf-8", "surrogatepass")
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise BadUrlError("not UTF-8") from None


def pattern_segments(pattern):
    return [decode(seg) if not seg.startswith(":") else seg for seg in pattern.split("/")[1:]]


@atheris.instrument_func
def match_route(segs, decoded, raw_rest, i, params):
    """Does the pattern ``segs`` match the path segments from ``i`` on?"""
    if not segs:
        return i == len(decoded)
    head = segs[0]
    if i == len(decoded):
        # Without ignore_trailing_slash a wildcard needs a segment, even an
        # empty one: "/files" does not match "/files/*", "/files/" does.
        return False
    if head == "*":
        params.append(("*", raw_rest(i)))
        return True
    if head.startswith(":"):
        if decoded[i] == "":
            return False
        params.append((head[1:], decoded[i]))
    elif head != decoded[i]:
        return False
    if match_route(segs[1:], decoded, raw_rest, i + 1, params):
        return True
    if head.startswith(":"):
        params.pop()
    return False


def rank(pattern):
    """Precedence key: per segment, static (0) < param (1) < wildcard (2)."""
    return [2 if s == "*" else 1 if s.startswith(":") else 0 for s in pattern.split("/")[1:]]


@atheris.instrument_func
def reference_find(method, path):
    if not path.startswith("/"):
        return None
    raw = path.split("/")[1:]
    escaped = "%" in path
    decoded = [decode(seg) for seg in raw] if escaped else raw

    def raw_rest(i):
        rest = "/".join(raw[i:])
        return decode(rest) if escaped else rest

    # Trying patterns in precedence order is the same as the router's
    # depth-first walk: the first match in lexicographic rank order is the one
    # a per-segment static > param > wildcard search with backtracking reaches.
    for pattern in sorted(ROUTES.get(method, ()), key=rank):
        params = []
        if match_route(pattern_segments(pattern), decoded, raw_rest, 0, params):
            for name, value in params:
                if name != "*" and len(value) > MAX_PARAM:
                    raise ParamTooLongError(name)
            return (method, pattern), dict(params)
    return None


def outcome(call):
    try:
        return call()
    except (BadUrlError, ParamTooLongError) as exc:
        return type(exc)


@atheris.instrument_func
def make_path(fdp):
    parts = []
    for _ in range(fdp.ConsumeIntInRange(0, 6)):
        if fdp.ConsumeBool():
            parts.append(fdp.PickValueInList(WORDS))
        else:
            parts.append(fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 6)))
    path = "/".join(parts)
    return path if fdp.ConsumeIntInRange(0, 15) == 0 else "/" + path


ROUTER = build_router()


@atheris.instrument_func
def TestOneInput(data):
    fdp = atheris.FuzzedDataProvider(data)
    method = fdp.PickValueInList(METHODS)
    path = make_path(fdp)
    got = outcome(lambda: ROUTER.find(method, path))
    want = outcome(lambda: reference_find(method, path))
    if got != want:
        raise AssertionError("find(%r, %r) = %r, reference %r" % (method, path, got, want))


def main():
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
