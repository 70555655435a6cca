"""fastcore.plugins.channels over real sockets (SPEC §12): slow consumers and
their policies next to fast ones, and SSE subscribers."""
from __future__ import annotations

import asyncio
import socket
import threading

import orjson
import pytest
from websockets.sync.client import connect

import fastcore
from fastcore.plugins import channels
from tests.conftest import live_server

CHANNELS = ["ticks.%d" % i for i in range(10)]
PAD = "p" * 300                   # ~350-byte ticks: a backlog without bound would show
TICKS = 100_000
KEY = b"dGhlIHNhbXBsZSBub25jZQ=="


def make_app(**options):
    app = fastcore.App()
    app.register(channels, **options)
    app.fast_done = threading.Event()

    app.fast_sockets = []

    @app.get("/ws", websocket=True)
    async def feed(ws, request):
        if "fast" in request.query:
            app.fast_sockets.append(ws)
        await app.channels.subscribe(ws, *request.query["channels"].split(","))
        await ws.send("subscribed")
        async for _ in ws:
            pass

    @app.get("/sse")
    async def stream(request, reply):
        return reply.sse(app.channels.events(
            *request.query["channels"].split(","), last_event_id=request.last_event_id,
            last_value="last" in request.query), heartbeat=None)

    return app


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def slow_client(srv, channels_query: str) -> socket.socket:
    """A WebSocket client with a tiny receive buffer that reads nothing yet."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect((srv.host, srv.port))
    sock.sendall(b"GET /ws?channels=" + channels_query.encode() + b" HTTP/1.1\r\nHost: t\r\n"
                 b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + KEY
                 + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    got = b""
    while b"subscribed" not in got:
        got += sock.recv(4096)
    return sock


def frames(data: bytes) -> tuple[list, bytes]:
    """Server text frames in ``data`` (payloads as parsed JSON), and the rest."""
    out, pos = [], 0
    while len(data) - pos >= 2:
        opcode, n, start = data[pos] & 0x0F, data[pos + 1] & 0x7F, pos + 2
        if n == 126:
            if len(data) - pos < 4:
                break
            n, start = int.from_bytes(data[pos + 2:pos + 4], "big"), pos + 4
        if len(data) < start + n:
            break
        payload = data[start:start + n]
        out.append((opcode, payload if opcode == 8 else orjson.loads(payload)))
        pos = start + n
    return out, data[pos:]


def read_all_ws(sock: socket.socket, until) -> list:
    """Frames until ``until(frame)`` is true for one of them (or the socket closes)."""
    got, rest = [], b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return got
        parsed, rest = frames(rest + chunk)
        got.extend(parsed)
        if any(until(f) for f in parsed):
            return got


def publish_flood(srv, app, count=TICKS):
    # Bursts of 100, each once the fast subscriber's transport takes writes
    # again: as fast as it reads, whatever the slow one does.
    async def flood():
        for i in range(count):
            channel = CHANNELS[i % len(CHANNELS)]
            app.channels.publish_nowait(channel, {"i": i, "c": channel, "pad": PAD})
            if i % 100 == 99:
                await asyncio.sleep(0)     # the burst is written
                for ws in app.fast_sockets:
                    await ws.wait_writable()
        app.channels.publish_nowait("end", {"end": True})
    srv.call(flood(), timeout=120)


def fast_reader(srv, app, received):
    with connect("ws://%s:%d/ws?fast=1&channels=%s" % (srv.host, srv.port,
                                                ",".join(CHANNELS + ["end"])),
                 max_size=None) as client:
        assert client.recv(timeout=10) == "subscribed"
        app.fast_ready.set()
        while True:
            message = orjson.loads(client.recv(timeout=60))
            if message.get("end"):
                break
            received.append(message["i"])
    app.fast_done.set()


def run_flood(policy):
    app = make_app(max_backlog=256, slow_consumer=policy)
    app.fast_ready = threading.Event()
    received: list = []
    with live_server(app) as srv:
        thread = threading.Thread(target=fast_reader, args=(srv, app, received))
        thread.start()
        assert app.fast_ready.wait(10)
        slow = slow_client(srv, ",".join(CHANNELS + ["end"]))
        before = rss_kib()
        publish_flood(srv, app)
        grown = rss_kib() - before
        assert app.fast_done.wait(60)
        thread.join(10)
        got = read_all_ws(slow, lambda f: f[0] == 8 or (f[0] == 1 and f[1].get("end")))
        slow.close()
        counted = srv.run(app.channels.stats)
    return received, got, grown, counted


def check_counts(counted, policy, got, dropped):
    # Every message written to a subscriber was read here: the fast one read
    # all TICKS + "end", the slow one up to "end" or the close frame.
    slow_got = sum(1 for f in got if f[0] == 1)
    assert counted["published"] == TICKS + 1
    assert counted["delivered"] == TICKS + 1 + slow_got
    assert counted["dropped"] == {**dict.fromkeys(("conflate", "drop_oldest", "disconnect"),
                                                  0), policy: dropped(slow_got)}


def test_a_slow_subscriber_under_conflate_keeps_a_bounded_backlog_and_ends_up_current():
    received, got, grown, counted = run_flood("conflate")
    assert received == list(range(TICKS))          # the fast one missed nothing
    check_counts(counted, "conflate", got, lambda slow_got: TICKS + 1 - slow_got)
    # 100,000 ticks of ~350 bytes held for the slow one would be ~35 MB more.
    assert grown < 12 * 1024, "RSS grew by %d KiB" % grown
    ticks = [f[1] for f in got if f[0] == 1 and "i" in f[1]]
    assert len(ticks) < TICKS // 2
    newest = {}
    for tick in ticks:
        assert tick["i"] > newest.get(tick["c"], -1)    # each channel in order
        newest[tick["c"]] = tick["i"]
    assert newest == {c: TICKS - len(CHANNELS) + k for k, c in enumerate(CHANNELS)}


def test_a_slow_subscriber_under_drop_oldest_ends_with_the_newest_ticks():
    received, got, grown, counted = run_flood("drop_oldest")
    assert received == list(range(TICKS))
    check_counts(counted, "drop_oldest", got, lambda slow_got: TICKS + 1 - slow_got)
    assert grown < 12 * 1024, "RSS grew by %d KiB" % grown
    ticks = [f[1]["i"] for f in got if f[0] == 1 and "i" in f[1]]
    assert ticks == sorted(ticks)
    assert ticks[-255:] == list(range(TICKS - 255, TICKS))


def test_a_slow_subscriber_under_disconnect_is_closed_with_1008():
    received, got, _, counted = run_flood("disconnect")
    assert received == list(range(TICKS))
    # Its full backlog (256) and the message that did not fit.
    check_counts(counted, "disconnect", got, lambda slow_got: 256 + 1)
    closes = [f[1] for f in got if f[0] == 8]
    assert closes and closes[0][:2] == (1008).to_bytes(2, "big")
    assert closes[0][2:] == b"slow consumer"


def test_stats_count_a_live_fan_out_and_its_subscribers():
    app = make_app()
    with live_server(app) as srv:
        url = "ws://%s:%d/ws?channels=s,t" % (srv.host, srv.port)
        with connect(url) as one, connect(url) as two:
            assert one.recv(timeout=10) == two.recv(timeout=10) == "subscribed"
            assert srv.run(app.channels.stats)["subscribers"] == 4
            for i in range(20):
                srv.call(app.channels.publish("st"[i % 2], i))
            for client in (one, two):
                assert [orjson.loads(client.recv(timeout=10)) for _ in range(20)] == list(
                    range(20))
            assert srv.run(app.channels.stats) == {
                "published": 20, "delivered": 40, "subscribers": 4,
                "dropped": {"conflate": 0, "drop_oldest": 0, "disconnect": 0}}
        for _ in range(100):                       # the server notices the closes
            if srv.run(app.channels.stats)["subscribers"] == 0:
                break
            srv.call(asyncio.sleep(0.01))
        assert srv.run(app.channels.stats)["subscribers"] == 0


class SseReader:
    """The events of one SSE response (chunk sizes skipped: events are small)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.head_seen = False

    def events(self, count: int) -> list:
        got: list = []
        while len(got) < count:
            if not self.head_seen and b"\r\n\r\n" in self.buffer:
                self.buffer = self.buffer.split(b"\r\n\r\n", 1)[1]
                self.head_seen = True
            if self.head_seen and b"\n\n" in self.buffer:
                block, self.buffer = self.buffer.split(b"\n\n", 1)
                fields = dict(line.split(b": ", 1) for line in block.split(b"\n")
                              if b": " in line and not line.startswith(b":"))
                if b"data" in fields:
                    got.append((fields.get(b"id"), fields[b"data"]))
                continue
            chunk = self.sock.recv(65536)
            assert chunk, self.buffer
            self.buffer += chunk
        return got


