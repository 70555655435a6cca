# cython: language_level=3
# Release directives (boundscheck, wraparound, initializedcheck off) come from
# setup.py, not from this header: a header directive beats setup.py's, and would
# silently keep them off in the FASTCORE_DEBUG=1 build.
"""The compiled router: registration (cold) and find() (hot).

How this works
--------------
Data structures, per HTTP method:

* ``_statics[method]``: ``{normalised path: _Leaf}`` for routes made only of
  static segments (no ``%2F`` hidden in them). A static hit is one dict probe.
* ``_trees[method]``: a trie with one level per path segment. A ``_Node`` holds
  ``statics`` (dict: decoded segment, lower-cased when case-insensitive ->
  child), ``patterns`` (segments with several params, static text around a
  param, or a regex; one compiled ``re`` per segment), ``param`` (``:name``
  taking the whole segment), ``wildcard`` (a ``_Leaf`` for a trailing ``*``) and
  ``leaf`` (routes ending here). Both structures share the same ``_Leaf``.
* A ``_Leaf`` holds at most one unconstrained ``_Route`` plus the constrained
  ones, so constraints never change the shape of the trie.

A pattern segment compiles to one anchored regex over the decoded segment: a
regex param contributes its regex (``^``/``$`` dropped, the whole value must
match); a plain param ends at the first occurrence of the static text after it
(find-my-way's rule, matched possessively so a failing segment costs linear
time), or takes the rest when it ends the segment.

Invariants: a path is split on ``/`` *before* percent-decoding, so ``%2F`` lands
inside a segment and never splits one. Patterns are normalised exactly as
request paths are (duplicate slashes, trailing slash, case, percent-decoding
of static text), so registration and lookup agree. Param names are not part of
a node's identity: ``/:id`` and ``/:name`` are the same route (a duplicate
unless their constraints differ); each ``_Route`` keeps its own names.

Order of matching in find():
1. Reject paths not starting with ``/``; rewrite duplicate/trailing slashes
   when those options are on; if the path holds ``%``, decode every segment
   first (BadUrlError for a malformed escape or invalid UTF-8, whatever route
   would have matched).
2. No ``%``: probe ``_statics``. A hit whose routes accept the constraints is
   returned; it is also the first leaf the trie walk below would reach, since
   the walk always tries static children first.
3. Otherwise walk the trie depth first. At each segment: the static child,
   then pattern children (most static characters first, then most regex
   params, then a fixed order), then the plain param (non-empty segment only),
   then the wildcard, which takes the rest of the path (possibly empty, with
   its slashes). A dead end (no leaf, or no route accepting the constraints)
   backtracks to the next alternative. So static beats parametric beats
   wildcard per segment, whatever the registration order.
4. Build the params dict; a param longer than ``max_param_length`` (after
   decoding; the wildcard is not limited) raises ParamTooLongError.

Lookup cost depends on the path's segment count and on the alternatives per
node (dict probes and at most a handful of children), never on the number of
routes. Recursion depth is bounded by the longest registered pattern.

Constraints (find-my-way's rules, as its handler storage and built-in
strategies apply them):
* A route matches only if *all* its constraints match (AND).
* ``version``: a route with a version is only matched by requests that send
  one (``Accept-Version``); once any route uses ``version``, a request that
  sends a version never matches a route without one. The request value is an
  exact version or an x-range (``1.2.3``, ``1.2.x``, ``1.x``, ``1``, ``*``,
  ``x``); missing parts count as ``x``; among the route's versions that
  satisfy it, the highest wins. An unparseable value matches no versioned route.
* ``host``: a route with a host only matches requests whose Host equals it
  (case-insensitively; the Host value is compared as given, port included)
  or, for a compiled ``re.Pattern``, whose lower-cased Host it ``search``es.
  Routes without a host match every host. An exact host beats a regex; among
  regexes the first registered wins.
* Among the routes accepting a request, the most constrained wins (most keys in
  ``constraints``); the unconstrained route is the fallback.
* Custom strategies (``App(constraints={name: strategy})``): a route's value
  for one must equal the value the strategy derived from the request; a
  route without that constraint matches any value (unlike ``version``).
* While no route uses a constraint, its request value is ignored entirely.
* A route whose constraints reject the request is a dead end for the walk,
  which backtracks as for any other mismatch.
One deliberate difference: find-my-way settles the version before looking at
the host, so ``{1.1.0, host a}`` hides ``{1.0.0, host b}`` from a ``1.x``
request for host b; here the highest version among the routes whose other
constraints also match wins.
"""
import re

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport PyUnicode_GET_LENGTH, PyUnicode_Split

