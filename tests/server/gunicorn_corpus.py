"""Read gunicorn's request corpus (``tests/requests/`` of its sdist on PyPI).

The corpus is fetched at test time (``tests.external.fetch_sdist``) into
``.cache/gunicorn-<version>/``; nothing of it is kept in this repository.

Format, as gunicorn's own harness reads it:

1. ``valid/NAME.http`` and ``invalid/NAME.http`` hold one or more raw
   requests, written with visible escapes: real newlines are layout and are
   dropped; ``\\r\\n``, ``\\n``, ``\\t``, ``\\0`` and ``\\xHH`` stand for those bytes.
2. ``NAME.py`` beside it says what gunicorn's parser makes of it:
   ``request = <ExceptionClass>`` for an invalid case, or ``request = {...}``
   (a list of such dicts for several messages) with ``method``, ``uri``,
   ``version``, ``headers`` and ``body`` for a valid one. ``cfg.set(name,
   value)`` lines run that case with a non-default gunicorn setting.

The ``.py`` files are Python written for gunicorn's harness; they are read
here with ``ast`` and never executed (nor is gunicorn imported).
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

SDIST = ("gunicorn", "27.0.1")

_HEX = re.compile(rb"\\x([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Expected:
    """One message gunicorn's parser returns for a valid case."""

    method: str
    uri: str
    version: tuple
    headers: tuple        # ((NAME, value), ...) as gunicorn reports them
    trailers: tuple = ()


@dataclass(frozen=True)
class GCase:
    name: str             # "valid/001", "invalid/chunked_07"
    raw: bytes
    error: str | None     # the exception gunicorn raises (invalid cases), else None
    messages: tuple = ()  # Expected, for valid cases
    config: dict = field(default_factory=dict)  # non-default gunicorn settings

    @property
    def valid(self) -> bool:
        return self.error is None


def decode_http(data: bytes) -> bytes:
    """The bytes a ``.http`` file stands for."""
    data = data.replace(b"\n", b"").replace(b"\\r\\n", b"\r\n")
    data = data.replace(b"\\0", b"\0").replace(b"\\n", b"\n").replace(b"\\t", b"\t")
    data = _HEX.sub(lambda m: bytes([int(m.group(1), 16)]), data)
    if b"\\" in data:
        raise ValueError("an escape this reader does not know")
    return data


def _value(node: ast.AST, names: dict):
    """A literal, where ``uri("...")`` stands for its string argument and a name
    for what an earlier line of the file assigned to it."""
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "uri":
        return ast.literal_eval(node.args[0])
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Dict):
        return {_value(k, names): _value(v, names) for k, v in zip(node.keys, node.values)}
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_value(item, names) for item in node.elts]
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None  # an expression the replay does not need (a body built in code)


def _expected(message: dict) -> Expected:
    return Expected(message["method"], message["uri"], tuple(message["version"]),
                    tuple(tuple(h) for h in message.get("headers") or ()),
                    tuple(tuple(t) for t in message.get("trailers") or ()))


def read_expectation(source: str) -> tuple[str | None, tuple, dict]:
    """(exception name or None, expected messages, non-default config) of a ``.py``."""
    error, messages, config, names = None, (), {}, {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            call = node.value
            if getattr(call.func, "attr", "") == "set" \
                    and getattr(call.func.value, "id", "") == "cfg":
                config[ast.literal_eval(call.args[0])] = ast.literal_eval(call.args[1])
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name == "request" and isinstance(node.value, ast.Name) \
                    and node.value.id not in names:
                error = node.value.id
            elif name == "request":
                value = _value(node.value, names)
                messages = tuple(map(_expected, value if isinstance(value, list) else [value]))
            else:
                names[name] = _value(node.value, names)
    return error, messages, config


def load_corpus(root: Path) -> list[GCase]:
    """Every case under ``root`` (the sdist's ``tests/requests``), sorted by name."""
    cases = []
    for kind in ("valid", "invalid"):
        for http in sorted((root / kind).glob("*.http")):
            error, messages, config = read_expectation(http.with_suffix(".py").read_text())
            if kind == "invalid" and error is None:
                raise ValueError("%s: an invalid case without an exception" % http)
            cases.append(GCase("%s/%s" % (kind, http.stem), decode_http(http.read_bytes()),
                               error if kind == "invalid" else None, messages, config))
    return cases
