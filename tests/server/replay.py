"""Replaying raw request bytes against a real server, for the corpus tests.

``echo_app()`` answers every method fastcore routes, on every path, with
``"<METHOD> <url>"`` (an empty body for HEAD), so an answer shows what was
parsed. ``exchange`` sends bytes on a fresh connection, half-closes, and
reads until the server closes; ``split_responses`` cuts what came back into
Content-Length framed answers (every answer fastcore writes to these
requests is framed that way).
"""
from __future__ import annotations

import socket
from dataclasses import dataclass

import fastcore
from fastcore.app import SUPPORTED_METHODS

READ_TIMEOUT = 5.0


def _echo(request, reply):
    # A HEAD answer has no body; an empty one keeps its framing unambiguous.
    if request.method == "HEAD":
        return None
    return "%s %s" % (request.method, request.url)


def echo_app(**options) -> fastcore.App:
    app = fastcore.App(**options)
    app.route(method=sorted(SUPPORTED_METHODS), url="/*", handler=_echo)
    return app


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes


def split_responses(data: bytes, head_only: list) -> tuple[list, bytes]:
    """Cut ``data`` into Content-Length framed responses; return them and the rest.

    ``head_only[i]`` says response ``i`` answers a HEAD (no body follows its
    head). A response after one carrying ``Connection: close`` is still read:
    what the server wrote is what is checked.
    """
    answers: list[Answer] = []
    pos = 0
    while (end := data.find(b"\r\n\r\n", pos)) >= 0:
        lines = data[pos:end].decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        head_request = len(answers) < len(head_only) and head_only[len(answers)]
        size = 0 if head_request else int(headers.get("content-length", "0"))
        if len(data) < end + 4 + size:
            break
        answers.append(Answer(int(lines[0].split(" ")[1]), headers, data[end + 4:end + 4 + size]))
        pos = end + 4 + size
    return answers, data[pos:]


def exchange(server, raw: bytes, half_close: bool = True,
             timeout: float = READ_TIMEOUT) -> tuple[bytes, bool]:
    """Send ``raw``, half-close, read until the server closes (or time runs out).

    Returns what was received and whether the server closed in time.
    """
    sock = socket.create_connection((server.host, server.port), timeout=timeout)
    received = b""
    try:
        sock.sendall(raw)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        while chunk := sock.recv(65536):
            received += chunk
        return received, True
    except ConnectionResetError:
        return received, True
    except socket.timeout:
        return received, False
    finally:
        sock.close()
