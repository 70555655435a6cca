"""fastcore.proxy: the trust_proxy option, proxy-addr style."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastcore import errors
from fastcore.proxy import forwarded_addresses, make_trust, resolve

H = {"host": "app.example:3000"}


def headers(xff=None, host="app.example:3000", xfh=None, xfp=None):
    out = {"host": host}
    if xff is not None:
        out["x-forwarded-for"] = xff
    if xfh is not None:
        out["x-forwarded-host"] = xfh
    if xfp is not None:
        out["x-forwarded-proto"] = xfp
    return out


# -- make_trust ---------------------------------------------------------------------------

@pytest.mark.parametrize("option", [False, None, 0, "", " , ", []])
def test_make_trust_off(option):
    assert make_trust(option) is None


def test_make_trust_true_trusts_every_hop():
    trust = make_trust(True)
    assert all(trust(addr, hop) for hop, addr in enumerate(["1.1.1.1", "x", None]))


def test_make_trust_hop_count():
    trust = make_trust(2)
    assert trust("8.8.8.8", 0) and trust("8.8.8.8", 1) and not trust("8.8.8.8", 2)


def test_make_trust_function_used_as_is():
    def fn(addr, hop):
        return addr == "10.0.0.1"
    assert make_trust(fn) is fn


@pytest.mark.parametrize("option, trusted, untrusted", [
    ("127.0.0.1", ["127.0.0.1", "::ffff:127.0.0.1"], ["127.0.0.2", "::1"]),
    ("10.0.0.0/8, 192.168.1.0/24", ["10.9.9.9", "192.168.1.7"], ["192.168.2.1", "11.0.0.1"]),
    (["10.0.0.0/255.0.0.0"], ["10.200.0.1"], ["11.0.0.1"]),
    ("loopback", ["127.0.0.1", "127.255.0.1", "::1", "::ffff:127.0.0.9"], ["10.0.0.1", "::2"]),
    ("linklocal", ["169.254.1.1", "fe80::1", "fe80::1%eth0"], ["169.253.1.1", "fec0::1"]),
    ("uniquelocal", ["10.1.1.1", "172.16.0.1", "172.31.255.255", "192.168.0.1", "fd00::1"],
     ["172.32.0.1", "8.8.8.8", "fe80::1"]),
    ("::ffff:10.0.0.1", ["10.0.0.1", "::ffff:10.0.0.1"], ["10.0.0.2"]),
    ("::ffff:10.0.0.0/104", ["10.3.3.3"], ["11.0.0.1"]),
    ("2001:db8::/32", ["2001:db8::1"], ["2001:db9::1", "10.0.0.1"]),
    (("loopback", "10.0.0.1"), ["::1", "10.0.0.1"], ["10.0.0.2"]),
])
def test_make_trust_addresses_and_ranges(option, trusted, untrusted):
    trust = make_trust(option)
    for addr in trusted:
        assert trust(addr, 0), addr
    for addr in untrusted:
        assert not trust(addr, 0), addr


@pytest.mark.parametrize("addr", ["", "not-an-ip", "1.2.3.4:80", "[::1]", None, 3])
def test_range_trust_rejects_non_addresses(addr):
    assert not make_trust("0.0.0.0/1, 128.0.0.0/1, ::/1")(addr, 0)


def test_range_trust_cache_is_bounded():
    trust = make_trust("10.0.0.0/8")
    for i in range(3000):
        trust("10.0.%d.%d" % (i // 256, i % 256), 0)
    assert len(trust._cache) <= 1024
    assert trust("10.0.0.1", 0) and not trust("11.0.0.1", 0)


@pytest.mark.parametrize("option", [
    -1, "example.com", "10.0.0.0/33", "10.0.0.0/0", "::1/129", "10.0.0.0/abc",
    "::1/ffff::", "10.0.0.0/255.0.255.0", ["10.0.0.1", 3], 1.5, {"10.0.0.1": True}, b"10.0.0.1"])
def test_make_trust_invalid(option):
    with pytest.raises(errors.InvalidOptionError) as info:
        make_trust(option)
    assert info.value.code == "FC_ERR_INVALID_OPTION"
    assert "trust_proxy" in str(info.value)


# -- forwarded_addresses -------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (None, []), ("", []), ("1.1.1.1", ["1.1.1.1"]),
    ("1.1.1.1, 2.2.2.2,3.3.3.3", ["3.3.3.3", "2.2.2.2", "1.1.1.1"]),
    (" 1.1.1.1 ,, 2.2.2.2 , ", ["2.2.2.2", "1.1.1.1"])])
def test_forwarded_addresses_nearest_first(value, expected):
    assert forwarded_addresses(value) == expected


# -- resolve ------------------------------------------------------------------------------

def test_resolve_without_trust_uses_the_socket():
    got = resolve(None, "10.0.0.1", headers("1.1.1.1", xfh="evil.example", xfp="https"))
    assert got == ("10.0.0.1", ["10.0.0.1"], "app.example:3000", "http")
    assert resolve(None, None, {}, "https") == (None, [], None, "https")


def test_resolve_trust_all_takes_the_leftmost_address():
    got = resolve(make_trust(True), "127.0.0.1", headers("1.1.1.1, 2.2.2.2"))
    assert got == ("1.1.1.1", ["127.0.0.1", "2.2.2.2", "1.1.1.1"], "app.example:3000", "http")


def test_resolve_without_forwarded_for_is_the_peer():
    assert resolve(make_trust(True), "127.0.0.1", H)[:2] == ("127.0.0.1", ["127.0.0.1"])


@pytest.mark.parametrize("hops, ip, ips", [
    (1, "3.3.3.3", ["127.0.0.1", "3.3.3.3"]),
    (2, "2.2.2.2", ["127.0.0.1", "3.3.3.3", "2.2.2.2"]),
    (3, "1.1.1.1", ["127.0.0.1", "3.3.3.3", "2.2.2.2", "1.1.1.1"]),
    (10, "1.1.1.1", ["127.0.0.1", "3.3.3.3", "2.2.2.2", "1.1.1.1"]),
])
def test_resolve_hop_count(hops, ip, ips):
    got = resolve(make_trust(hops), "127.0.0.1", headers("1.1.1.1, 2.2.2.2, 3.3.3.3"))
    assert got[:2] == (ip, ips)


def test_resolve_ranges_stop_at_the_first_untrusted_hop():
    trust = make_trust("loopback, 10.0.0.0/8")
    # The client sent a forged "6.6.6.6"; the proxy appended the real client.
    got = resolve(trust, "127.0.0.1", headers("6.6.6.6, 203.0.113.9, 10.0.0.2"))
    assert got[:2] == ("203.0.113.9", ["127.0.0.1", "10.0.0.2", "203.0.113.9"])


def test_resolve_untrusted_peer_ignores_every_forwarded_header():
    trust = make_trust("10.0.0.0/8")
    got = resolve(trust, "203.0.113.9", headers("10.0.0.1", xfh="evil.example", xfp="https"))
    assert got == ("203.0.113.9", ["203.0.113.9"], "app.example:3000", "http")


def test_resolve_trusted_peer_uses_forwarded_host_and_proto():
    trust = make_trust("127.0.0.1")
    got = resolve(trust, "127.0.0.1", headers("1.1.1.1", xfh="a.example, shop.example",
                                              xfp="http, https"))
    assert got == ("1.1.1.1", ["127.0.0.1", "1.1.1.1"], "shop.example", "https")


def test_resolve_forwarded_host_and_proto_without_forwarded_for():
    got = resolve(make_trust(1), "127.0.0.1", headers(xfh="shop.example", xfp="https"))
    assert got == ("127.0.0.1", ["127.0.0.1"], "shop.example", "https")


def test_resolve_empty_forwarded_entries_fall_back():
    got = resolve(make_trust(True), "127.0.0.1", headers(xfh="a.example, ", xfp="https,"))
    assert got[2:] == ("app.example:3000", "http")


def test_resolve_default_scheme_is_the_callers():
    assert resolve(make_trust(True), "127.0.0.1", H, "https")[3] == "https"
    assert resolve(make_trust("10.0.0.1"), "127.0.0.1", headers(xfp="http"), "https")[3] == "https"


def test_resolve_joins_repeated_header_values():
    got = resolve(make_trust(True), "127.0.0.1",
                  {"x-forwarded-for": ["1.1.1.1", "2.2.2.2"], "host": ["h"]})
    assert got[:3] == ("1.1.1.1", ["127.0.0.1", "2.2.2.2", "1.1.1.1"], "h")


def test_resolve_without_a_peer_address():
    got = resolve(make_trust(True), None, headers("1.1.1.1"))
    assert got[:2] == ("1.1.1.1", ["1.1.1.1"])
    got = resolve(make_trust("loopback"), None, headers("1.1.1.1", xfh="evil.example"))
    assert got == (None, [], "app.example:3000", "http")


def test_resolve_calls_a_custom_function_with_addr_and_hop():
    calls = []

    def trust(addr, hop):
        calls.append((addr, hop))
        return hop < 2

    got = resolve(trust, "127.0.0.1", headers("1.1.1.1, 2.2.2.2, 3.3.3.3"))
    assert got[0] == "2.2.2.2"
    assert calls == [("127.0.0.1", 0), ("3.3.3.3", 1), ("2.2.2.2", 2)]


_ADDRS = st.lists(st.ip_addresses().map(str), min_size=1, max_size=6)


@given(_ADDRS, st.integers(min_value=0, max_value=8))
def test_resolve_hop_count_matches_the_chain(chain, hops):
    peer, forwarded = chain[0], chain[1:]
    xff = ", ".join(reversed(forwarded)) if forwarded else None
    ip, ips, _, _ = resolve(make_trust(hops), peer, headers(xff))
    expected = chain[:min(hops, len(chain) - 1) + 1]
    assert ips == expected and ip == expected[-1]


@given(_ADDRS)
def test_resolve_trust_all_is_the_leftmost(chain):
    xff = ", ".join(reversed(chain[1:])) if len(chain) > 1 else None
    ip, ips, _, _ = resolve(make_trust(True), chain[0], headers(xff))
    assert ips == chain and ip == chain[-1]
