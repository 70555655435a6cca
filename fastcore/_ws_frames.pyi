"""Type information for fastcore/_ws_frames.pyx: RFC 6455 frames, server side, sans-I/O."""

OP_CONTINUATION: int
OP_TEXT: int
OP_BINARY: int
OP_CLOSE: int
OP_PING: int
OP_PONG: int
CLOSE_NORMAL: int
CLOSE_NO_STATUS: int
CLOSE_PROTOCOL_ERROR: int
CLOSE_INVALID_DATA: int
CLOSE_TOO_BIG: int

def is_valid_close_code(code: int) -> bool:
    """Whether a peer may send ``code`` in a close frame (RFC 6455 §7.4)."""

class FrameParser:
    """Parses what a client sends: ``feed(data)`` returns the events of the frames
    it completes; the first rule broken sets ``error_code`` and stops it."""
    max_message_size: int
    error_code: int
    error_reason: str
    stopped: bool
    def __init__(self, max_message_size: int = 1048576) -> None: ...
    def feed(self, data: bytes | bytearray | memoryview) -> list[tuple[int, object]]:
        """``(OP_TEXT, str)``, ``(OP_BINARY, bytes)``, ``(OP_PING, bytes)``,
        ``(OP_PONG, bytes)``, ``(OP_CLOSE, (code, reason))``, in order."""

def build_frame(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked server frame carrying ``payload``."""

def close_payload(code: int, reason: str = "") -> bytes:
    """The payload of a close frame: the code, big-endian, then the UTF-8 reason."""
