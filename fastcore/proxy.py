"""The ``trust_proxy`` option: who the client is behind reverse proxies.

:func:`make_trust` turns the option into a trust function ``fn(addr, hop) ->
bool`` (or ``None`` when proxies are not trusted), the way Fastify does with
proxy-addr:

- ``False`` / ``0`` / ``""``: ``None``, the socket peer is the client;
- ``True``: every hop is trusted;
- an int ``n``: the ``n`` hops nearest to the server are trusted (hop 0 is
  the socket peer);
- a str (comma-separated) or a list of str: addresses and CIDR ranges
  (``"10.0.0.1"``, ``"10.0.0.0/8"``, ``"10.0.0.0/255.0.0.0"``, ``"fc00::/7"``),
  plus the names ``loopback``, ``linklocal`` and ``uniquelocal``; IPv4-mapped
  IPv6 addresses match IPv4 ranges and the other way round;
- a function ``fn(addr, hop) -> bool``: used as is.

:func:`resolve` then gives ``(ip, ips, hostname, protocol)`` for a request:
the addresses are the socket peer followed by ``X-Forwarded-For`` read from
the right (nearest proxy first); walking them from the peer, the first
untrusted hop ends the chain. ``ips`` is that chain, nearest first (peer,
proxies..., client), as Fastify's ``request.ips``; ``ip`` is its last entry.
``X-Forwarded-Host`` and ``X-Forwarded-Proto`` are believed only when the
socket peer itself is trusted (a client connecting directly cannot spoof
them); their last entry counts, which is the one the nearest proxy set.
Otherwise ``hostname`` is the ``Host`` header and ``protocol`` the scheme of
the listening socket.
"""
from __future__ import annotations

import ipaddress
from typing import Any, Callable, Iterable, Mapping

from .errors import InvalidOptionError

__all__ = ["make_trust", "resolve", "forwarded_addresses", "NAMED_RANGES"]

Trust = Callable[[Any, int], bool]

NAMED_RANGES = {
    "linklocal": ("169.254.0.0/16", "fe80::/10"),
    "loopback": ("127.0.0.1/8", "::1/128"),
    "uniquelocal": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"),
}

_CACHE_SIZE = 1024


def _trust_all(addr: Any, hop: int) -> bool:
    return True


class _HopTrust:
    """Trusts the ``hops`` nearest hops."""

    __slots__ = ("hops",)

    def __init__(self, hops: int) -> None:
        self.hops = hops

    def __call__(self, addr: Any, hop: int) -> bool:
        return hop < self.hops

    def __repr__(self) -> str:
        return "<trust %d hops>" % self.hops


def _invalid(message: str) -> InvalidOptionError:
    return InvalidOptionError("Invalid value for option 'trust_proxy': " + message)