from fastcore.errors import (
    BadUrlError,
    DuplicatedRouteError,
    InvalidRouteError,
    ParamTooLongError,
)

cdef extern from "Python.h":
    Py_ssize_t PyUnicode_FindChar(object s, Py_UCS4 ch, Py_ssize_t start,
                                  Py_ssize_t end, int direction) except -2
    Py_ssize_t PyUnicode_Find(object s, object sub, Py_ssize_t start,
                              Py_ssize_t end, int direction) except -2

cdef object _collapse_slashes = re.compile(r"/{2,}").sub
cdef object _Pattern_type = re.Pattern
cdef dict _RANGES = {}                 # Accept-Version value -> parsed range
cdef Py_ssize_t _RANGES_MAX = 512
cdef tuple _NO_RANGE = ()

cdef enum:
    # segment kinds, in precedence order
    K_STATIC = 0
    K_PATTERN = 1
    K_PARAM = 2
    K_WILDCARD = 3


# --- percent-decoding ----------------------------------------------------------

cdef inline int _hex(Py_UCS4 c) noexcept:
    if 48 <= c <= 57:
        return <int>c - 48
    if 97 <= c <= 102:
        return <int>c - 87
    if 65 <= c <= 70:
        return <int>c - 55
    return -1


cdef inline Py_ssize_t _put_utf8(unsigned char* buf, Py_ssize_t j, Py_UCS4 ch) noexcept:
    """Write ``ch`` as UTF-8 at ``buf[j]``; returns the next free index."""
    # Shifted as a C integer: Cython takes a Py_UCS4 for a one-character str in
    # arithmetic, where ``>>`` raises.
    cdef unsigned int c = <unsigned int>ch
    if c < 0x80:
        buf[j] = <unsigned char>c
        return j + 1
    if c < 0x800:
        buf[j] = <unsigned char>(0xC0 | (c >> 6))
        buf[j + 1] = <unsigned char>(0x80 | (c & 0x3F))
        return j + 2
    if c < 0x10000:
        buf[j] = <unsigned char>(0xE0 | (c >> 12))
        buf[j + 1] = <unsigned char>(0x80 | ((c >> 6) & 0x3F))
        buf[j + 2] = <unsigned char>(0x80 | (c & 0x3F))
        return j + 3
    buf[j] = <unsigned char>(0xF0 | (c >> 18))
    buf[j + 1] = <unsigned char>(0x80 | ((c >> 12) & 0x3F))
    buf[j + 2] = <unsigned char>(0x80 | ((c >> 6) & 0x3F))
    buf[j + 3] = <unsigned char>(0x80 | (c & 0x3F))
    return j + 4


# HOT PATH: bench/test_bench_router.py ("find: percent-encoded param")
cdef str _unescape(str seg, str path):
    """Percent-decode one segment as UTF-8; BadUrlError names ``path`` as received.

    One pass writes the bytes into a buffer, then one C call decodes them; a
    non-ASCII input character is re-encoded as UTF-8 so it survives as itself
    (a lone surrogate then fails the strict decode, as it should).
    """
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(seg)
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t j = 0
    cdef Py_UCS4 c
    cdef int hi
    cdef int lo
    cdef unsigned char* buf
    if PyUnicode_FindChar(seg, 37, 0, n, 1) < 0:
        return seg
    buf = <unsigned char*>PyMem_Malloc(n * 4 + 1)
    if buf == NULL:
        raise MemoryError()
    try:
        while i < n:
            c = seg[i]
            if c != 37:  # not '%'
                j = _put_utf8(buf, j, c)
                i += 1
                continue
            hi = _hex(seg[i + 1]) if i + 2 < n else -1
            lo = _hex(seg[i + 2]) if i + 2 < n else -1
            if hi < 0 or lo < 0:
                raise BadUrlError("'%s' is not a valid url component" % path)
            buf[j] = <unsigned char>((hi << 4) | lo)
            j += 1
            i += 3
        try:
            return (<char*>buf)[:j].decode("utf-8")
        except UnicodeDecodeError:
            raise BadUrlError("'%s' is not a valid url component" % path) from None
    finally:
        PyMem_Free(buf)


