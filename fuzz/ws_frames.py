"""Fuzz target: the WebSocket frame parser (fastcore._ws_frames).

The first input byte picks a mode. Raw mode feeds arbitrary bytes to a
``FrameParser`` in arbitrary splits, and the same bytes again in one piece
to a second parser: the parser must never raise (violations are reported
through ``error_code``, not exceptions), its events must be well-formed, and
the split must not change them. Round-trip mode builds messages with
``build_frame``, turns the server frames into masked client frames
(optionally fragmented), and checks the parser gives back exactly the
messages that went in.
"""
import sys

import atheris

with atheris.instrument_imports():
    from fastcore import _ws_frames as ws

DATA_OPCODES = (ws.OP_TEXT, ws.OP_BINARY)
CONTROL_OPCODES = (ws.OP_PING, ws.OP_PONG)
# The close codes _fail() may set; anything else is a parser bug.
ERROR_CODES = {0, ws.CLOSE_PROTOCOL_ERROR, ws.CLOSE_INVALID_DATA, ws.CLOSE_TOO_BIG}
MAX_SIZES = (1_048_576, 125, 126, 65_535, 65_536, 0, 1)


def split_points(fdp, size):
    """Sorted cut positions in ``range(size)``, chosen by the input."""
    count = fdp.ConsumeIntInRange(0, 8)
    return sorted({fdp.ConsumeIntInRange(0, size) for _ in range(count)})


@atheris.instrument_func
def feed_in_pieces(parser, data, cuts):
    events = []
    start = 0
    for cut in cuts + [len(data)]:
        events.extend(parser.feed(data[start:cut]))
        start = cut
    return events


@atheris.instrument_func
def check_events(events, parser):
    """Event shapes, and nothing after a close."""
    for k, (opcode, value) in enumerate(events):
        if opcode == ws.OP_TEXT:
            assert isinstance(value, str), events
        elif opcode in (ws.OP_BINARY, ws.OP_PING, ws.OP_PONG):
            assert isinstance(value, bytes), events
            assert opcode == ws.OP_BINARY or len(value) <= 125, events
        elif opcode == ws.OP_CLOSE:
            code, reason = value
            assert code == ws.CLOSE_NO_STATUS or ws.is_valid_close_code(code), value
            assert isinstance(reason, str) and len(reason.encode()) <= 123, value
            assert k == len(events) - 1 and parser.stopped, "events after a close"
        else:
            raise AssertionError("unknown event opcode %r" % opcode)
    assert parser.error_code in ERROR_CODES, parser.error_code
    assert not parser.error_code or parser.stopped


@atheris.instrument_func
def outcome_features(parser, events):
    """Branches on the parser's outcome: each distinct outcome is new coverage."""
    reason = parser.error_reason.split(" ")[0:3]
    if reason == ["reserved", "bits", "set"]:
        pass
    elif reason == ["client", "frames", "must"]:
        pass
    elif reason[:2] == ["unknown", "opcode"]:
        pass
    elif reason == ["fragmented", "control", "frame"]:
        pass
    elif reason == ["control", "frame", "over"]:
        pass
    elif reason == ["64-bit", "length", "with"]:
        pass
    elif reason == ["continuation", "frame", "without"]:
        pass
    elif reason == ["new", "message", "before"]:
        pass
    elif reason[:2] == ["message", "over"]:
        pass
    elif reason[:2] == ["invalid", "UTF-8"]:
        pass
    elif reason[:3] == ["invalid", "close", "code"]:
        pass
    elif reason[:2] == ["one-byte", "close"]:
        pass
    for opcode, value in events[:4]:
        if opcode == ws.OP_TEXT and value:
            pass
        elif opcode == ws.OP_BINARY and len(value) > 125:
            pass
        elif opcode == ws.OP_CLOSE and value[1]:
            pass


