"""Request-smuggling streams against a real fastcore server, checked against h11.

One server runs for the module: the workload app (``bench.app``) on port 0.
Each stream of ``smuggling`` is sent whole on a fresh connection and what
comes back until the server closes is cut into responses. A stream fastcore
must refuse is sent without the client's EOF, so the close that ends it can
only come from the server (RFC 9112 §6.3 and §9.6: a framing error leaves
the connection unusable); an accepted stream is half-closed after sending.

Checks per stream: as many application answers as the stream's rule says,
then, for a refusal, exactly the transport-level 400 of SPEC §6 with
``Connection: close`` and the close itself; no unframed bytes. The
differential check feeds the same bytes to h11 as a server and counts the
requests it completes before it errs or the connection must end: fastcore
may answer fewer (it is stricter on purpose), never more.

Streams where fastcore is wrong are listed in ``KNOWN_DEFECTS`` and expected
to fail (strict xfail) until the server is fixed; the entry then goes.
"""
from __future__ import annotations

import h11  # a test dependency through uvicorn and wsproto
import pytest

from bench.app import build_app
from fastcore.errors import map_client_error
from tests.conftest import get, live_server
from tests.server.replay import Answer, exchange, split_responses
from tests.server.smuggling import Stream, streams

REFUSAL = map_client_error("malformed")[:2]     # (400, b'{"error":"Bad Request",...}')
STREAMS = streams()
# A refused stream keeps its write side open: the server must close within this.
CLOSE_TIMEOUT = 3.0

# Streams where fastcore is wrong, expected to fail until it is fixed:
# {stream name: what is wrong}. None today.
KNOWN_DEFECTS: dict[str, str] = {}


@pytest.fixture(scope="module")
def server():
    with live_server(build_app()) as running:
        yield running


def h11_accepted(raw: bytes) -> int:
    """How many requests h11, as a server, completes on ``raw`` followed by EOF."""
    conn = h11.Connection(our_role=h11.SERVER)
    conn.receive_data(raw)
    conn.receive_data(b"")
    done = 0
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError:
            return done
        if isinstance(event, h11.EndOfMessage):
            done += 1
            conn.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
            conn.send(h11.EndOfMessage())
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return done          # the connection must close here (e.g. HTTP/1.0)
            conn.start_next_cycle()
        elif not isinstance(event, (h11.Request, h11.Data)):
            return done              # ConnectionClosed, NEED_DATA or PAUSED: no more


def is_refusal(answer: Answer) -> bool:
    return (answer.status, answer.body) == REFUSAL


def _params() -> list:
    params = []
    for stream in STREAMS:
        reason = KNOWN_DEFECTS.get(stream.name)
        marks = (pytest.mark.xfail(strict=True, reason=reason),) if reason else ()
        params.append(pytest.param(stream, id=stream.name, marks=marks))
    return params


def _send(server, stream: Stream) -> tuple[list, bytes, bool, str]:
    received, closed = exchange(server, stream.raw, half_close=not stream.refused,
                                timeout=CLOSE_TIMEOUT)
    # Only an answer to HEAD lacks a body, and a HEAD is always first here.
    answers, rest = split_responses(received, [stream.raw.startswith(b"HEAD ")])
    context = "%s\nrule: %s\nreceived %r" % (stream.name, stream.rule, received[:600])
    return answers, rest, closed, context


@pytest.mark.parametrize("stream", _params())
def test_smuggling_stream_answered_as_its_rule_says(server, stream):
    answers, rest, closed, context = _send(server, stream)
    assert rest == b"", "unframed bytes; " + context
    served = answers[:stream.answered]
    assert len(served) == stream.answered, "too few answers; " + context
    assert not any(is_refusal(a) for a in served), "refused too early; " + context
    extra = answers[stream.answered:]
    if stream.refused:
        assert [(a.status, a.body) for a in extra] == [REFUSAL], (
            "expected exactly the 400 'Client Error' refusal; " + context)
        assert extra[0].headers.get("connection") == "close", context
        assert closed, "connection left open after the refusal; " + context
    else:
        assert extra == [], "more answers than requests; " + context
        assert closed, "no close after the client's EOF; " + context
    if stream.family == "control":
        assert all(200 <= a.status < 300 for a in answers), context
    follow_up, _ = exchange(server, get("/json"))
    assert [a.status for a in split_responses(follow_up, [])[0]] == [200], "server stopped serving"


@pytest.mark.parametrize("stream", _params())
def test_smuggling_stream_never_looser_than_h11(server, stream):
    answers, _, _, context = _send(server, stream)
    served = [a for a in answers if not is_refusal(a)]
    reference = h11_accepted(stream.raw)
    assert len(served) <= reference, (
        "fastcore answered %d requests, h11 completes %d; %s" % (len(served), reference, context))


def test_smuggling_h11_counts_accepted_streams_alike():
    # The reference must agree on every stream fastcore is meant to accept,
    # or the differential above would prove nothing.
    for stream in STREAMS:
        if not stream.refused:
            assert h11_accepted(stream.raw) == stream.answered, stream.name


def test_smuggling_server_still_serves_after_every_stream(server):
    # Every stream again, half-closed so none waits on the server, then a
    # plain GET on a new connection.
    for stream in STREAMS:
        exchange(server, stream.raw, timeout=CLOSE_TIMEOUT)
    client = server.client()
    try:
        response = client.request(get("/json"))
    finally:
        client.close()
    assert (response.status, response.body) == (200, b'{"hello":"world"}')


def test_smuggling_catalogue_covers_every_family(capsys):
    families: dict[str, int] = {}
    for stream in STREAMS:
        families[stream.family] = families.get(stream.family, 0) + 1
    with capsys.disabled():
        print("\nsmuggling streams: %d, %s; known defects: %d"
              % (len(STREAMS), families, len(KNOWN_DEFECTS)))
    assert set(families) == {"control", "CL.TE", "TE.CL", "TE.TE", "CL", "chunk-size",
                             "line-endings", "HTTP/1.0+TE", "GET+CL"}
    assert set(KNOWN_DEFECTS) <= {s.name for s in STREAMS}