# HOT PATH: bench/test_bench_router.py ("find: percent-encoded param")
cdef list _unescape_all(list raw, str path):
    cdef list out = []
    cdef str seg
    for seg in raw:
        out.append(_unescape(seg, path))
    return out


# --- constraints ---------------------------------------------------------------

cdef tuple _parse_range(str value):
    """``1.2.x`` -> (1, 2, -1); -1 is "any"; () when the value is not a range."""
    cdef list parts = value.strip().split(".")
    cdef list out = []
    cdef bint wild = False
    cdef str part
    if len(parts) > 3:
        return _NO_RANGE
    for part in parts:
        if part == "x" or part == "X" or part == "*":
            wild = True
            out.append(-1)
        elif part.isascii() and part.isdigit() and not wild:
            out.append(int(part))
        else:
            return _NO_RANGE
    while len(out) < 3:
        out.append(-1)
    return tuple(out)


cdef tuple _version_range(object value):
    cdef object rng = _RANGES.get(value)
    if rng is None:
        rng = _parse_range(value) if isinstance(value, str) else _NO_RANGE
        if len(_RANGES) >= _RANGES_MAX:
            _RANGES.clear()
        _RANGES[value] = rng
    return <tuple>rng


cdef inline bint _satisfies(tuple version, tuple rng):
    cdef Py_ssize_t k
    cdef long want
    for k in range(3):
        want = rng[k]
        if want >= 0 and want != <long>version[k]:
            return False
    return True


cdef bint _outranks(_Route a, _Route b):
    """Whether ``a`` beats ``b`` when both accept the request."""
    if a.n_constraints != b.n_constraints:
        return a.n_constraints > b.n_constraints
    if a.version is not None and b.version is not None and a.version != b.version:
        return a.version > b.version
    if a.host is not None and b.host is not None and a.host_exact != b.host_exact:
        return a.host_exact
    return a.order < b.order


cdef bint _custom_match(tuple wanted, dict derived):
    """Whether every (strategy, value) of a route equals what the request derived."""
    if derived is None:
        return False
    for name, value in wanted:
        if derived.get(name) != value:
            return False
    return True


cdef _Route _select_constrained(_Leaf leaf, object host, object version, dict custom):
    """The best route of ``leaf`` for these constraint values (rules in the header)."""
    cdef _Route route
    cdef _Route best = None
    cdef tuple rng = None
    if version is not None:
        rng = _version_range(version)
    for route in leaf.constrained:
        if route.version is not None:
            if rng is None or not rng or not _satisfies(route.version, rng):
                continue
        elif version is not None:
            continue
        if route.host is not None:
            if host is None:
                continue
            if route.host_exact:
                if route.host != host:
                    continue
            elif route.host.search(host) is None:
                continue
        if route.custom is not None and not _custom_match(route.custom, custom):
            continue
        if best is None or _outranks(route, best):
            best = route
    if best is None and version is None:
        return leaf.plain
    return best


# HOT PATH: bench/test_bench_router.py
cdef inline _Route _select(_Leaf leaf, object host, object version, dict custom):
    if leaf.constrained is None:
        if version is None:
            return leaf.plain
        return None
    return _select_constrained(leaf, host, version, custom)


# --- the trie walk ---------------------------------------------------------------

