"""Checks of the JSON Schema ``format`` keyword (ajv-formats' "full" mode
semantics; RFC 3339 for dates and times).

``FORMATS`` maps a format name to ``check(str) -> bool``. ``compile_validator``
copies it, adds the caller's ``formats``, and the code it generates calls the
check (a constant of its namespace) on a string with that format.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Callable


_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")
_TIME = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
                   r"(?:[zZ]|([+-])([0-9]{2}):([0-9]{2}))\Z")
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_date(s: str) -> bool:
    m = _DATE.match(s)
    if m is None:
        return False
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    if not 1 <= month <= 12:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return 1 <= day <= (29 if month == 2 and leap else _MONTH_DAYS[month])


def _is_time(s: str) -> bool:
    m = _TIME.match(s)
    if m is None:
        return False
    hour, minute, second = int(m[1]), int(m[2]), int(m[3])
    off_h, off_m = (int(m[5]), int(m[6])) if m[4] else (0, 0)
    if hour > 23 or minute > 59 or off_h > 23 or off_m > 59 or second > 60:
        return False
    if second < 60:
        return True
    sign = -1 if m[4] == "-" else 1  # a leap second exists only at 23:59:60 UTC
    return (hour * 60 + minute - sign * (off_h * 60 + off_m)) % 1440 == 1439


def _is_date_time(s: str) -> bool:
    return len(s) > 11 and s[10] in "Tt " and _is_date(s[:10]) and _is_time(s[11:])


_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(r"%s(?:\.%s)*@(?:%s\.)+%s\Z" % (_ATEXT, _ATEXT, _LABEL, _LABEL))
_UUID = re.compile(r"(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}\Z", re.I)
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = re.compile(r"%s(?:\.%s){3}\Z" % (_OCTET, _OCTET))
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
_IPV6_CHARS = frozenset("0123456789abcdefABCDEF:.")

# RFC 3986 §3: an absolute URI with scheme, hierarchical part, query, fragment.
_UNRESERVED, _SUB_DELIMS, _PCT = r"A-Za-z0-9\-._~", r"!$&'()*+,;=", r"%[0-9A-Fa-f]{2}"
_PCHAR = r"(?:[%s%s:@]|%s)" % (_UNRESERVED, _SUB_DELIMS, _PCT)
_AUTHORITY = r"(?:(?:[%s%s:]|%s)*@)?(?:\[(?P<ip>[^\]]*)\]|(?:[%s%s]|%s)*)(?::[0-9]*)?" % (
    _UNRESERVED, _SUB_DELIMS, _PCT, _UNRESERVED, _SUB_DELIMS, _PCT)
_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+\-.]*:"
    r"(?://{a}(?:/{p}*)*|/(?:{p}+(?:/{p}*)*)?|{p}+(?:/{p}*)*|)"
    r"(?:\?(?:{p}|[/?])*)?(?:#(?:{p}|[/?])*)?\Z".format(a=_AUTHORITY, p=_PCHAR))
_IPVFUTURE = re.compile(r"v[0-9A-Fa-f]+\.[%s%s:]+\Z" % (_UNRESERVED, _SUB_DELIMS))


def _is_ipv6(s: str) -> bool:
    if not s or not _IPV6_CHARS.issuperset(s):  # no zone ids, no non-ASCII digits
        return False
    try:
        ipaddress.IPv6Address(s)
    except ValueError:
        return False
    return True


def _is_hostname(s: str) -> bool:
    if s.endswith("."):
        s = s[:-1]  # a fully-qualified name may end with the root's dot
    return 0 < len(s) <= 253 and all(_HOST_LABEL.match(label) for label in s.split("."))


def _is_uri(s: str) -> bool:
    m = _URI.match(s)
    if m is None:
        return False
    ip = m.group("ip")
    return ip is None or _is_ipv6(ip) or _IPVFUTURE.match(ip) is not None


FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": _is_date_time, "date": _is_date, "time": _is_time,
    "email": lambda s: _EMAIL.match(s) is not None,
    "uuid": lambda s: _UUID.match(s) is not None,
    "uri": _is_uri,
    "ipv4": lambda s: _IPV4.match(s) is not None,
    "ipv6": _is_ipv6,
    "hostname": _is_hostname,
}
