"""The request rules fastcore enforces beyond llhttp's strict parser, for corpus replays.

Both corpus tests (llhttp's and gunicorn's) plan what fastcore must answer
from a parsed description of each message; where llhttp accepts a message
but the SPEC refuses it, ``spec_violation`` names the rule. It is written
apart from the server's own checks (standard-library parsing, not the
server's patterns), so a replay compares two statements of the same rules.
"""
from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_REG_NAME = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_FRAMING = ("content-length", "transfer-encoding")
_FORBIDDEN_TRAILERS = ("content-length", "transfer-encoding", "host")


def _host_ok(host: str) -> bool:
    if host.startswith("["):
        if not host.endswith("]"):
            return False
        inner = host[1:-1]
        if inner[:1] in ("v", "V"):
            return re.fullmatch(r"v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+", inner,
                                re.IGNORECASE) is not None
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            return False
        return True
    return _REG_NAME.fullmatch(host) is not None


def _split_host_port(authority: str) -> tuple[str, str | None]:
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            return authority, None
        rest = authority[end + 1:]
        return authority[:end + 1], (rest[1:] if rest.startswith(":") else None if not rest
                                     else "bad")
    host, sep, port = authority.rpartition(":")
    return (host, port) if sep else (authority, None)


def target_violation(method: str, url: str) -> str | None:
    """Why the request-target's form is refused for ``method`` (RFC 9112 §3.2), or None."""
    if url.startswith("/"):
        return None
    if url == "*":
        return None if method == "OPTIONS" else "asterisk-form target on a method other than OPTIONS"
    if method == "CONNECT":
        host, port = _split_host_port(url)
        if port is None or not port.isdigit() or not _host_ok(host):
            return "CONNECT target that is not host:port"
        return None
    scheme, sep, _ = url.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):
        return "target that is neither origin-, absolute- nor asterisk-form"
    authority = urlsplit(url).netloc.rpartition("@")[2]
    host, port = _split_host_port(authority)
    if not host or not _host_ok(host) or (port is not None and port != ""
                                          and not port.isdigit()):
        return "absolute-form target without a valid host"
    return None


def header_violation(version: str, headers, trailers) -> str | None:
    """Why the header or trailer fields are refused (framing ambiguity), or None."""
    names = [name.lower() for name, _ in headers]
    if names.count("content-type") > 1:
        return "two Content-Type fields"
    for name in names:
        if "_" in name and name.replace("_", "-") in _FRAMING:
            return "header name with '_' that maps onto a framing header"
    if version == "1.0" and "transfer-encoding" in names:
        return "Transfer-Encoding in an HTTP/1.0 request"
    for name, _ in trailers:
        if name.lower() in _FORBIDDEN_TRAILERS:
            return "framing or routing field in a trailer section"
    return None