# HOT PATH: bench/test_bench_router.py
cdef _Route _walk(_Node node, list raw, list dec, list keys, Py_ssize_t i,
                  Py_ssize_t n, Py_ssize_t pos, str npath, list values,
                  object host, object version, dict custom, bint empty_wildcard):
    """Depth-first match of segments ``i..n-1`` below ``node``.

    ``pos`` is where segment ``i`` starts in ``npath`` (for the wildcard's
    rest). ``values`` collects param values; alternatives that fail pop theirs.
    Kept as one function: splitting it would add a call per segment. Lines
    left yellow by ``cython -a`` are single C-API calls on dicts and lists
    (reference counting), and the ``re`` calls of pattern segments, which are
    the slow path by design.
    """
    cdef _Route found
    cdef _Node child
    cdef _Pattern pat
    cdef str seg
    cdef object m
    cdef object group
    cdef Py_ssize_t mark
    cdef Py_ssize_t next_pos
    if i == n:
        if node.leaf is not None:
            found = _select(node.leaf, host, version, custom)
            if found is not None:
                return found
        if empty_wildcard and node.wildcard is not None:
            found = _select(node.wildcard, host, version, custom)
            if found is not None:
                values.append("")
                return found
        return None
    seg = <str>dec[i]
    next_pos = pos + PyUnicode_GET_LENGTH(<str>raw[i]) + 1
    if node.statics:
        child = node.statics.get(keys[i])
        if child is not None:
            found = _walk(child, raw, dec, keys, i + 1, n, next_pos, npath, values,
                          host, version, custom, empty_wildcard)
            if found is not None:
                return found
    if node.patterns is not None:
        mark = len(values)
        for pat in node.patterns:
            m = pat.fullmatch(seg)
            if m is None:
                continue
            group = m.group
            for g in pat.groups:
                values.append(group(g))
            found = _walk(pat.child, raw, dec, keys, i + 1, n, next_pos, npath, values,
                          host, version, custom, empty_wildcard)
            if found is not None:
                return found
            del values[mark:]
    if node.param is not None and PyUnicode_GET_LENGTH(seg) != 0:
        values.append(seg)
        found = _walk(node.param, raw, dec, keys, i + 1, n, next_pos, npath, values,
                      host, version, custom, empty_wildcard)
        if found is not None:
            return found
        values.pop()
    if node.wildcard is not None:
        found = _select(node.wildcard, host, version, custom)
        if found is not None:
            if dec is raw:
                values.append(npath[pos:])
            else:
                values.append(_unescape(npath[pos:], npath))
            return found
    return None


# --- pattern parsing (registration only) --------------------------------------

cdef inline bint _is_name_char(Py_UCS4 c):
    return c == 95 or (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122)


cdef Py_ssize_t _closing_paren(str pattern, Py_ssize_t start):
    """Index of the ')' closing the '(' at ``start``, or -1 (escapes and [...] skipped)."""
    cdef Py_ssize_t n = len(pattern)
    cdef Py_ssize_t k = start
    cdef Py_ssize_t depth = 0
    cdef bint in_class = False
    cdef Py_UCS4 c
    while k < n:
        c = pattern[k]
        if c == u"\\":
            k += 2
            continue
        if in_class:
            if c == u"]":
                in_class = False
        elif c == u"[":
            in_class = True
        elif c == u"(":
            depth += 1
        elif c == u")":
            depth -= 1
            if depth == 0:
                return k
        k += 1
    return -1


cdef list _tokenize(str pattern):
    """Split a pattern into ``(raw text, tokens)`` per segment.

    A token is ``("lit", text)``, ``("param", name, regex or None)`` or
    ``("wild",)``. ``::`` is a literal colon.
    """
    cdef list segments = []
    cdef list tokens = []
    cdef list lit = []
    cdef Py_ssize_t n = len(pattern)
    cdef Py_ssize_t i = 1
    cdef Py_ssize_t start = 1
    cdef Py_UCS4 c
    while i < n:
        c = pattern[i]
        if c == u"/":
            _flush_literal(tokens, lit)
            segments.append((pattern[start:i], tokens))
            tokens = []
            start = i + 1
            i += 1
        elif c == u":" and i + 1 < n and pattern[i + 1] == u":":
            lit.append(u":")
            i += 2
        elif c == u":":
            _flush_literal(tokens, lit)
            i = _param_token(pattern, i, tokens)
        elif c == u"*":
            _flush_literal(tokens, lit)
            tokens.append(("wild",))
            i += 1
        else:
            lit.append(c)
            i += 1
    _flush_literal(tokens, lit)
    segments.append((pattern[start:], tokens))
    return segments


cdef Py_ssize_t _param_token(str pattern, Py_ssize_t i, list tokens) except -1:
    """Parse ``:name`` or ``:name(regex)`` at ``i``; returns the index after it."""
    cdef Py_ssize_t n = len(pattern)
    cdef Py_ssize_t j = i + 1
    cdef Py_ssize_t k
    while j < n and _is_name_char(pattern[j]):
        j += 1
    if j == i + 1:
        raise InvalidRouteError("Invalid route '%s': a parameter has no name" % pattern)
    if j < n and pattern[j] == u"(":
        k = _closing_paren(pattern, j)
        if k < 0:
            raise InvalidRouteError("Invalid route '%s': unclosed regex" % pattern)
        tokens.append(("param", pattern[i + 1:j], pattern[j + 1:k]))
        return k + 1
    tokens.append(("param", pattern[i + 1:j], None))
    return j


