"""fastcore._ws_frames: RFC 6455 frames, checked against the websockets library's
own frame code (frames it serializes are parsed here; frames built here are
parsed by it) and against SPEC §11's close codes."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, Side, State

from fastcore._ws_frames import (CLOSE_INVALID_DATA, CLOSE_NO_STATUS, CLOSE_PROTOCOL_ERROR,
                                 CLOSE_TOO_BIG, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG,
                                 OP_TEXT, FrameParser, build_frame, close_payload,
                                 is_valid_close_code)


def client(opcode: Opcode, data: bytes, fin: bool = True) -> bytes:
    """A masked frame as a client sends it, serialized by websockets."""
    return Frame(opcode, data, fin).serialize(mask=True)


def raw(first: int, second: int, rest: bytes = b"") -> bytes:
    """A frame head written by hand, for what websockets refuses to serialize."""
    return bytes([first, second]) + rest


def feed_all(parser: FrameParser, data: bytes, step: int = 0) -> list:
    if not step:
        return parser.feed(data)
    events = []
    for i in range(0, len(data), step):
        events += parser.feed(data[i:i + step])
    return events


# --- messages, differential ---------------------------------------------------------

messages = st.lists(st.one_of(
    st.tuples(st.just(OP_TEXT), st.text(max_size=300)),
    st.tuples(st.just(OP_BINARY), st.binary(max_size=70000)),
    st.tuples(st.just(OP_PING), st.binary(max_size=125)),
), max_size=6)


@settings(max_examples=150, deadline=None)
@given(messages, st.integers(min_value=1, max_value=4), st.sampled_from([0, 1, 7, 4096]))
def test_messages_serialized_by_websockets_parse_back(items, pieces, step):
    wire = b""
    for opcode, data in items:
        payload = data.encode() if opcode == OP_TEXT else data
        if opcode == OP_PING:
            wire += client(Opcode.PING, payload)
            continue
        # Split into `pieces` fragments; a ping between fragments is allowed.
        cuts = [len(payload) * k // pieces for k in range(pieces + 1)]
        for k in range(pieces):
            part = payload[cuts[k]:cuts[k + 1]]
            wire += client(Opcode(opcode) if k == 0 else Opcode.CONT, part, fin=k == pieces - 1)
            if k == 0 and pieces > 1:
                wire += client(Opcode.PING, b"mid")
    parser = FrameParser(max_message_size=1 << 20)
    events = feed_all(parser, wire, step)
    expected = []
    for opcode, data in items:
        if opcode != OP_PING and pieces > 1:
            expected.append((OP_PING, b"mid"))
        expected.append((opcode, data))
    assert events == expected
    assert parser.error_code == 0


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([OP_TEXT, OP_BINARY, OP_PING, OP_PONG]),
       st.binary(max_size=70000))
def test_frames_built_here_parse_in_websockets(opcode, payload):
    if opcode in (OP_PING, OP_PONG):
        payload = payload[:125]
    if opcode == OP_TEXT:
        payload = payload.decode("utf-8", "replace").encode()
    peer = Protocol(Side.CLIENT, state=State.OPEN, max_size=None)
    peer.receive_data(build_frame(opcode, payload))
    if opcode in (OP_TEXT, OP_BINARY):
        (event,) = peer.events_received()
        assert (event.opcode, event.data, event.fin) == (Opcode(opcode), payload, True)
    else:
        (event,) = peer.events_received()
        assert (event.opcode, event.data) == (Opcode(opcode), payload)


def test_one_byte_at_a_time_gives_the_same_events():
    wire = (client(Opcode.TEXT, "héllo".encode(), fin=False) + client(Opcode.CONT, b" w")
            + client(Opcode.BINARY, bytes(300)) + client(Opcode.CLOSE, close_payload(1000, "bye")))
    whole = FrameParser().feed(wire)
    assert feed_all(FrameParser(), wire, step=1) == whole == [
        (OP_TEXT, "héllo w"), (OP_BINARY, bytes(300)), (OP_CLOSE, (1000, "bye"))]


def test_utf8_split_across_fragments_is_valid():
    e_acute = "é".encode()
    wire = client(Opcode.TEXT, e_acute[:1], fin=False) + client(Opcode.CONT, e_acute[1:])
    assert FrameParser().feed(wire) == [(OP_TEXT, "é")]


def test_close_without_a_code_reads_as_1005_and_stops_the_parser():
    parser = FrameParser()
    assert parser.feed(client(Opcode.CLOSE, b"") + client(Opcode.TEXT, b"late")) == [
        (OP_CLOSE, (CLOSE_NO_STATUS, ""))]
    assert parser.stopped and parser.error_code == 0
    assert parser.feed(client(Opcode.TEXT, b"later")) == []


# --- violations and their close codes (SPEC §11) ------------------------------------

MASK = b"\x00\x00\x00\x00"
VIOLATIONS = {
    "unmasked frame": (raw(0x81, 0x02, b"hi"), CLOSE_PROTOCOL_ERROR),
    "rsv1 without an extension": (raw(0x81 | 0x40, 0x81, MASK + b"x"), CLOSE_PROTOCOL_ERROR),
    "rsv2": (raw(0x81 | 0x20, 0x81, MASK + b"x"), CLOSE_PROTOCOL_ERROR),
    "rsv3": (raw(0x81 | 0x10, 0x81, MASK + b"x"), CLOSE_PROTOCOL_ERROR),
    "unknown data opcode 3": (raw(0x83, 0x80, MASK), CLOSE_PROTOCOL_ERROR),
    "unknown control opcode 11": (raw(0x8B, 0x80, MASK), CLOSE_PROTOCOL_ERROR),
    "fragmented ping": (raw(0x09, 0x80, MASK), CLOSE_PROTOCOL_ERROR),
    "ping over 125 bytes": (raw(0x89, 0x80 | 126, b"\x00\x7e" + MASK + bytes(126)),
                            CLOSE_PROTOCOL_ERROR),
    "continuation without a message": (client(Opcode.CONT, b"x"), CLOSE_PROTOCOL_ERROR),
    "new message inside a fragmented one": (
        client(Opcode.TEXT, b"a", fin=False) + client(Opcode.TEXT, b"b"), CLOSE_PROTOCOL_ERROR),
    "64-bit length with the top bit set": (
        raw(0x82, 0x80 | 127, b"\x80" + bytes(7) + MASK), CLOSE_PROTOCOL_ERROR),
    "one-byte close payload": (client(Opcode.CLOSE, b"\x03"), CLOSE_PROTOCOL_ERROR),
    "close code 999": (client(Opcode.CLOSE, b"\x03\xe7"), CLOSE_PROTOCOL_ERROR),
    "close code 1005": (client(Opcode.CLOSE, b"\x03\xed"), CLOSE_PROTOCOL_ERROR),
    "close code 1012..2999 (2000)": (client(Opcode.CLOSE, b"\x07\xd0"), CLOSE_PROTOCOL_ERROR),
    "invalid UTF-8 in text": (client(Opcode.TEXT, b"\xff\xfe"), CLOSE_INVALID_DATA),
    "invalid UTF-8 over fragments": (client(Opcode.TEXT, b"\xe9", fin=False)
                                     + client(Opcode.CONT, b"x"), CLOSE_INVALID_DATA),
    "invalid UTF-8 in a close reason": (client(Opcode.CLOSE, b"\x03\xe8\xff"),
                                        CLOSE_INVALID_DATA),
}


@pytest.mark.parametrize("wire, code", VIOLATIONS.values(), ids=VIOLATIONS.keys())
@pytest.mark.parametrize("step", [0, 1])
def test_violation_sets_its_close_code_and_keeps_earlier_events(wire, code, step):
    parser = FrameParser()
    events = feed_all(parser, client(Opcode.TEXT, b"before") + wire + client(Opcode.TEXT, b"x"),
                      step)
    assert events == [(OP_TEXT, "before")]
    assert parser.error_code == code and parser.stopped and parser.error_reason
    assert parser.feed(client(Opcode.TEXT, b"after")) == []


@pytest.mark.parametrize("announced", [101, 70000, 1 << 40])
def test_message_over_the_limit_is_refused_from_its_header_alone(announced):
    parser = FrameParser(max_message_size=100)
    if announced < 126:
        head = raw(0x82, 0x80 | announced)
    elif announced < 65536:
        head = raw(0x82, 0x80 | 126, announced.to_bytes(2, "big"))
    else:
        head = raw(0x82, 0x80 | 127, announced.to_bytes(8, "big"))
    assert parser.feed(head + MASK) == []          # no payload sent at all
    assert parser.error_code == CLOSE_TOO_BIG


def test_fragments_count_towards_the_message_limit():
    parser = FrameParser(max_message_size=100)
    assert parser.feed(client(Opcode.BINARY, bytes(60), fin=False)) == []
    parser.feed(client(Opcode.CONT, bytes(60)))
    assert parser.error_code == CLOSE_TOO_BIG


def test_message_exactly_at_the_limit_is_accepted():
    parser = FrameParser(max_message_size=100)
    assert parser.feed(client(Opcode.BINARY, bytes(100))) == [(OP_BINARY, bytes(100))]


@pytest.mark.parametrize("code, allowed", [
    (999, False), (1000, True), (1003, True), (1004, False), (1005, False), (1006, False),
    (1007, True), (1011, True), (1012, False), (2999, False), (3000, True), (4999, True),
    (5000, False)])
def test_close_codes_a_peer_may_send(code, allowed):
    assert is_valid_close_code(code) is allowed
    parser = FrameParser()
    events = parser.feed(client(Opcode.CLOSE, close_payload(code, "r")))
    assert (events == [(OP_CLOSE, (code, "r"))]) is allowed
    assert (parser.error_code == CLOSE_PROTOCOL_ERROR) is not allowed


def test_close_reason_longer_than_a_control_frame_is_refused():
    assert len(close_payload(1000, "x" * 123)) == 125
    with pytest.raises(ValueError):
        close_payload(1000, "x" * 124)
