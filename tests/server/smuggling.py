"""Request-smuggling byte streams, as data, for ``test_smuggling``.

Each ``Stream`` is one or two requests sent whole on one connection, with
what fastcore must do with it: how many requests it answers (``answered``)
and whether a framing refusal (the transport-level 400, then a close)
follows them (``refused``). The rule each expectation rests on is named in
``rule`` and cited from RFC 9112 (message syntax) or RFC 9110 (semantics).

Requests go to the workload app (``bench.app``): ``GET /json`` and
``POST /order``. A stream that smuggles a request hides
``GET /json?smuggled=1`` after the first one, so a server that splits the
stream the wrong way answers one request more than a strict parser does.
"""
from __future__ import annotations

from dataclasses import dataclass

CRLF = b"\r\n"
ORDER = b'{"symbol":"BTC-USD","side":"buy","qty":1,"price":2}'
SMUGGLED = b"GET /json?smuggled=1 HTTP/1.1\r\nHost: t\r\n\r\n"
FOLLOW = b"GET /json HTTP/1.1\r\nHost: t\r\n\r\n"


@dataclass(frozen=True)
class Stream:
    name: str
    family: str
    raw: bytes
    rule: str               # why fastcore must do what the two fields below say
    answered: int = 0       # requests answered before any refusal
    refused: bool = True    # a 400 "Client Error" and a close follow the answers


def post(fields: bytes, body: bytes, version: bytes = b"1.1") -> bytes:
    """``POST /order`` with the given field lines (each ending in CRLF) and body."""
    return (b"POST /order HTTP/" + version + CRLF + b"Host: t\r\nContent-Type: application/json\r\n"
            + fields + CRLF + body)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n" % len(data) + data + CRLF


def chunked(data: bytes) -> bytes:
    """``data`` as one chunk and the last chunk, with no trailer."""
    return chunk(data) + b"0\r\n\r\n"


def cl(n: int) -> bytes:
    return b"Content-Length: %d\r\n" % n


TE = b"Transfer-Encoding: chunked\r\n"

# Body that a TE reader ends after "0\r\n\r\n" and a CL reader reads whole:
# what follows the last chunk is a request only for the TE reader.
CLTE_BODY = b"0\r\n\r\n" + SMUGGLED
# Body that a CL reader ends after the size line and a TE reader reads whole:
# the chunk data is a request only for the CL reader.
TECL_BODY = chunked(SMUGGLED)
TECL_CL = len(b"%x\r\n" % len(SMUGGLED))

_BOTH = ("RFC 9112 §6.3 (3): Transfer-Encoding with Content-Length 'ought to be handled as "
         "an error'; a server MAY reject it, and MUST close the connection either way. "
         "fastcore rejects.")
_NOT_FINAL = ("RFC 9112 §6.3 (4): Transfer-Encoding whose final coding is not chunked: the "
              "server MUST answer 400 and close.")
_BAD_CL = ("RFC 9112 §6.3 (5): an invalid Content-Length (RFC 9110 §8.6: 1*DIGIT) without "
           "Transfer-Encoding is an unrecoverable framing error: 400 and close.")
_CHUNK_SYNTAX = ("RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF, "
                 "chunk-size = 1*HEXDIG; a chunked body that breaks it cannot be framed "
                 "(§6.3 (4) leaves no other length): 400 and close.")
_BARE_CR = ("RFC 9112 §2.2: a bare CR MUST be treated as invalid (or replaced by SP; "
            "fastcore refuses).")
_CTL = ("RFC 9110 §5.5: CR, LF and NUL in a field value MUST be rejected or replaced by SP, "
        "and other controls are outside field-vchar; fastcore refuses.")


def _cl_te() -> list[Stream]:
    return [
        Stream("cl-te/cl-first", "CL.TE", post(cl(len(CLTE_BODY)) + TE, CLTE_BODY), _BOTH),
        Stream("cl-te/te-first", "CL.TE", post(TE + cl(len(CLTE_BODY)), CLTE_BODY), _BOTH),
        Stream("cl-te/cl-zero", "CL.TE", post(cl(0) + TE, chunked(ORDER)), _BOTH),
        Stream("te-cl/cl-first", "TE.CL", post(cl(TECL_CL) + TE, TECL_BODY), _BOTH),
        Stream("te-cl/te-first", "TE.CL", post(TE + cl(TECL_CL), TECL_BODY), _BOTH),
    ]


