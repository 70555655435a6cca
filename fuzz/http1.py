"""Fuzz target: the HTTP/1 protocol (fastcore._http1) on an in-memory transport.

One small app and one event loop serve every input; each input gets a fresh
protocol. The input is cut into chunks at points it chooses, the chunks are
fed to ``data_received`` from inside the loop (as a server does), then the
loop runs a few turns so that asynchronous handlers finish. Checked:

* no exception escapes ``data_received`` or ``connection_lost``, none
  reaches the loop's exception handler, and the server logs no error (an
  exception its parser callbacks caught);
* everything written parses as a sequence of complete HTTP/1.1 responses
  (status line, header fields, CRLF CRLF, then a body framed by
  Content-Length or chunked transfer coding, none for 1xx/204/304);
* after a response carrying ``Connection: close`` nothing more is written and
  the transport is closed; nothing is written after the transport is closed.

HEAD requests are turned into another method before feeding: a HEAD answer
carries a Content-Length but no body, and telling which answer belongs to a
HEAD request would need a second request parser here.

The protocol is compiled C, which atheris does not instrument; coverage comes
from fastcore's Python modules (routing glue, hooks, replies, errors) and
from ``outcome_features``, which branches on the status codes written.
"""
import asyncio
import logging
import re
import sys

import atheris

with atheris.instrument_imports():
    import fastcore

STATUS_LINE = re.compile(rb"HTTP/1\.1 ([1-5][0-9][0-9]) [\x09\x20-\x7e\x80-\xff]*\Z")
FIELD = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\x09\x20-\x7e\x80-\xff]*?)[ \t]*\Z")
CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]+)(;[^\r\n]*)?\Z")
ITEM_SCHEMA = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "maxLength": 20}, "qty": {"type": "integer"}},
}


class RecordingTransport(asyncio.Transport):
    """Keeps every write, and whether (and when) the transport was closed."""

    def __init__(self):
        super().__init__()
        self.written = bytearray()
        self.closed_at = None       # len(written) when close() or abort() came
        self.late_write = False     # a write after close
        self.paused = False

    def write(self, data):
        if self.closed_at is not None and data:
            self.late_write = True
        self.written += data

    def writelines(self, lines):
        for data in lines:
            self.write(data)

    def close(self):
        if self.closed_at is None:
            self.closed_at = len(self.written)

    abort = close

    def is_closing(self):
        return self.closed_at is not None

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 50000) if name in ("peername", "sockname") else default

    def get_write_buffer_size(self):
        return 0

    def pause_reading(self):
        self.paused = True

    def resume_reading(self):
        self.paused = False


async def hello(request, reply):
    return {"hello": "world"}


async def user(request, reply):
    return {"id": request.params["id"], "q": request.query.get("q")}


async def create_item(request, reply):
    reply.code(201)
    return request.body


def build_app():
    app = fastcore.App(logger=False)
    app.get("/hello", hello)
    app.get("/users/:id", user)
    app.post("/items", create_item, schema={"body": ITEM_SCHEMA})
    return app


class ErrorRecords(logging.Handler):
    """The records of level ERROR and above, as text."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(self.format(record))


class Harness:
    """The app, its loop and the protocol factory, made once."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.loop_errors = []
        self.loop.set_exception_handler(lambda loop, context: self.loop_errors.append(context))
        # What the server logs as an error (a callback that raised, say) is a
        # failure too, though the client got its 400.
        self.logged = ErrorRecords()
        logging.getLogger("fastcore").addHandler(self.logged)
        app = build_app()
        self.loop.run_until_complete(app.ready())
        self.factory = app._runtime(self.loop).protocol_factory
        self.app = app

    def run(self, chunks):
        transport = RecordingTransport()
        self.loop.run_until_complete(self.converse(chunks, transport))
        assert not self.loop_errors, self.loop_errors[:1]
        assert not self.logged.records, self.logged.records[:1]
        return transport

    async def converse(self, chunks, transport):
        proto = self.factory()
        proto.connection_made(transport)
        for chunk in chunks:
            if not await self.wait_resumed(transport):
                break       # a real transport would not read further either
            proto.data_received(chunk)
        for _ in range(8):
            await asyncio.sleep(0)
        proto.connection_lost(None)
        for _ in range(2):
            await asyncio.sleep(0)

    @staticmethod
    async def wait_resumed(transport):
        for _ in range(8):
            if not transport.paused:
                return True
            await asyncio.sleep(0)
        return not transport.paused


