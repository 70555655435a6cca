"""reply.sse through app.inject (SPEC §11)."""
from __future__ import annotations

import fastcore


def make_app(log=None):
    app = fastcore.App()

    @app.get("/sse")
    async def stream(request, reply):
        async def events():
            yield fastcore.ServerSentEvent({"bid": 1.5}, event="tick", id="7")
            yield "plain text"
            yield {"last": request.last_event_id}
        return reply.sse(events(), retry=3)

    if log is not None:
        app.add_hook("pre_serialization", lambda request, reply, payload: log.append("pre"))
    return app


def test_sse_reply_headers_and_events():
    r = make_app().inject_sync("GET", "/sse")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["x-accel-buffering"] == "no"
    assert r.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in r.headers
    assert r.body == (b"retry: 3000\n\n"
                      b'event: tick\nid: 7\ndata: {"bid":1.5}\n\n'
                      b"data: plain text\n\n"
                      b'data: {"last":null}\n\n')


def test_last_event_id_is_the_header_a_reconnecting_client_sends():
    r = make_app().inject_sync("GET", "/sse", headers={"Last-Event-ID": "41"})
    assert r.body.endswith(b'data: {"last":"41"}\n\n')


def test_pre_serialization_does_not_run_for_event_streams():
    log = []
    make_app(log).inject_sync("GET", "/sse")
    assert log == []


def test_a_source_that_is_not_async_is_a_500():
    app = fastcore.App()
    app.get("/bad", lambda request, reply: reply.sse(["x"]))
    r = app.inject_sync("GET", "/bad")
    assert r.status_code == 500