# TE.TE: both ends know chunked, one is led to ignore an obfuscated header.
# Each obfuscation is sent alone (the body chunked) and beside a
# Content-Length (the classic TE.TE setup: whoever ignores TE falls back to CL).
_TE_OBFUSCATIONS: list[tuple[str, bytes, str]] = [
    ("xchunked", b"Transfer-Encoding: xchunked\r\n", _NOT_FINAL),
    ("chunked-identity", b"Transfer-Encoding: chunked, identity\r\n", _NOT_FINAL),
    ("identity-chunked", b"Transfer-Encoding: identity, chunked\r\n",
     "RFC 9112 §6.1: 'identity' is no transfer coding (removed, RFC 9112 §7); a coding "
     "the server does not understand SHOULD get 501. Expected: refused with the 400 and "
     "a close, as for every other Transfer-Encoding fastcore cannot frame."),
    ("gzip-chunked", b"Transfer-Encoding: gzip, chunked\r\n",
     "RFC 9112 §6.1: a coding the server does not understand SHOULD get 501; fastcore "
     "decodes no transfer coding but chunked, so it must not pass the gzip bytes on as "
     "the body. Expected: refused with the 400 and a close."),
    ("chunked-chunked", b"Transfer-Encoding: chunked, chunked\r\n",
     "RFC 9112 §6.1: a sender MUST NOT apply chunked more than once; the body cannot "
     "be framed the way the header says."),
    ("duplicate-header", TE + TE,
     "RFC 9110 §5.3: two Transfer-Encoding lines combine into 'chunked, chunked'; RFC 9112 "
     "§6.1 forbids chunked twice."),
    ("duplicate-header-then-x", TE + b"Transfer-Encoding: x\r\n", _NOT_FINAL),
    ("space-before-colon", b"Transfer-Encoding : chunked\r\n",
     "RFC 9112 §5.1: whitespace between field name and colon: the server MUST answer 400."),
    ("tab-before-colon", b"Transfer-Encoding\t: chunked\r\n",
     "RFC 9112 §5.1: whitespace between field name and colon: the server MUST answer 400."),
    ("obs-fold-value", b"Transfer-Encoding:\r\n chunked\r\n",
     "RFC 9112 §5.2: obs-fold MUST be rejected or replaced by SP; fastcore rejects."),
    ("obs-fold-hidden", b"X-A: a\r\n Transfer-Encoding: chunked\r\n",
     "RFC 9112 §5.2: obs-fold MUST be rejected or replaced by SP; fastcore rejects."),
    ("space-before-name", b" Transfer-Encoding: chunked\r\n",
     "RFC 9112 §2.2: whitespace between the start-line and the first field: reject, or "
     "consume the line without processing; fastcore rejects."),
    ("vertical-tab", b"Transfer-Encoding: \x0bchunked\r\n", _CTL),
    ("vertical-tab-after", b"Transfer-Encoding: chunked\x0b\r\n", _CTL),
    ("nul", b"Transfer-Encoding: chunked\x00\r\n", _CTL),
    ("nul-in-name", b"Transfer-Encoding\x00: chunked\r\n",
     "RFC 9110 §5.1: field-name = token; NUL is no tchar."),
    ("name-with-space", b"Transfer Encoding: chunked\r\n",
     "RFC 9110 §5.1: field-name = token; SP is no tchar, so the line is no field."),
    ("underscore-name", b"Transfer_Encoding: chunked\r\n",
     "fastcore's own rule (docs/http-conformance.md): '_' read as '-' by a gateway makes "
     "it a framing header."),
]

# Obfuscations that are valid: OWS around the value is not part of it (RFC 9110
# §5.5) and transfer-coding names are case-insensitive (RFC 9112 §7), so alone
# they mean chunked, and beside Content-Length they are CL.TE.
_TE_VALID_SPELLINGS: list[tuple[str, bytes]] = [
    ("leading-spaces", b"Transfer-Encoding:   chunked\r\n"),
    ("leading-tab", b"Transfer-Encoding:\tchunked\r\n"),
    ("trailing-space", b"Transfer-Encoding: chunked \r\n"),
    ("uppercase", b"Transfer-Encoding: CHUNKED\r\n"),
    ("mixed-case-name", b"tRANSFER-eNCODING: cHuNkEd\r\n"),
]


