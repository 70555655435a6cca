"""Read the llhttp request corpus (``shared/conformance/llhttp-request``).

How this works
--------------
Each ``*.md`` file (README.md excluded) is a list of cases. A case is a
``<!-- meta={...} -->`` marker, then a fenced ``http`` block holding the
request bytes, then a fenced ``log`` block with what llhttp's test harness
printed while parsing them. The title of a case is the nearest heading above
its marker.

The ``http`` block is turned into bytes by the same rules as llhttp's
``test/md-test.ts``, applied in this order:

1. the block's final newline is dropped;
2. a backslash at the end of a line joins it to the next line (no newline);
3. every remaining newline becomes CRLF;
4. the escapes ``\\r``, ``\\n``, ``\\t``, ``\\f``, then ``\\x<hex>`` (greedy)
   and ``\\<1-3 octal digits>`` become the characters they name;
5. ``${...}`` would be JavaScript evaluated by the harness; the corpus holds
   none, so one found is an error here rather than a silent guess.

The resulting string is encoded as UTF-8, as the harness does: the log's
offsets count ``\\xff`` and ``ü`` as two bytes each.

The ``log`` block gives the expected outcome: an ``error code=N`` line means
llhttp refused the input, except codes 21-23 (``HPE_PAUSED``,
``HPE_PAUSED_UPGRADE``, ``HPE_PAUSED_H2_UPGRADE``), which are the parser
stopping after an accepted message that switches protocols. Each message's
method, target, HTTP version, header fields, trailers and body size are read
from the log as well, so callers can apply rules stricter than llhttp's (for
example a required Host header) without parsing the bytes a second time.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

# The corpus lives in shared/, beside the repository (FASTCORE_CONFORMANCE_DIR overrides).
CORPUS_DIR = Path(os.environ.get(
    "FASTCORE_CONFORMANCE_DIR",
    Path(__file__).resolve().parents[3] / "shared" / "conformance" / "llhttp-request"))

# llhttp error codes that are pauses, not rejections (llhttp.h, llhttp_errno).
PAUSE_CODES = frozenset({21, 22, 23})

_META = re.compile(r"<!--\s*meta=(\{.*?\})\s*-->")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$")
_ESCAPES = re.compile(r"\\r|\\n|\\t|\\f")
_ESCAPE_CHARS = {"\\r": "\r", "\\n": "\n", "\\t": "\t", "\\f": "\f"}
_HEX = re.compile(r"\\x([0-9a-fA-F]+)")
_OCTAL = re.compile(r"\\([0-7]{1,3})")
_LOG_SPAN = re.compile(r'^off=\d+ len=(\d+) span\[(\w+)\]="(.*)"$')
_LOG_HEADERS_DONE = re.compile(r"^off=\d+ headers complete method=\d+ v=(\d+)/(\d+) ")
_LOG_ERROR = re.compile(r'^off=\d+ error code=(\d+) reason="(.*)"$')


@dataclass(frozen=True)
class Message:
    """One request as llhttp's log describes it."""

    method: str = ""
    url: str = ""
    version: str | None = None        # "1.1", "0.9"...; None if the head never completed
    headers: tuple = ()               # ((lower-case name, value), ...) in order
    trailers: tuple = ()              # the same, for fields after a chunked body
    body_size: int = 0                # body bytes llhttp reported
    complete: bool = False

    @property
    def header_names(self) -> tuple:
        return tuple(name for name, _ in self.headers)

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (lower-case), or None."""
        return next((value for key, value in self.headers if key == name), None)


@dataclass(frozen=True)
class Case:
    file: str
    title: str
    line: int                         # 1-based line of the meta marker
    meta: dict
    raw: bytes
    log: str
    messages: tuple                   # of Message, in order
    error_code: int | None            # None when the log has no ``error code=``
    error_reason: str | None

    @property
    def rejected(self) -> bool:
        """llhttp refused the input (a pause after an upgrade is no refusal)."""
        return self.error_code is not None and self.error_code not in PAUSE_CODES

    @property
    def expected(self) -> str:
        return "reject" if self.rejected else "accept"

    @property
    def completed(self) -> int:
        """How many messages llhttp reported complete."""
        return sum(1 for m in self.messages if m.complete)


def decode_http_block(text: str) -> bytes:
    """The request bytes of an ``http`` block (md-test.ts rules, see above)."""
    if text.endswith("\n"):
        text = text[:-1]
    text = re.sub(r"\\(\r\n|\r|\n)", "", text)
    text = re.sub(r"\r\n|\r|\n", "\r\n", text)
    text = _ESCAPES.sub(lambda m: _ESCAPE_CHARS[m.group(0)], text)
    text = _HEX.sub(lambda m: chr(int(m.group(1), 16)), text)
    text = _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), text)
    if "${" in text:
        raise ValueError("inline JavaScript (${...}) is not supported: %r" % text)
    return text.encode("utf-8")


def parse_log(log: str) -> tuple[tuple, int | None, str | None]:
    """``(messages, error_code, error_reason)`` from a ``log`` block."""
    messages: list[dict] = []
    code = reason = None
    for line in log.splitlines():
        current = messages[-1] if messages else None
        if line.endswith(" message begin"):
            messages.append({"method": "", "url": "", "version": None, "headers": [],
                             "trailers": [], "body_size": 0, "complete": False})
        elif current is None:
            pass
        elif line.endswith(" message complete"):
            current["complete"] = True
        elif m := _LOG_SPAN.match(line):
            _add_span(current, m.group(2), int(m.group(1)), m.group(3))
        elif m := _LOG_HEADERS_DONE.match(line):
            current["version"] = "%s.%s" % m.groups()
        if m := _LOG_ERROR.match(line):
            code, reason = int(m.group(1)), m.group(2)
    built = tuple(Message(d["method"], d["url"], d["version"], tuple(map(tuple, d["headers"])),
                          tuple(map(tuple, d["trailers"])), d["body_size"], d["complete"])
                  for d in messages)
    return built, code, reason


def _add_span(message: dict, kind: str, size: int, text: str) -> None:
    # A value may come in several spans (obs-fold): they belong to the last field.
    # Fields seen once the head is complete are trailers.
    fields = message["headers"] if message["version"] is None else message["trailers"]
    if kind == "header_field":
        fields.append([text.lower(), ""])
    elif kind == "header_value" and fields:
        fields[-1][1] += text
    elif kind == "body":
        message["body_size"] += size
    elif kind in ("method", "url"):
        message[kind] += text


def _fenced_blocks(lines: list[str], start: int) -> tuple[dict, int]:
    """The ``http`` and ``log`` blocks after line ``start``, and the line after them."""
    blocks: dict[str, str] = {}
    i = start
    while i < len(lines) and len(blocks) < 2:
        fence = lines[i].strip()
        if fence.startswith("```") and fence[3:] in ("http", "log"):
            end = lines.index("```", i + 1)
            blocks[fence[3:]] = "".join(line + "\n" for line in lines[i + 1:end])
            i = end
        elif _META.search(lines[i]) or _HEADING.match(lines[i]):
            break
        i += 1
    return blocks, i


def parse_file(path: Path) -> list[Case]:
    """Every case of one corpus file, in file order."""
    lines = path.read_text(encoding="utf-8").split("\n")
    cases: list[Case] = []
    title = path.stem
    i = 0
    while i < len(lines):
        heading = _HEADING.match(lines[i])
        meta = _META.search(lines[i])
        if heading:
            title = heading.group(1)
        if not meta:
            i += 1
            continue
        blocks, nxt = _fenced_blocks(lines, i + 1)
        if set(blocks) != {"http", "log"}:
            raise ValueError("%s:%d: case without http and log blocks" % (path.name, i + 1))
        messages, code, reason = parse_log(blocks["log"])
        cases.append(Case(path.name, title, i + 1, json.loads(meta.group(1)),
                          decode_http_block(blocks["http"]), blocks["log"],
                          messages, code, reason))
        i = nxt
    return cases


def load_corpus(directory: Path = CORPUS_DIR) -> list[Case]:
    """All cases of all files (README.md excluded), sorted by file name."""
    cases: list[Case] = []
    for path in sorted(directory.glob("*.md")):
        if path.name != "README.md":
            cases.extend(parse_file(path))
    return cases


def skip_reason(case: Case) -> str | None:
    """Why a case does not exercise llhttp's default strict request parser, or None.

    ``noScan`` is no reason: it only stops the harness from also feeding the
    input split at every byte; the parser runs in its default mode.
    """
    ty = case.meta.get("type")
    if ty == "request-finish":
        return "tests llhttp_finish() at EOF, not parsing"
    if ty != "request":
        return "non-default parser mode %r" % ty
    if "pause" in case.meta:
        return "harness pauses the parser in a callback"
    if case.meta.get("skipBody"):
        return "harness tells the parser to skip the body"
    extra = set(case.meta) - {"type", "noScan"}
    if extra:
        return "unknown harness options %s" % sorted(extra)
    return None