cdef void _flush_literal(list tokens, list lit) except *:
    if lit:
        tokens.append(("lit", "".join(lit)))
        del lit[:]


cdef str _strip_anchors(str regex):
    if regex.startswith("^"):
        regex = regex[1:]
    if regex.endswith("$") and not regex.endswith("\\$"):
        regex = regex[:len(regex) - 1]
    return regex


cdef str _static_text(str pattern, str text):
    try:
        return _unescape(text, pattern)
    except BadUrlError:
        raise InvalidRouteError("Invalid route '%s': bad percent-escape" % pattern) from None


cdef str _literal_regex(str text, bint case_sensitive):
    return re.escape(text) if case_sensitive else "(?i:%s)" % re.escape(text)


cdef str _plain_param_regex(list tokens, Py_ssize_t k, bint case_sensitive, str pattern):
    """A plain param ends where the next static text starts, as in find-my-way.

    Last in its segment it takes the rest; otherwise it takes the characters up
    to the first occurrence of the following text, possessively, so a failing
    segment costs linear time (no backtracking over split points).
    """
    if k + 1 == len(tokens):
        return r"([\s\S]+)"
    if tokens[k + 1][0] != "lit":
        raise InvalidRouteError(
            "Invalid route '%s': a parameter without a regex must be followed by "
            "static text or end its segment" % pattern)
    stop = _literal_regex(_static_text(pattern, tokens[k + 1][1]), case_sensitive)
    return r"((?:(?!%s)[\s\S])++)" % stop


cdef tuple _compile_pattern(str pattern, list tokens, bint case_sensitive, list names):
    """A pattern segment -> (signature, compiled regex, group indexes, sort key)."""
    cdef list parts = []
    cdef list sig = []
    cdef list groups = []
    cdef Py_ssize_t group = 0
    cdef Py_ssize_t literal = 0
    cdef Py_ssize_t n_regex = 0
    cdef Py_ssize_t k
    for k, tok in enumerate(tokens):
        if tok[0] == "wild":
            raise InvalidRouteError(
                "Invalid route '%s': '*' must be a whole, last segment" % pattern)
        if tok[0] == "lit":
            text = _static_text(pattern, tok[1])
            parts.append(_literal_regex(text, case_sensitive))
            sig.append(("l", text if case_sensitive else text.lower()))
            literal += len(text)
            continue
        names.append(tok[1])
        group += 1
        groups.append(group)
        if tok[2] is None:
            parts.append(_plain_param_regex(tokens, k, case_sensitive, pattern))
            sig.append(("p", None))
            continue
        source = _strip_anchors(tok[2])
        group += _count_groups(pattern, source)
        parts.append("(%s)" % source)
        sig.append(("p", source))
        n_regex += 1
    try:
        compiled = re.compile("".join(parts))
    except re.error as exc:
        raise InvalidRouteError("Invalid route '%s': bad regex (%s)" % (pattern, exc)) from None
    signature = tuple(sig)
    return signature, compiled, tuple(groups), (-literal, -n_regex, repr(signature))


cdef Py_ssize_t _count_groups(str pattern, str source) except -1:
    try:
        return re.compile(source).groups
    except re.error as exc:
        raise InvalidRouteError("Invalid route '%s': bad regex (%s)" % (pattern, exc)) from None


# --- the router ------------------------------------------------------------------

cdef class _Route:
    def __repr__(self):
        return "<Route %s %s>" % (self.method, self.pattern)


cdef class _Leaf:
    pass


cdef class _Pattern:
    pass


cdef class _Node:
    def __cinit__(self):
        self.statics = {}