def _te_te() -> list[Stream]:
    streams = []
    for name, field, rule in _TE_OBFUSCATIONS:
        streams.append(Stream("te-te/%s" % name, "TE.TE", post(field, chunked(ORDER)), rule))
        streams.append(Stream("te-te/%s+cl" % name, "TE.TE",
                              post(field + cl(len(CLTE_BODY)), CLTE_BODY),
                              rule + " Beside Content-Length: " + _BOTH))
    for name, field in _TE_VALID_SPELLINGS:
        streams.append(Stream(
            "te-te/%s" % name, "TE.TE", post(field, chunked(ORDER)) + FOLLOW,
            "RFC 9110 §5.5 (OWS is not part of the value), RFC 9112 §7 (coding names are "
            "case-insensitive): a valid chunked request, then a second request.",
            answered=2, refused=False))
        streams.append(Stream("te-te/%s+cl" % name, "TE.TE",
                              post(field + cl(len(CLTE_BODY)), CLTE_BODY), _BOTH))
    return streams


def _content_length() -> list[Stream]:
    n = len(ORDER)
    bad = [
        ("list-differing", b"Content-Length: %d, %d\r\n" % (n, n + 1)),
        ("two-differing", cl(n) + cl(n + 1)),
        ("two-differing-reversed", cl(n + 1) + cl(n)),
        ("plus-sign", b"Content-Length: +%d\r\n" % n),
        ("hex", b"Content-Length: 0x%x\r\n" % n),
        ("negative", b"Content-Length: -%d\r\n" % n),
        ("overflow", b"Content-Length: 184467440737095516160\r\n"),
        ("inner-space", b"Content-Length: %d %d\r\n" % (n // 10, n % 10)),
        ("empty", b"Content-Length: \r\n"),
        ("letters", b"Content-Length: %da\r\n" % n),
        ("space-before-colon", b"Content-Length : %d\r\n" % n),
        ("name-with-space", b"Content Length: %d\r\n" % n),
        ("underscore-name", cl(n) + b"Content_Length: %d\r\n" % n),
        ("vertical-tab", b"Content-Length: \x0b%d\r\n" % n),
        ("nul", b"Content-Length: %d\x00\r\n" % n),
    ]
    streams = [Stream("cl/%s" % name, "CL", post(field, ORDER) + FOLLOW, _BAD_CL)
               for name, field in bad]
    # RFC 9110 §8.6: a recipient MAY take a list of identical values (or repeated
    # identical fields) as one value, or reject it as unrecoverable.
    for name, field in [("list-identical", b"Content-Length: %d, %d\r\n" % (n, n)),
                        ("two-identical", cl(n) + cl(n))]:
        streams.append(Stream("cl/%s" % name, "CL", post(field, ORDER) + FOLLOW,
                              "RFC 9110 §8.6: identical values MAY be accepted as one or "
                              "rejected; fastcore rejects.", answered=0, refused=True))
    # OWS around the value is not part of it (RFC 9110 §5.5): this is 52.
    streams.append(Stream("cl/padded", "CL", post(b"Content-Length:  %d \r\n" % n, ORDER)
                          + FOLLOW, "RFC 9110 §5.5: OWS around a field value is not part "
                          "of it; a valid request, then a second.", answered=2, refused=False))
    return streams


def _chunk_sizes() -> list[Stream]:
    n = len(ORDER)
    bodies = [
        ("hex-prefix", b"0x%x\r\n" % n + ORDER + b"\r\n0\r\n\r\n"),
        ("negative", b"-%x\r\n" % n + ORDER + b"\r\n0\r\n\r\n"),
        ("overflow", b"ffffffffffffffff1\r\n" + ORDER + b"\r\n0\r\n\r\n"),
        ("overflow-wraps-to-size", b"1%016x\r\n" % n + ORDER + b"\r\n0\r\n\r\n"),
        ("space-after-size", b"%x \r\n" % n + ORDER + b"\r\n0\r\n\r\n"),
        ("space-before-size", b" %x\r\n" % n + ORDER + b"\r\n0\r\n\r\n"),
        ("empty-size", b"\r\n" + ORDER + b"\r\n0\r\n\r\n"),
        ("ext-nul", b"%x;a\x00b\r\n" % n + ORDER + b"\r\n0\r\n\r\n"),
        ("ext-control", b"%x;a\x01=b\r\n" % n + ORDER + b"\r\n0\r\n\r\n"),
        ("ext-bare-lf", b"%x;a\nb\r\n" % n + ORDER + b"\r\n0\r\n\r\n"),
        ("ext-bare-cr", b"%x;a\rb\r\n" % n + ORDER + b"\r\n0\r\n\r\n"),
        ("ext-unterminated-quote", b"%x;a=\"b\r\n" % n + ORDER + b"\r\n0\r\n\r\n"),
        ("data-without-crlf", b"%x\r\n" % n + ORDER + b"0\r\n\r\n"),
        ("data-longer-than-size", b"%x\r\n" % (n - 2) + ORDER + b"\r\n0\r\n\r\n"),
        ("lf-after-size", b"%x\n" % n + ORDER + b"\r\n0\r\n\r\n"),
        ("lf-after-data", b"%x\r\n" % n + ORDER + b"\n0\r\n\r\n"),
        ("lf-only", b"%x\n" % n + ORDER + b"\n0\n\n"),
        ("lf-after-last-chunk", b"%x\r\n" % n + ORDER + b"\r\n0\n\r\n"),
        ("bare-cr-after-size", b"%x\r" % n + ORDER + b"\r\n0\r\n\r\n"),
        ("bare-cr-after-data", b"%x\r\n" % n + ORDER + b"\r0\r\n\r\n"),
    ]
    rules = {"ext-nul": _CHUNK_SYNTAX, "ext-control": _CHUNK_SYNTAX, "ext-bare-cr": _BARE_CR,
             "bare-cr-after-size": _BARE_CR, "bare-cr-after-data": _BARE_CR}
    lf = ("RFC 9112 §7.1: chunk lines end in CRLF; the bare-LF tolerance of §2.2 covers the "
          "start-line and fields only, and a bare LF here is the chunk-extension smuggling "
          "vector. fastcore refuses.")
    streams = []
    for name, body in bodies:
        rule = rules.get(name, lf if "lf" in name else _CHUNK_SYNTAX)
        streams.append(Stream("chunk/%s" % name, "chunk-size", post(TE, body) + FOLLOW, rule))
    # A smuggled request where a lax size parser would stop: "0x" read as 0 ends
    # the body at once, making the chunk data a request.
    streams.append(Stream("chunk/hex-prefix-smuggles", "chunk-size",
                          post(TE, b"0x%x\r\n" % len(SMUGGLED) + SMUGGLED + b"\r\n0\r\n\r\n"),
                          _CHUNK_SYNTAX))
    return streams


def _line_endings() -> list[Stream]:
    bare_lf = ("RFC 9112 §2.2: a recipient MAY take a bare LF as a line terminator in the "
               "start-line and fields; fastcore (llhttp strict) does not, and refuses.")
    return [
        Stream("eol/bare-lf-request-line", "line-endings",
               b"GET /json HTTP/1.1\nHost: t\r\n\r\n", bare_lf),
        Stream("eol/bare-lf-field", "line-endings",
               b"GET /json HTTP/1.1\r\nHost: t\nX-A: 1\r\n\r\n", bare_lf),
        Stream("eol/bare-lf-everywhere", "line-endings",
               b"GET /json HTTP/1.1\nHost: t\n\n", bare_lf),
        Stream("eol/bare-lf-end-of-head", "line-endings",
               b"GET /json HTTP/1.1\r\nHost: t\r\n\n" + SMUGGLED, bare_lf),
        Stream("eol/bare-cr-request-line", "line-endings",
               b"GET /json HTTP/1.1\rHost: t\r\n\r\n", _BARE_CR),
        Stream("eol/bare-cr-field", "line-endings",
               b"GET /json HTTP/1.1\r\nHost: t\rX-A: 1\r\n\r\n", _BARE_CR),
        Stream("eol/bare-cr-hides-cl", "line-endings",
               b"GET /json HTTP/1.1\r\nHost: t\rContent-Length: %d\r\n\r\n" % len(SMUGGLED)
               + SMUGGLED, _BARE_CR),
        Stream("eol/cr-cr-lf-field", "line-endings",
               b"GET /json HTTP/1.1\r\nHost: t\r\r\nX-A: 1\r\n\r\n", _BARE_CR),
        Stream("eol/cr-cr-lf-end-of-head", "line-endings",
               b"GET /json HTTP/1.1\r\nHost: t\r\n\r\r\n", _BARE_CR),
        Stream("eol/space-in-name", "line-endings",
               b"GET /json HTTP/1.1\r\nHost: t\r\nX A: 1\r\n\r\n",
               "RFC 9110 §5.1: field-name = token; SP is no tchar."),
        Stream("eol/space-before-colon", "line-endings",
               b"GET /json HTTP/1.1\r\nHost : t\r\n\r\n",
               "RFC 9112 §5.1: whitespace between field name and colon: MUST answer 400."),
    ]


def _http10() -> list[Stream]:
    rule = ("RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding MUST be treated as "
            "having faulty framing, even with Content-Length; fastcore refuses it.")
    return [
        Stream("http10/te-chunked", "HTTP/1.0+TE",
               post(TE, chunked(ORDER), b"1.0"), rule),
        Stream("http10/te-chunked-keep-alive", "HTTP/1.0+TE",
               post(b"Connection: keep-alive\r\n" + TE, CLTE_BODY, b"1.0"), rule),
        Stream("http10/te-and-cl", "HTTP/1.0+TE",
               post(TE + cl(len(CLTE_BODY)), CLTE_BODY, b"1.0"), rule),
    ]


def _get_with_body() -> list[Stream]:
    # RFC 9110 §9.3.1: a GET body has no defined meaning, but RFC 9112 §6.3
    # frames it like any other: the server reads Content-Length bytes, so a
    # request inside them is body, not a second request.
    framed = "RFC 9112 §6.3 (6): Content-Length bytes are the body, whatever the method."
    get = b"GET /json HTTP/1.1\r\nHost: t\r\n"
    return [
        Stream("get-cl/body-is-a-request", "GET+CL",
               get + cl(len(SMUGGLED)) + CRLF + SMUGGLED, framed, answered=1, refused=False),
        Stream("get-cl/zero-then-request", "GET+CL",
               get + cl(0) + CRLF + SMUGGLED, framed + " Two requests.",
               answered=2, refused=False),
        Stream("get-cl/short-then-garbage", "GET+CL",
               get + cl(5) + CRLF + SMUGGLED,
               framed + " The bytes after the body are no request line: 400.",
               answered=1, refused=True),
        Stream("get-cl/chunked-body-is-a-request", "GET+CL",
               get + TE + CRLF + chunked(SMUGGLED),
               "RFC 9112 §6.3 (4): a chunked body, whatever the method.",
               answered=1, refused=False),
        Stream("head-cl/body-is-a-request", "GET+CL",
               b"HEAD /json HTTP/1.1\r\nHost: t\r\n" + cl(len(SMUGGLED)) + CRLF + SMUGGLED,
               framed, answered=1, refused=False),
    ]


def _controls() -> list[Stream]:
    # Well-formed streams: they show the harness counts answers the way a
    # strict parser counts requests.
    rule = "well-formed (RFC 9112 §6.3): every request is answered."
    return [
        Stream("control/content-length", "control", post(cl(len(ORDER)), ORDER) + FOLLOW,
               rule, answered=2, refused=False),
        Stream("control/chunked", "control", post(TE, chunked(ORDER)) + FOLLOW, rule,
               answered=2, refused=False),
        Stream("control/chunked-with-extension", "control",
               post(TE, b"%x;name=\"v a\"\r\n" % len(ORDER) + ORDER + b"\r\n0\r\n\r\n")
               + FOLLOW, rule, answered=2, refused=False),
        Stream("control/pipelined-gets", "control", FOLLOW + FOLLOW, rule,
               answered=2, refused=False),
    ]


def streams() -> list[Stream]:
    """Every stream, controls first; names are unique."""
    every = (_controls() + _cl_te() + _te_te() + _content_length() + _chunk_sizes()
             + _line_endings() + _http10() + _get_with_body())
    assert len({s.name for s in every}) == len(every), "duplicate stream names"
    return every