@atheris.instrument_func
def parse_head(data, pos):
    """(status, {name: [values]}, position after the head) of the head at ``pos``."""
    end = data.find(b"\r\n\r\n", pos)
    assert end >= 0, "incomplete response head: %r" % bytes(data[pos:pos + 200])
    lines = bytes(data[pos:end]).split(b"\r\n")
    status = STATUS_LINE.match(lines[0])
    assert status, "bad status line %r" % lines[0]
    fields = {}
    for line in lines[1:]:
        field = FIELD.match(line)
        assert field, "bad header field %r" % line
        fields.setdefault(field.group(1).lower(), []).append(field.group(2))
    return int(status.group(1)), fields, end + 4


@atheris.instrument_func
def chunked_body_end(data, pos):
    """Position after a chunked body starting at ``pos`` (trailers included)."""
    while True:
        eol = data.find(b"\r\n", pos)
        assert eol >= 0, "incomplete chunk size line"
        size = CHUNK_SIZE.match(bytes(data[pos:eol]))
        assert size, "bad chunk size line %r" % bytes(data[pos:eol])
        length = int(size.group(1), 16)
        pos = eol + 2
        if length == 0:
            break
        assert data[pos + length:pos + length + 2] == b"\r\n", "chunk not followed by CRLF"
        pos += length + 2
    while True:     # trailer fields, then the empty line
        eol = data.find(b"\r\n", pos)
        assert eol >= 0, "incomplete trailer section"
        if eol == pos:
            return pos + 2
        assert FIELD.match(bytes(data[pos:eol])), "bad trailer %r" % bytes(data[pos:eol])
        pos = eol + 2


@atheris.instrument_func
def body_end(data, pos, status, fields):
    if 100 <= status < 200 or status in (204, 304):
        assert b"content-length" not in fields or status == 304, "length on a bodiless status"
        return pos
    if b"transfer-encoding" in fields:
        assert fields[b"transfer-encoding"] == [b"chunked"], fields[b"transfer-encoding"]
        assert b"content-length" not in fields, "both Content-Length and chunked"
        return chunked_body_end(data, pos)
    lengths = fields.get(b"content-length")
    assert lengths and len(lengths) == 1 and lengths[0].isdigit(), \
        "response without a single valid Content-Length: %r" % lengths
    end = pos + int(lengths[0])
    assert end <= len(data), "body shorter than Content-Length"
    return end


def says_close(fields):
    return any(b"close" in [t.strip().lower() for t in value.split(b",")]
               for value in fields.get(b"connection", ()))


@atheris.instrument_func
def check_output(transport):
    data = transport.written
    pos = 0
    statuses = []
    while pos < len(data):
        status, fields, pos = parse_head(data, pos)
        pos = body_end(data, pos, status, fields)
        statuses.append(status)
        if says_close(fields):
            assert pos == len(data), "bytes written after Connection: close"
            assert transport.closed_at is not None, "Connection: close but not closed"
    assert not transport.late_write, "write after the transport was closed"
    return statuses


@atheris.instrument_func
def outcome_features(statuses):
    """Branches on the answers so that a new status counts as new coverage."""
    for status in statuses[:4]:
        if status == 200:
            pass
        elif status == 201:
            pass
        elif status == 400:
            pass
        elif status == 404:
            pass
        elif status == 413:
            pass
        elif status == 415:
            pass
        elif status == 431:
            pass
        elif status == 100:
            pass
        elif status >= 500:
            pass


def chunks_of(fdp):
    cuts = sorted({fdp.ConsumeIntInRange(0, 4096) for _ in range(fdp.ConsumeIntInRange(0, 8))})
    data = fdp.ConsumeBytes(fdp.remaining_bytes()).replace(b"HEAD", b"HEAX")
    cuts = [0] + [c for c in cuts if c < len(data)] + [len(data)]
    return [data[a:b] for a, b in zip(cuts, cuts[1:]) if b > a]


HARNESS = None


@atheris.instrument_func
def TestOneInput(data):
    global HARNESS
    if HARNESS is None:
        HARNESS = Harness()
    transport = HARNESS.run(chunks_of(atheris.FuzzedDataProvider(data)))
    outcome_features(check_output(transport))


def main():
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