def sse_request(srv, query, last_event_id=None):
    sock = socket.create_connection((srv.host, srv.port), timeout=10)
    extra = b"Last-Event-ID: %s\r\n" % last_event_id.encode() if last_event_id else b""
    sock.sendall(b"GET /sse?" + query.encode() + b" HTTP/1.1\r\nHost: t\r\n" + extra + b"\r\n")
    return sock


def test_sse_subscribers_get_ids_resume_after_last_event_id_and_leave_on_disconnect():
    app = make_app(history=10)
    with live_server(app) as srv:
        for i in range(1, 6):
            srv.call(app.channels.publish("prices", {"n": i}))
        resumed_sock = sse_request(srv, "channels=prices", last_event_id="3")
        resumed = SseReader(resumed_sock)
        assert [e[0] for e in resumed.events(2)] == [b"4", b"5"]
        latest_sock = sse_request(srv, "channels=prices&last=1")
        assert SseReader(latest_sock).events(1) == [(b"5", b'{"n":5}')]
        assert srv.run(app.channels.subscribers, "prices") == 2
        srv.call(app.channels.publish("prices", {"n": 6}))
        assert resumed.events(1) == [(b"6", b'{"n":6}')]
        resumed_sock.close()
        latest_sock.close()
        for _ in range(100):                       # the server notices the resets
            if srv.run(app.channels.subscribers, "prices") == 0:
                break
            srv.call(app.channels.publish("prices", {"n": 7}))
            srv.call(asyncio.sleep(0.01))
        assert srv.run(app.channels.subscribers, "prices") == 0


