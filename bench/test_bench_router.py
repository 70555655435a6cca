"""Router lookups: each named case on a 10-route and on a 1,000-route table.

Each case is its own benchmark group, so one run prints the two tables side by
side; lookup cost should not depend on the number of routes.

    python -m pytest bench/test_bench_router.py --benchmark-only -q
"""
from __future__ import annotations

import pytest

from fastcore._router import Router
from bench.routes_table import large_table, small_table

# case name -> (method, path, expected params or None for a miss)
CASES = {
    "find: static": ("GET", "/user/repos", {}),
    "find: 1 param": ("GET", "/users/octocat", {"username": "octocat"}),
    "find: 2 params": ("GET", "/repos/octocat/hello-world",
                       {"owner": "octocat", "repo": "hello-world"}),
    "find: 3 params, 5 levels": ("GET", "/repos/octocat/hello-world/issues/1347/comments",
                                 {"owner": "octocat", "repo": "hello-world",
                                  "issue_number": "1347"}),
    "find: wildcard": ("GET", "/repos/octocat/hello-world/contents/docs/guide/intro.md",
                       {"owner": "octocat", "repo": "hello-world",
                        "*": "docs/guide/intro.md"}),
    "find: percent-encoded param": ("GET", "/users/octo%20cat%C3%A9",
                                    {"username": "octo caté"}),
    "find: miss": ("GET", "/repos/octocat/hello-world/unknown", None),
}

TABLES = {"10 routes": small_table, "1000 routes": large_table}


def build(table_name: str) -> Router:
    router = Router()
    for method, pattern in TABLES[table_name]():
        router.on(method, pattern, pattern)
    return router


# Built once, before any timing: building (or listing) a thousand routes inside
# a test leaves the allocator in a state that shifts the next timings.
ROUTERS = {name: build(name) for name in TABLES}
ROUTE_COUNTS = {name: len(router.routes()) for name, router in ROUTERS.items()}


@pytest.mark.parametrize("table_name", list(TABLES))
@pytest.mark.parametrize("case", list(CASES))
def test_find(benchmark, case, table_name):
    router = ROUTERS[table_name]
    method, path, expected = CASES[case]
    result = router.find(method, path)
    assert (result if result is None else result[1]) == expected
    benchmark.group = case
    benchmark.extra_info["routes"] = ROUTE_COUNTS[table_name]
    benchmark(router.find, method, path)
