"""Tests of the load script's pure parts (bench/load.py): no server is started.

wrk output parsing, the Lua scripts it writes, the cases it builds, the table
and notes it prints, the idle client's helpers, the peers' availability checks,
and the shared workload module the Python peers answer with.
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from bench import install, load
from bench.load import (
    ROUTES, Case, IdleResult, Route, Run, WrkResult, build_cases, format_table,
    idle_bytes_per_conn, lua_string, parse_response_head, parse_wrk,
    response_notes, servers_for, summarize, wrk_script, write_wrk_script,
)
from bench.peers import FASTCORE, PEERS, Server
from bench.servers import parse_nofile

CLEAN = """\
Running 8s test @ http://127.0.0.1:40123/json
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.77ms    2.18ms  18.69ms   64.32%
    Req/Sec   121.36k    11.24k  137.71k    60.00%
  Latency Distribution
     50%  812.00us
     75%    5.34ms
     90%    6.59ms
     99%    1.20s
  242137 requests in 8.01s, 29.33MB read
Requests/sec:  30229.34
Transfer/sec:     14.58MB
"""

WITH_ERRORS = CLEAN.replace(
    "Requests/sec:",
    "  Socket errors: connect 0, read 12, write 0, timeout 3\n"
    "  Non-2xx or 3xx responses: 7\nRequests/sec:")

# wrk's latency correction under pipelining leaves its percentiles at zero.
PIPELINED = """\
Running 2s test @ http://127.0.0.1:8721/json
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    15.26ms   17.78ms 114.91ms    0.00%
    Req/Sec    15.90k     0.87k   17.74k    80.95%
  Latency Distribution
     50%    0.00us
     75%    0.00us
     90%    0.00us
     99%    0.00us
  33298 requests in 2.11s, 4.99MB read
