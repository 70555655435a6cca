"""The jwt plugin's cache of verified tokens: expiry, copies, its bound."""
import time

from fastcore.plugins._jwt.verified import VerifiedTokens


def test_a_hit_is_a_copy_and_an_expired_entry_is_dropped():
    cache = VerifiedTokens(10, leeway=0)
    cache.add("live", {"sub": "a", "exp": time.time() + 60, "tags": ["x"]})
    cache.add("gone", {"sub": "b", "exp": time.time() - 1})
    first = cache.get("live")
    first["tags"].append("changed")
    assert cache.get("live")["tags"] == ["x"]
    assert cache.get("gone") is None and len(cache) == 1


def test_leeway_extends_the_life_of_an_entry():
    cache = VerifiedTokens(10, leeway=30)
    cache.add("t", {"exp": time.time() - 10})
    assert cache.get("t") == {"exp": cache.get("t")["exp"]}


def test_the_oldest_entry_goes_first_at_the_bound():
    cache = VerifiedTokens(3, leeway=0)
    for name in "abcd":
        cache.add(name, {"sub": name})
    assert len(cache) == 3
    assert cache.get("a") is None and cache.get("d") == {"sub": "d"}