@pytest.mark.parametrize("policy", ["conflate", "disconnect"])
def test_a_slow_sse_reader_is_bounded_by_the_policy(policy):
    app = make_app(max_backlog=16, slow_consumer=policy)
    with live_server(app) as srv:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(10)
        sock.connect((srv.host, srv.port))
        sock.sendall(b"GET /sse?channels=a,b HTTP/1.1\r\nHost: t\r\n\r\n")
        data = sock.recv(4096)
        assert data.startswith(b"HTTP/1.1 200")
        for _ in range(100):
            if srv.run(app.channels.subscribers, "a") == 1:
                break
            srv.call(asyncio.sleep(0.01))
        async def flood():
            for i in range(20_000):
                app.channels.publish_nowait("ab"[i % 2], {"i": i, "pad": PAD})
                if i % 100 == 99:
                    await asyncio.sleep(0)
            app.channels.publish_nowait("a", {"i": "last"})

        srv.call(flood())
        end = b'data: {"i":"last"}\n\n\r\n' if policy == "conflate" else b"\r\n0\r\n\r\n"
        while not data.endswith(end):
            chunk = sock.recv(65536)
            assert chunk, data[-200:]
            data += chunk
        assert srv.run(app.channels.subscribers, "a") == (1 if policy == "conflate" else 0)
        sock.close()
    # The reader got far fewer than the 20,000 events: the rest waited in a
    # bounded queue and were conflated, or the stream was ended.
    assert data.count(b"data: ") < 20_000 // 2
    # Each event once: a write the sink took while its transport filled up
    # is not sent again from the backlog.
    events = [line for line in data.split(b"\n") if line.startswith(b"data: ")]
    assert len(events) == len(set(events))          # each has its own "i"