def _parse_network(note: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    # proxy-addr's notation: an address, address/prefix, or IPv4 address/netmask.
    addr_text, slash, range_text = note.rpartition("/") if "/" in note else (note, "", "")
    try:
        addr = ipaddress.ip_address(addr_text)
    except ValueError:
        raise _invalid("invalid IP address: %r" % addr_text) from None
    if not slash and addr.version == 6 and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    width = addr.max_prefixlen
    if not slash:
        prefix = width
    elif range_text.isdigit():
        prefix = int(range_text)
    elif addr.version == 4:
        try:
            prefix = ipaddress.IPv4Network("0.0.0.0/" + range_text).prefixlen
        except ValueError:
            raise _invalid("invalid range on address: %r" % note) from None
    else:
        raise _invalid("invalid range on address: %r" % note)
    if not 0 < prefix <= width:
        raise _invalid("invalid range on address: %r" % note)
    return ipaddress.ip_network("%s/%d" % (addr, prefix), strict=False)


def _parse_address(addr: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not isinstance(addr, str):
        return None
    try:
        return ipaddress.ip_address(addr)
    except ValueError:
        return None


class _RangeTrust:
    """Trusts addresses inside any of ``networks``; results are cached (bounded)."""

    __slots__ = ("networks", "_cache")

    def __init__(self, networks: list) -> None:
        self.networks = tuple(networks)
        self._cache: dict[Any, bool] = {}

    def __call__(self, addr: Any, hop: int) -> bool:
        try:
            return self._cache[addr]
        except (KeyError, TypeError):
            pass
        result = self._check(_parse_address(addr))
        cache = self._cache
        if len(cache) >= _CACHE_SIZE:
            del cache[next(iter(cache))]
        if isinstance(addr, str):
            cache[addr] = result
        return result

    def _check(self, ip: Any) -> bool:
        if ip is None:
            return False
        as_v4 = ip.ipv4_mapped if ip.version == 6 else ip
        as_v6 = ipaddress.IPv6Address("::ffff:" + str(ip)) if ip.version == 4 else ip
        for network in self.networks:
            candidate = as_v4 if network.version == 4 else as_v6
            if candidate is not None and candidate in network:
                return True
        return False

    def __repr__(self) -> str:
        return "<trust %s>" % ", ".join(map(str, self.networks))


def _compile(values: Iterable[str]) -> Trust:
    networks = []
    for value in values:
        for note in NAMED_RANGES.get(value, (value,)):
            networks.append(_parse_network(note))
    return _RangeTrust(networks)


def make_trust(option: Any) -> Trust | None:
    """The trust function ``fn(addr, hop) -> bool`` for ``trust_proxy``, or ``None``."""
    if option is None or option is False:
        return None
    if option is True:
        return _trust_all
    if isinstance(option, int):
        if option < 0:
            raise _invalid("a hop count must be >= 0, got %r" % (option,))
        return _HopTrust(option) if option else None
    if isinstance(option, str):
        values = [v.strip() for v in option.split(",") if v.strip()]
        return _compile(values) if values else None
    if isinstance(option, (list, tuple)):
        if not all(isinstance(v, str) for v in option):
            raise _invalid("a list must hold addresses or CIDR ranges as str, got %r" % (option,))
        values = [v.strip() for v in option if v.strip()]
        return _compile(values) if values else None
    if callable(option):
        return option
    raise _invalid("expected a bool, a hop count, addresses/CIDRs or a function, got %r"
                   % (option,))


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return ", ".join(value)
    return value


def forwarded_addresses(value: str | None) -> list[str]:
    """The addresses of an ``X-Forwarded-For`` value, nearest proxy first."""
    if not value:
        return []
    out = [item.strip() for item in value.split(",")]
    out = [item for item in out if item]
    out.reverse()
    return out


def resolve(trust: Trust | None, remote_addr: str | None, headers: Mapping[str, Any],
            scheme: str = "http") -> tuple[str | None, list[str], str | None, str]:
    """``(ip, ips, hostname, protocol)`` for a request from ``remote_addr``.

    ``headers`` maps lower-case names to values (repeated headers joined with
    ``", "``, or as a list); ``scheme`` is ``"https"`` on a TLS socket.
    """
    host = _header(headers, "host")
    if trust is None:
        return remote_addr, [remote_addr] if remote_addr is not None else [], host, scheme
    peer_trusted = bool(trust(remote_addr, 0))
    addrs: list[Any] = [remote_addr]
    addrs.extend(forwarded_addresses(_header(headers, "x-forwarded-for")))
    # Walk from the peer outwards; the first untrusted hop is the client.
    for hop in range(len(addrs) - 1):
        trusted = peer_trusted if hop == 0 else trust(addrs[hop], hop)
        if not trusted:
            del addrs[hop + 1:]
            break
    ip = addrs[-1]
    if remote_addr is None:
        addrs = addrs[1:]
    if not peer_trusted:
        return ip, addrs, host, scheme
    return ip, addrs, _forwarded(headers, "x-forwarded-host", host), \
        _forwarded(headers, "x-forwarded-proto", scheme)


def _forwarded(headers: Mapping[str, Any], name: str, default: Any) -> Any:
    # The last entry is the one the nearest (trusted) proxy set.
    value = _header(headers, name)
    if not value:
        return default
    return value[value.rfind(",") + 1:].strip() or default