cdef class Router:
    def __init__(self, *, bint case_sensitive=True, bint ignore_trailing_slash=False,
                 bint ignore_duplicate_slashes=False, Py_ssize_t max_param_length=100,
                 custom_constraints=()):
        if max_param_length < 1:
            raise ValueError("max_param_length must be at least 1")
        self.case_sensitive = case_sensitive
        self.ignore_trailing_slash = ignore_trailing_slash
        self.ignore_duplicate_slashes = ignore_duplicate_slashes
        self.max_param_length = max_param_length
        self.has_version_constraints = False
        self.has_host_constraints = False
        self.custom_constraints = frozenset(custom_constraints)
        if self.custom_constraints & {"version", "host"}:
            raise ValueError("version and host are built-in constraints")
        self.custom_used = ()
        self.has_custom_constraints = False
        self._normalise = ignore_trailing_slash or ignore_duplicate_slashes
        self._trees = {}
        self._statics = {}
        self._routes = []
        self._keys = {}

    # -- lookup (hot) ----------------------------------------------------------

    # HOT PATH: bench/test_bench_router.py
    # The signature line stays yellow in ``cython -a``: it is the argument
    # parsing of the Python-level wrapper, which C callers (the protocol) skip.
    cpdef tuple find(self, str method, str path, object host=None, object version=None,
                     dict custom=None):
        """``(store, params)`` of the route matching ``path``, or None (see the .pyi)."""
        cdef Py_ssize_t n = PyUnicode_GET_LENGTH(path)
        cdef str npath = path
        cdef bint escaped
        cdef dict table
        cdef _Leaf leaf
        cdef _Route route
        cdef _Node root
        cdef list raw
        cdef list dec
        cdef list keys
        cdef list values
        if n == 0 or path[0] != u"/":
            return None
        if not self.has_version_constraints:
            version = None
        if not self.has_custom_constraints:
            custom = None
        if not self.has_host_constraints:
            host = None
        elif host is not None:
            host = host.lower()
        if self._normalise:
            npath = self._normalise_path(path)
        escaped = PyUnicode_FindChar(npath, 37, 0, PyUnicode_GET_LENGTH(npath), 1) >= 0
        if not escaped:
            table = self._statics.get(method)
            if table is not None:
                leaf = table.get(npath if self.case_sensitive else npath.lower())
                if leaf is not None:
                    route = _select(leaf, host, version, custom)
                    if route is not None:
                        return (route.store, {})
        raw = PyUnicode_Split(npath, "/", -1)
        dec = _unescape_all(raw, path) if escaped else raw
        root = self._trees.get(method)
        if root is None:
            return None
        if self.case_sensitive:
            keys = dec
        else:
            keys = [(<str>seg).lower() for seg in dec]
        values = []
        route = _walk(root, raw, dec, keys, 1, len(raw), 1, npath, values, host, version,
                      custom, self.ignore_trailing_slash)
        if route is None:
            return None
        return (route.store, self._build_params(route, values))

    cdef str _normalise_path(self, str path):
        cdef Py_ssize_t n
        if self.ignore_duplicate_slashes and PyUnicode_Find(
                path, "//", 0, PyUnicode_GET_LENGTH(path), 1) >= 0:
            path = _collapse_slashes("/", path)
        n = PyUnicode_GET_LENGTH(path)
        if self.ignore_trailing_slash and n > 1 and path[n - 1] == u"/":
            path = path[:n - 1]
        return path

    # HOT PATH: bench/test_bench_router.py
    cdef dict _build_params(self, _Route route, list values):
        cdef dict params = {}
        cdef Py_ssize_t k
        cdef Py_ssize_t limit = route.n_names - 1 if route.ends_in_wildcard else route.n_names
        cdef str value
        for k in range(route.n_names):
            value = <str>values[k]
            if k < limit and PyUnicode_GET_LENGTH(value) > self.max_param_length:
                raise ParamTooLongError(
                    "Parameter '%s' is longer than %d characters"
                    % (route.names[k], self.max_param_length))
            params[route.names[k]] = value
        return params

    # -- registration (cold) ------------------------------------------------------

    def on(self, str method, str pattern, object store, dict constraints=None):
        """Register ``pattern`` for ``method``; see the .pyi for the rules."""
        cdef list specs
        cdef tuple names
        cdef _Route route
        if not method:
            raise InvalidRouteError("Invalid route '%s': empty method" % pattern)
        specs, names = self._parse(pattern)
        ckey, n_constraints, version, host, custom = _normalise_constraints(
            pattern, constraints, self.custom_constraints)
        key = (method, tuple([spec[1] for spec in specs]), ckey)
        if key in self._keys:
            raise DuplicatedRouteError(
                "Method '%s' already declared for route '%s' with constraints %r"
                % (method, pattern, dict(constraints or {})))
        route = _Route()
        route.method = method
        route.pattern = pattern
        route.store = store
        route.constraints = dict(constraints or {})
        route.names = names
        route.n_names = len(names)
        route.ends_in_wildcard = specs[len(specs) - 1][0] == K_WILDCARD
        route.n_constraints = n_constraints
        route.version = version
        route.host = host
        route.host_exact = isinstance(host, str)
        route.custom = custom
        route.order = len(self._routes)
        route.label = tuple([(spec[0], spec[3]) for spec in specs])
        self._insert(method, specs, route)
        self._keys[key] = route
        self._routes.append(route)
        if version is not None:
            self.has_version_constraints = True
        if host is not None:
            self.has_host_constraints = True
        if custom is not None:
            self.custom_used = tuple(sorted(set(self.custom_used) | {n for n, _ in custom}))
            self.has_custom_constraints = True

    def _parse(self, str pattern):
        """Pattern -> ([(kind, signature, data, label)], param names)."""
        cdef list names = []
        cdef list specs = []
        if pattern == "*":
            pattern = "/*"
        if not pattern or pattern[0] != "/":
            raise InvalidRouteError("Invalid route '%s': it must start with '/'" % pattern)
        segments = _tokenize(pattern)
        if self.ignore_duplicate_slashes:
            last = len(segments) - 1
            segments = [seg for idx, seg in enumerate(segments) if seg[1] or idx == last]
        if self.ignore_trailing_slash and len(segments) > 1 and not segments[len(segments) - 1][1]:
            segments.pop()
        for idx, (text, tokens) in enumerate(segments):
            specs.append(self._segment_spec(pattern, text, tokens,
                                            idx == len(segments) - 1, names))
        if len(set(names)) != len(names):
            raise InvalidRouteError("Invalid route '%s': a parameter name repeats" % pattern)
        return specs, tuple(names)

    def _segment_spec(self, str pattern, str text, list tokens, bint last, list names):
        if not tokens:
            return (K_STATIC, ("s", ""), "", text)
        if len(tokens) == 1 and tokens[0][0] == "wild":
            if not last:
                raise InvalidRouteError(
                    "Invalid route '%s': '*' must be a whole, last segment" % pattern)
            names.append("*")
            return (K_WILDCARD, ("*",), None, text)
        if len(tokens) == 1 and tokens[0][0] == "lit":
            static = _static_text(pattern, tokens[0][1])
            key = static if self.case_sensitive else static.lower()
            return (K_STATIC, ("s", key), key, text)
        if len(tokens) == 1 and tokens[0][0] == "param" and tokens[0][2] is None:
            names.append(tokens[0][1])
            return (K_PARAM, (":",), None, text)
        compiled = _compile_pattern(pattern, tokens, self.case_sensitive, names)
        return (K_PATTERN, ("c", compiled[0]), compiled, text)

    def _insert(self, str method, list specs, _Route route):
        cdef _Node node = self._trees.get(method)
        cdef _Leaf leaf
        if node is None:
            node = self._trees[method] = _Node()
        for spec in specs:
            if spec[0] == K_WILDCARD:
                break
            node = _child(node, spec)
        if specs[len(specs) - 1][0] == K_WILDCARD:
            if node.wildcard is None:
                node.wildcard = _Leaf()
            leaf = node.wildcard
        else:
            if node.leaf is None:
                node.leaf = _Leaf()
            leaf = node.leaf
        if route.n_constraints == 0:
            leaf.plain = route
        elif leaf.constrained is None:
            leaf.constrained = [route]
        else:
            leaf.constrained.append(route)
        if all(spec[0] == K_STATIC and "/" not in spec[2] for spec in specs):
            path = "/" + "/".join([spec[2] for spec in specs])
            self._statics.setdefault(method, {})[path] = leaf

    # -- introspection (cold) -------------------------------------------------------

    def has_route(self, str method, str pattern, dict constraints=None):
        """Whether ``method`` + ``pattern`` + ``constraints`` is registered."""
        specs, _ = self._parse(pattern)
        ckey = _normalise_constraints(pattern, constraints, self.custom_constraints)[0]
        return (method, tuple([spec[1] for spec in specs]), ckey) in self._keys

    def routes(self):
        """``[(method, pattern, constraints, store)]`` in registration order."""
        cdef _Route r
        return [(r.method, r.pattern, dict(r.constraints), r.store) for r in self._routes]

    def print_routes(self):
        """An indented tree of the routes, one line per segment, methods per node."""
        cdef _Route r
        tree = {}
        for r in self._routes:
            children = tree
            entry = None
            for kind, text in r.label:
                entry = children.setdefault((kind, text), ([], {}))
                children = entry[1]
            entry[0].append(r.method + _describe_constraints(r.constraints))
        lines = []
        _render(tree, "", lines)
        return "\n".join(lines)