Requests/sec:  15794.07
Transfer/sec:      2.36MB
"""


# --- wrk output ---------------------------------------------------------------------

def test_parse_wrk_reads_rate_count_and_percentiles_in_ms():
    result = parse_wrk(CLEAN)
    assert result.rps == pytest.approx(30229.34)
    assert result.requests == 242137
    assert result.latency_ms == pytest.approx(
        {"50": 0.812, "75": 5.34, "90": 6.59, "99": 1200.0})
    assert result.socket_errors == {}
    assert result.non_2xx == 0
    assert result.errors == []
    assert result.output == CLEAN


def test_parse_wrk_reports_socket_errors_and_non_2xx():
    result = parse_wrk(WITH_ERRORS)
    assert result.rps == pytest.approx(30229.34)
    assert result.socket_errors == {"connect": 0, "read": 12, "write": 0, "timeout": 3}
    assert result.non_2xx == 7
    assert result.errors == ["7 non-2xx/3xx responses", "socket errors read 12, timeout 3"]


def test_parse_wrk_without_numbers_is_an_error():
    result = parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")
    assert result.rps is None and result.requests is None
    assert "wrk output has no requests/s or p99 latency" in result.errors
    assert "no request completed" in result.errors


def test_parse_wrk_pipelined_does_not_need_the_latency_distribution():
    no_latency = "\n".join(line for line in PIPELINED.splitlines() if "%" not in line)
    assert parse_wrk(no_latency, pipelined=True).errors == []
    assert parse_wrk(no_latency).errors == ["wrk output has no requests/s or p99 latency"]
    result = parse_wrk(PIPELINED, pipelined=True)
    assert result.rps == pytest.approx(15794.07) and result.requests == 33298
    assert result.errors == []


# --- Lua scripts ----------------------------------------------------------------------

def test_lua_string_escapes_quotes_backslashes_and_newlines():
    assert lua_string('a"b\\c\nd\r') == '"a\\"b\\\\c\\nd\\r"'


def test_plain_get_needs_no_script(tmp_path):
    assert wrk_script(ROUTES["json"]) is None
    assert write_wrk_script(ROUTES["users"], tmp_path) is None
    assert list(tmp_path.iterdir()) == []


def test_post_script_sets_method_body_and_content_type(tmp_path):
    path = write_wrk_script(ROUTES["order"], tmp_path)
    assert path == tmp_path / "order.lua"
    assert path.read_text() == (
        'wrk.method = "POST"\n'
        'wrk.body = "{\\"symbol\\":\\"BTC-USD\\",\\"side\\":\\"buy\\",\\"qty\\":0.5,'
        '\\"price\\":43250.5}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n')


def test_pipelined_script_sends_depth_requests_per_write(tmp_path):
    path = write_wrk_script(ROUTES["users"], tmp_path, pipeline=16)
    assert path == tmp_path / "users-pipeline16.lua"
    assert path.read_text() == textwrap.dedent("""\
        -- 16 requests per write
        local depth = 16
        local path = "/users/42?fields=name"
        local pipelined
        init = function(args)
          local requests = {}
          for i = 1, depth do
            requests[i] = wrk.format(nil, path)
          end
          pipelined = table.concat(requests)
        end
        request = function()
          return pipelined
        end
        """)


def test_pipelined_post_keeps_method_and_body_for_wrk_format():
    text = wrk_script(ROUTES["order"], pipeline=4)
    lines = text.splitlines()
    assert lines[0] == 'wrk.method = "POST"'
    assert lines[1].startswith("wrk.body = ")
    assert "local depth = 4" in lines
    # The request is built in init, after wrk has set the Host header.
    assert lines.index("init = function(args)") < lines.index("request = function()")


# --- cases and servers ------------------------------------------------------------------

def test_build_cases_orders_extra_rows_after_their_route():
    routes = [ROUTES[name] for name in ("json", "prices", "order", "users")]
    cases = build_cases(routes, 50, pipeline=16, c200=True, idle=10000)
    assert [c.name for c in cases] == [
        "json", "json pipeline 16", "json c200", "prices", "prices pipeline 16",
        "order", "users", "users pipeline 16", "json idle 10000"]
    by_name = {c.name: c for c in cases}
    assert by_name["json c200"].connections == 200
    assert by_name["users pipeline 16"].pipeline == 16
    assert by_name["users pipeline 16"].connections == 50
    idle = by_name["json idle 10000"]
    assert idle.kind == "idle" and idle.idle == 10000 and idle.route.path == "/json"


def test_build_cases_without_json_puts_c200_last_and_plain_by_default():
    cases = build_cases([ROUTES["users"]], 64, c200=True)
    assert [(c.name, c.connections) for c in cases] == [("users", 64), ("json c200", 200)]
    assert [c.name for c in build_cases([ROUTES["json"]], 50)] == ["json"]


def test_json_only_peers_are_used_only_for_json_cases():
    servers = [FASTCORE, PEERS["uvicorn"], PEERS["nginx"], PEERS["ceiling"]]
    json_case = Case("json c200", ROUTES["json"], 200)
    users_case = Case("users", ROUTES["users"], 50)
    assert [s.name for s in servers_for(json_case, servers)] == [
        "fastcore", "uvicorn", "nginx", "ceiling"]
    assert [s.name for s in servers_for(users_case, servers)] == ["fastcore", "uvicorn"]


def test_server_placeholders_and_the_nginx_template():
    values = {"python": "/py", "root": "/repo", "host": "127.0.0.1", "port": "8080",
              "rundir": "/tmp/run", "max_connections": "11024"}
    argv, cwd, env = PEERS["fastify"].expand(**values)
    assert argv == ["node", "/repo/bench/peers/node/fastify_app.js"]
    assert cwd == "/repo/bench/peers/node"
    assert env["PORT"] == "8080" and env["HOST"] == "127.0.0.1"
    nginx = PEERS["nginx"]
    assert nginx.expand(**values)[0][:5] == ["nginx", "-p", "/tmp/run", "-c",
                                             "/tmp/run/nginx.conf"]
    template = (load.ROOT / nginx.templates["nginx.conf"]).read_text()
    conf = nginx.fill(template, values)
    assert "listen 127.0.0.1:8080" in conf
    assert "worker_processes 1;" in conf
    assert "worker_connections 11024;" in conf
    assert "return 200 '{\"hello\":\"world\"}';" in conf
    assert "default_type application/json;" in conf
    for name in values:
        assert "{" + name + "}" not in conf


# --- table and notes ----------------------------------------------------------------------

def _wrk_run(case, server, rnd, rps, p99=5.0, errors=(), rss=30 * 1024, pipeline=1):
    wrk = WrkResult(rps=rps, requests=1000, latency_ms={"99": p99})
    return Run(case=case, route=case.split()[0], server=server, round=rnd, port=1,
               pipeline=pipeline, wrk=wrk, peak_rss_kib=rss, errors=list(errors))


def test_summarize_medians_ratios_and_failed_rounds():
    servers = [FASTCORE, PEERS["uvicorn"]]
    cases = [Case("json", ROUTES["json"], 50)]
    runs = [
        _wrk_run("json", "fastcore", 1, 20000, 4.0),
        _wrk_run("json", "uvicorn", 1, 10000, 8.0),
        _wrk_run("json", "fastcore", 2, 30000, 6.0, rss=40 * 1024),
        _wrk_run("json", "uvicorn", 2, 12000, 9.0, errors=["socket errors read 1"]),
        _wrk_run("json", "fastcore", 3, 24000, 5.0),
        # uvicorn's round 3 is missing: it never started.
    ]
    rows, summary = summarize(runs, servers, cases, 3)
    assert rows == [
        ["json", "fastcore", "20,000", "30,000", "24,000", "24,000", "5.00 ms", "40.0 MiB"],
        ["json", "uvicorn", "10,000", "12,000!", "FAILED", "10,000", "8.00 ms", "30.0 MiB"],
        ["json", "fastcore/uvicorn", "2.000", "-", "-", "2.000", "", ""],
    ]
    assert summary[0] == {"case": "json", "route": "json", "server": "fastcore",
                          "peak_rss_kib": 40 * 1024, "valid_rounds": 3,
                          "median_rps": 24000, "median_p99_ms": 5.0}
    assert summary[2]["ratio"] == "fastcore/uvicorn"
    assert summary[2]["per_round"] == [2.0, None, None] and summary[2]["median"] == 2.0


def test_summarize_pipelined_has_no_p99_and_idle_is_in_bytes():
    servers = [FASTCORE, PEERS["nginx"]]
    pipe = Case("json pipeline 16", ROUTES["json"], 50, pipeline=16)
    idle = Case("json idle 100", ROUTES["json"], 0, idle=100)
    runs = [_wrk_run(pipe.name, "fastcore", 1, 160000, 0.0, pipeline=16),
            _wrk_run(pipe.name, "nginx", 1, 80000, 0.0, pipeline=16)]
    for server, per_conn in (("fastcore", 2000.0), ("nginx", 500.0)):
        runs.append(Run(case=idle.name, route="json", server=server, round=1, port=1,
                        idle=IdleResult(requested=100, opened=100, alive=100,
                                        bytes_per_conn=per_conn),
                        peak_rss_kib=20 * 1024))
    rows, summary = summarize(runs, servers, [pipe, idle], 1)
    assert rows == [
        ["json pipeline 16", "fastcore", "160,000", "160,000", "-", "30.0 MiB"],
        ["json pipeline 16", "nginx", "80,000", "80,000", "-", "30.0 MiB"],
        ["json pipeline 16", "fastcore/nginx", "2.000", "2.000", "", ""],
        ["json idle 100", "fastcore", "2,000 B", "2,000 B", "-", "20.0 MiB"],
        ["json idle 100", "nginx", "500 B", "500 B", "-", "20.0 MiB"],
        ["json idle 100", "fastcore/nginx", "4.000", "4.000", "", ""],
    ]
    assert summary[3]["median_bytes_per_conn"] == 2000.0
    assert summary[5]["of"] == "bytes_per_conn"


def test_format_table_aligns_columns():
    rows = [["json", "fastcore", "20,000", "20,000", "5.00 ms", "30.0 MiB"],
            ["json", "fastcore/uvicorn", "2.000", "2.000", "", ""]]
    assert format_table(rows, 1).splitlines() == [
        "route/mode  server            round 1  median req/s  median p99  peak RSS",
        "----------  ----------------  -------  ------------  ----------  --------",
        "json        fastcore           20,000        20,000     5.00 ms  30.0 MiB",
        "json        fastcore/uvicorn    2.000         2.000",
    ]


def _answer(server, body, status=200, ctype="application/json; charset=utf-8"):
    return Run(case="prices", route="prices", server=server, round=1, port=1,
               first_response={"status": status, "content_type": ctype, "body": body})


def test_response_notes_tell_bytes_only_differences_from_real_ones():
    case = [Case("prices", ROUTES["prices"], 50)]
    same = [_answer("fastcore", '{"a":1}'), _answer("uvicorn", '{"a":1}')]
    assert response_notes(same, case) == []
    floats = [_answer("fastcore", '[{"ask":43251.0,"b":"x"}]'),
              _answer("fastify", '[{"b":"x","ask":43251}]')]
    assert response_notes(floats, case) == [
        "note: prices: same JSON value, different bytes: "
        "fastcore: 200 application/json; charset=utf-8 25 B; "
        "fastify: 200 application/json; charset=utf-8 23 B"]
    other = [_answer("fastcore", '{"a":1}'), _answer("peer", '{"a":2}')]
    assert response_notes(other, case)[0].startswith(
        "note: servers answered prices differently: ")
    status = [_answer("fastcore", '{"a":1}'), _answer("peer", '{"a":1}', status=201)]
    assert "differently" in response_notes(status, case)[0]


def test_format_notes_lists_skipped_peers_failures_and_warnings():
    setups = {"nginx": install.PeerSetup(status="skipped", note="nginx not found on PATH"),
              "uvicorn": install.PeerSetup()}
    bad = _wrk_run("json", "uvicorn", 2, None, errors=["server exited with status 1"])
    bad.warnings.append("something odd")
    notes = load.format_notes([bad], [Case("json", ROUTES["json"], 50)], setups)
    assert notes == ["skipped: nginx: nginx not found on PATH",
                     "! json round 2 uvicorn: server exited with status 1",
                     "warning: json round 2 uvicorn: something odd"]


# --- the idle client's helpers ---------------------------------------------------------------

def test_parse_response_head():
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"content-length: 17\r\n\r\n")
    assert parse_response_head(head) == (200, 17)
    assert parse_response_head(b"HTTP/1.1 404 Not Found\r\n\r\n") == (404, None)
    with pytest.raises(ValueError):
        parse_response_head(b"SSH-2.0-OpenSSH\r\n\r\n")


def test_parse_nofile_and_bytes_per_connection():
    limits = ("Limit                     Soft Limit           Hard Limit           Units\n"
              "Max cpu time              unlimited            unlimited            seconds\n"
              "Max open files            20000                65536                files\n")
    assert parse_nofile(limits) == 20000
    assert parse_nofile(limits.replace("20000", "unlimited")) is None
    assert parse_nofile("") is None
    assert idle_bytes_per_conn(1000, 2000, 1024) == 1000.0
    assert idle_bytes_per_conn(None, 2000, 1024) is None
    assert idle_bytes_per_conn(1000, 2000, 0) is None


# --- peers: availability --------------------------------------------------------------------

def test_a_peer_missing_python_packages_is_skipped_with_the_pip_command():
    server = Server(name="x", argv=("true",), pip=("no-such-distribution-fc",))
    setup = install.prepare_peer(server, install=False)
    assert setup.status == "skipped" and setup.actions == []
    assert "pip install no-such-distribution-fc" in setup.note
    assert "--install" in setup.note


def test_a_peer_missing_a_program_is_skipped_with_the_apt_command():
    server = Server(name="x", argv=("true",), commands=("no-such-program-fc",),
                    apt=("no-such-package-fc",))
    setup = install.prepare_peer(server, install=False)
    assert setup.status == "skipped"
    assert "no-such-program-fc not found on PATH" in setup.note
    assert "apt-get install -y -q no-such-package-fc" in setup.note


def test_a_node_peer_without_npm_is_skipped_with_a_clear_note(tmp_path, monkeypatch):
    (tmp_path / "package.json").write_text("{}")
    real_which = load.shutil.which
    monkeypatch.setattr(load.shutil, "which",
                        lambda name, path=None: None if name == "npm"
                        else real_which(name, path=path))
    server = Server(name="x", argv=("true",), npm_dir=str(tmp_path),
                    npm_packages=("fastify",))
    setup = install.prepare_peer(server, install=False)
    assert setup.status == "skipped"
    assert "npm is not on PATH" in setup.note and "npm install --no-audit --no-fund" in setup.note


def test_a_ready_node_folder_needs_no_install(tmp_path):
    (tmp_path / "node_modules" / "fastify").mkdir(parents=True)
    (tmp_path / "node_modules" / "fastify" / "package.json").write_text('{"version": "5.0.0"}')
    server = Server(name="x", argv=("true",), npm_dir=str(tmp_path),
                    npm_packages=("fastify",))
    setup = install.prepare_peer(server, install=False)
    assert (setup.status, setup.actions, setup.note) == ("ready", [], "")


def test_every_peer_declares_what_it_needs():
    for name, server in PEERS.items():
        assert server.name == name
        assert server.routes is None or set(server.routes) <= set(ROUTES)
        for template in server.templates.values():
            assert (load.ROOT / template).is_file()
    assert PEERS["nginx"].routes == ("json",) and PEERS["ceiling"].routes == ("json",)
    package = json.loads((load.ROOT / "bench/peers/node/package.json").read_text())
    assert package["dependencies"]["fastify"].split(".")[0].lstrip("^~") == "5"


# --- the shared workload of the Python peers ---------------------------------------------------

def test_workload_answers_every_route_with_fastcores_bytes():
    from bench.peers.workload import respond

    assert respond("GET", "/json", "", None, None) == (200, b'{"hello":"world"}')
    status, body = respond("GET", "/prices", "", None, None)
    assert status == 200 and len(body) == 1626
    assert body.startswith(b'[{"symbol":"BTC-USD","bid":43250.5,"ask":43251.0,')
    assert respond("GET", "/users/42", "fields=name", None, None) == (
        200, b'{"id":42,"fields":"name"}')
    order = load.ORDER_BODY.encode()
    assert respond("POST", "/order", "", "application/json", order) == (200, order)
    assert respond("POST", "/order", "", "application/json",
                   b'{"symbol":"BTC-USD","side":"buy","qty":0.5}') == (
        400, b'{"statusCode":400,"code":"FC_ERR_VALIDATION","error":"Bad Request",'
             b'"message":"body must have required property \'price\'"}')
    assert respond("GET", "/users/abc", "", None, None)[0] == 400
    assert respond("GET", "/nope", "x=1", None, None) == (
        404, b'{"message":"Route GET:/nope?x=1 not found","error":"Not Found",'
             b'"statusCode":404}')


def test_route_table_matches_the_workload():
    assert ROUTES["users"] == Route("users", "GET", "/users/42?fields=name")
    assert ROUTES["order"].content_type == "application/json"
    assert Path(load.__file__).name == "load.py"