@atheris.instrument_func
def raw_mode(fdp):
    max_size = MAX_SIZES[fdp.ConsumeIntInRange(0, len(MAX_SIZES) - 1)]
    cuts = split_points(fdp, 4096)
    data = fdp.ConsumeBytes(fdp.remaining_bytes())
    cuts = [c for c in cuts if c <= len(data)]
    split = ws.FrameParser(max_size)
    events = feed_in_pieces(split, data, cuts)
    check_events(events, split)
    outcome_features(split, events)
    whole = ws.FrameParser(max_size)
    assert whole.feed(data) == events, "events depend on how the bytes were split"
    assert (whole.error_code, whole.error_reason, whole.stopped) == \
        (split.error_code, split.error_reason, split.stopped)
    # Once stopped, the parser ignores everything.
    if split.stopped:
        assert split.feed(b"\x81\x80\x00\x00\x00\x00") == []


def mask(payload, key):
    """XOR with the repeated key, as one big-int operation (a Python loop is
    too slow for the 64 KiB payloads)."""
    n = len(payload)
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


@atheris.instrument_func
def to_client_frame(frame, key, fin, opcode):
    """A server frame from build_frame made masked, with FIN/opcode overridden."""
    length_bytes = {126: 2, 127: 8}.get(frame[1] & 0x7F, 0)
    header = 2 + length_bytes
    payload = frame[header:]
    masked = mask(payload, key)
    first = (0x80 if fin else 0) | opcode
    return bytes([first, frame[1] | 0x80]) + frame[2:header] + key + masked


def message_payload(fdp, opcode):
    if opcode == ws.OP_TEXT:
        return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 64)).encode()
    if opcode in CONTROL_OPCODES:
        return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 125))
    # Sometimes large, to reach the 16- and 64-bit length forms.
    size = fdp.PickValueInList([0, 5, 125, 126, 65_535, 65_536, 70_000])
    return bytes([fdp.ConsumeIntInRange(0, 255)]) * size


@atheris.instrument_func
def data_frames(fdp, opcode, payload, key):
    """The frames of one data message, fragmented as the input says."""
    pieces = fdp.ConsumeIntInRange(1, 4)
    step = max(1, len(payload) // pieces)
    chunks = [payload[i:i + step] for i in range(0, len(payload), step)] or [b""]
    frames = []
    for k, chunk in enumerate(chunks):
        op = opcode if k == 0 else ws.OP_CONTINUATION
        frames.append(to_client_frame(ws.build_frame(ws.OP_BINARY, chunk), key,
                                      k == len(chunks) - 1, op))
    return frames


@atheris.instrument_func
def roundtrip_mode(fdp):
    stream = []
    expected = []
    for _ in range(fdp.ConsumeIntInRange(0, 5)):
        opcode = fdp.PickValueInList(list(DATA_OPCODES + CONTROL_OPCODES))
        payload = message_payload(fdp, opcode)
        key = fdp.ConsumeBytes(4).ljust(4, b"\0")
        if opcode in CONTROL_OPCODES:
            stream.append(to_client_frame(ws.build_frame(opcode, payload), key, True, opcode))
            expected.append((opcode, payload))
        else:
            stream.extend(data_frames(fdp, opcode, payload, key))
            expected.append((opcode, payload.decode() if opcode == ws.OP_TEXT else payload))
    if fdp.ConsumeBool():
        code = fdp.PickValueInList([1000, 1001, 1003, 1011, 3000, 4999])
        reason = fdp.ConsumeUnicodeNoSurrogates(30)
        while len(reason.encode()) > 123:
            reason = reason[:-1]
        close = ws.build_frame(ws.OP_CLOSE, ws.close_payload(code, reason))
        stream.append(to_client_frame(close, b"\x01\x02\x03\x04", True, ws.OP_CLOSE))
        expected.append((ws.OP_CLOSE, (code, reason)))
    data = b"".join(stream)
    parser = ws.FrameParser()
    events = feed_in_pieces(parser, data, split_points(fdp, len(data)))
    assert events == expected, (events[:3], expected[:3])
    assert parser.error_code == 0, parser.error_reason


@atheris.instrument_func
def TestOneInput(data):
    fdp = atheris.FuzzedDataProvider(data)
    if fdp.ConsumeBool():
        raw_mode(fdp)
    else:
        roundtrip_mode(fdp)


def main():
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