cdef _Node _child(_Node node, tuple spec):
    """The child of ``node`` for one segment spec, created when missing."""
    cdef _Node child
    cdef _Pattern pat
    if spec[0] == K_STATIC:
        child = node.statics.get(spec[2])
        if child is None:
            child = node.statics[spec[2]] = _Node()
        return child
    if spec[0] == K_PARAM:
        if node.param is None:
            node.param = _Node()
        return node.param
    signature, compiled, groups, sort_key = spec[2]
    if node.patterns is None:
        node.patterns = []
    for pat in node.patterns:
        if pat.signature == signature:
            return pat.child
    pat = _Pattern()
    pat.fullmatch = compiled.fullmatch
    pat.groups = groups
    pat.child = _Node()
    pat.sort_key = sort_key
    pat.signature = signature
    node.patterns.append(pat)
    node.patterns.sort(key=_pattern_sort_key)
    return pat.child


def _pattern_sort_key(_Pattern pat):
    return pat.sort_key


def _normalise_constraints(str pattern, dict constraints, frozenset custom_names):
    """-> (duplicate key, count, version tuple or None, host or None,
    ((strategy, value), ...) sorted by strategy, or None)."""
    version = None
    host = None
    custom = []
    for name, value in (constraints or {}).items():
        if name == "version":
            version = _parse_version(pattern, value)
        elif name == "host":
            if isinstance(value, str) and value:
                host = value.lower()
            elif isinstance(value, _Pattern_type):
                host = value
            else:
                raise InvalidRouteError(
                    "Invalid route '%s': host must be a string or a compiled regex" % pattern)
        elif name in custom_names:
            if not isinstance(value, str):
                raise InvalidRouteError("Invalid route '%s': the %s constraint must be a "
                                        "string, got %r" % (pattern, name, value))
            custom.append((name, value))
        else:
            raise InvalidRouteError("Invalid route '%s': unknown constraint %r" % (pattern, name))
    if isinstance(host, str):
        host_key = ("s", host)
    elif host is not None:
        host_key = ("r", host.pattern, host.flags)
    else:
        host_key = None
    custom_key = tuple(sorted(custom)) or None
    count = (version is not None) + (host is not None) + len(custom)
    return (version, host_key, custom_key), count, version, host, custom_key


def _parse_version(str pattern, object value):
    parts = value.split(".") if isinstance(value, str) else []
    if not 1 <= len(parts) <= 3 or not all(p.isascii() and p.isdigit() for p in parts):
        raise InvalidRouteError(
            "Invalid route '%s': version must look like '1.2.3', got %r" % (pattern, value))
    numbers = [int(p) for p in parts] + [0, 0]
    return tuple(numbers[:3])


def _describe_constraints(dict constraints):
    if not constraints:
        return ""
    shown = []
    for name in sorted(constraints):
        value = constraints[name]
        shown.append("%s=%s" % (name, "/%s/" % value.pattern
                                if isinstance(value, _Pattern_type) else value))
    return " [%s]" % ", ".join(shown)


def _render(dict children, str prefix, list lines):
    items = sorted(children.items(), key=lambda item: item[0])
    for idx, ((kind, text), (methods, sub)) in enumerate(items):
        last = idx == len(items) - 1
        line = "%s%s/%s" % (prefix, "└── " if last else "├── ", text)
        if methods:
            line += " (%s)" % ", ".join(methods)
        lines.append(line)
        _render(sub, prefix + ("    " if last else "│   "), lines)
