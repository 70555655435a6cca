"""Replay llhttp's request corpus against a real fastcore server.

How this works
--------------
``llhttp_corpus`` turns the corpus into cases: raw bytes, plus what llhttp's
strict parser reported for each message (method, target, version, headers,
body size, complete or not) and whether it refused the input. One server
runs for the whole module with a catch-all route answering 200 to every
method fastcore routes. Each case gets a fresh connection: its bytes are
sent whole, the client half-closes, and everything the server sends until it
closes is split into responses.

``plan_case`` gives each message one expected fate, in message order, and
stops at the first message that cannot be answered:

* ``ok``          complete and valid: a 2xx answer echoing method and target;
* ``not_found``   complete, but the router cannot take it (a method fastcore
                  does not route, or a target that is not origin-form): the
                  exact default 404 body (SPEC §5), showing method and target
                  were parsed;
* ``media_type``  complete, with a body in a media type fastcore has no
                  parser for (only JSON and text/plain are built in): 415
                  ``FC_ERR_CTP_INVALID_MEDIA_TYPE`` (SPEC §6);
* ``spec``        llhttp accepts it but the SPEC refuses it (DESIGN, parser
                  choice: HTTP/1.1 without Host, an HTTP major other than 1,
                  a request line without a version): 400 or a bare close;
* ``reject``      llhttp refuses it: 400 or a bare close;
* ``partial``     llhttp saw no end to it (incomplete, or paused for a
                  protocol switch) and then the client went away: no 2xx.

After the answered messages at most one more response may come, and only the
exact SPEC §6 "malformed" 400; then the connection must close. After every
case a plain GET on a new connection must get its 200, so no case can leave
the server broken.

Cases where llhttp stops at a protocol switch (CONNECT, Upgrade, the HTTP/2
preface) are also sent without the client's EOF: fastcore switches to no
other protocol, so it must close the connection by itself and say so.

Each case counts in one kind: ``accept`` (all answered 2xx),
``accept-app-refused`` (parsed, then refused by the router or the body
parser), ``accept-unfinished`` (llhttp completed no message), ``reject``,
``spec-stricter``; ``test_llhttp_corpus_counts`` pins the totals.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import pytest

from fastcore.app import SUPPORTED_METHODS
from tests import external
from tests.conftest import get, live_server
from tests.server.framing_rules import header_violation, target_violation
from tests.server.replay import READ_TIMEOUT, Answer, echo_app, exchange, split_responses
from tests.server.llhttp_corpus import (CORPUS_DIR, PAUSE_CODES, Case, Message, load_corpus,
                                        skip_reason)

BAD_REQUEST_BODY = b'{"error":"Bad Request","message":"Client Error","statusCode":400}'

CASES = load_corpus()
MISSING = ("the llhttp request corpus is not beside the repository: no *.md cases in %s "
           "(set FASTCORE_CONFORMANCE_DIR to its folder)" % CORPUS_DIR) if not CASES else None
STRICT = [c for c in CASES if skip_reason(c) is None]
SKIPPED = [c for c in CASES if skip_reason(c) is not None]

# Expected totals: a corpus that shrinks or grows must be looked at, not absorbed.
EXPECTED_COUNTS = {"replayed": 120, "skipped": 46}
EXPECTED_KINDS = {"accept": 6, "accept-app-refused": 15, "accept-unfinished": 1,
                  "reject": 55, "spec-stricter": 43}

# Cases where fastcore itself is wrong; each is expected to fail until fixed
# (strict xfail), and its entry must then be removed. Keyed by test, then case.
KNOWN_BUGS: dict[str, dict[str, str]] = {"replay": {}, "upgrade": {}}


def case_id(case: Case) -> str:
    return "%s:%d %s" % (case.file.removesuffix(".md"), case.line, case.title)


# --- what fastcore must do with each message -----------------------------------

def spec_violation(msg: Message) -> str | None:
    """Why the SPEC makes fastcore refuse a head llhttp accepts, or None."""
    version = msg.version
    if version is None:
        return None
    if version == "0.9":
        return "request line without a version"
    if not version.startswith("1."):
        return "HTTP major version other than 1"
    if version == "1.1" and "host" not in msg.header_names:
        return "HTTP/1.1 without Host"
    return target_violation(msg.method, msg.url) or header_violation(
        version, msg.headers, msg.trailers if msg.complete else ())


def _has_body_parser(content_type: str | None) -> bool:
    if content_type is None:
        return False
    essence = content_type.split(";")[0].strip().lower()
    return essence in ("application/json", "text/plain") or essence.endswith("+json")


def _complete_fate(msg: Message) -> str:
    if msg.method not in SUPPORTED_METHODS or not msg.url.startswith("/"):
        return "not_found"
    if msg.body_size and not _has_body_parser(msg.header("content-type")):
        return "media_type"
    return "ok"


@dataclass
class Plan:
    fates: list = field(default_factory=list)    # one per message, see module doc
    reasons: list = field(default_factory=list)  # why, for ``spec`` fates

    @property
    def answered(self) -> list:
        return [f for f in self.fates if f in ("ok", "not_found", "media_type")]

    @property
    def kind(self) -> str:
        if "spec" in self.fates:
            return "spec-stricter"
        if "reject" in self.fates:
            return "reject"
        if "not_found" in self.fates or "media_type" in self.fates:
            return "accept-app-refused"
        return "accept" if self.answered else "accept-unfinished"


def plan_case(case: Case) -> Plan:
    """The fate of each message of ``case`` on a fastcore server."""
    plan = Plan()
    for i, msg in enumerate(case.messages):
        llhttp_rejected = case.rejected and not msg.complete and i == len(case.messages) - 1
        reason = spec_violation(msg)
        if llhttp_rejected:
            plan.fates.append("reject")
        elif reason is not None:
            plan.fates.append("spec")
            plan.reasons.append(reason)
        elif not msg.complete:
            plan.fates.append("partial")
        else:
            plan.fates.append(_complete_fate(msg))
            continue
        return plan
    if case.rejected:
        # The error came after the last complete message (e.g. data after close).
        plan.fates.append("reject")
    return plan


PLANS = {case_id(c): plan_case(c) for c in STRICT}


# --- the server --------------------------------------------------------------------

@pytest.fixture(autouse=True)
def corpus_present():
    if MISSING:
        external.missing(MISSING)


@pytest.fixture(scope="module")
def server():
    with live_server(echo_app()) as running:
        yield running


# --- checks --------------------------------------------------------------------------

def _assert_bad_request(answer: Answer, where: str) -> None:
    assert (answer.status, answer.body) == (400, BAD_REQUEST_BODY), where
    assert answer.headers.get("connection") == "close", where


def _check_answer(fate: str, answer: Answer, msg: Message, where: str) -> None:
    where = "%s: got %d %r" % (where, answer.status, answer.body)
    if fate == "ok":
        assert 200 <= answer.status < 300, where
        if msg.method != "HEAD":
            assert answer.body == ("%s %s" % (msg.method, msg.url)).encode(), where
    elif fate == "not_found":
        expected = '{"message":"Route %s:%s not found","error":"Not Found","statusCode":404}' % (
            msg.method, msg.url)
        assert (answer.status, answer.body) == (404, expected.encode()), where
    else:
        assert answer.status == 415, where
        assert b'"code":"FC_ERR_CTP_INVALID_MEDIA_TYPE"' in answer.body, where


def _params(test: str, cases: list) -> list:
    if MISSING:  # one placeholder, so the run says why (corpus_present skips or fails it)
        return [pytest.param(None, id="corpus-missing")]
    params = []
    for case in cases:
        cid = case_id(case)
        reason = KNOWN_BUGS[test].get(cid)
        marks = (pytest.mark.xfail(strict=True, reason=reason),) if reason else ()
        params.append(pytest.param(case, id=cid, marks=marks))
    return params


# llhttp stops at these: the bytes after the message belong to another protocol.
UPGRADE_CASES = [c for c in STRICT if c.error_code in PAUSE_CODES]


@pytest.mark.parametrize("case", _params("replay", STRICT))
def test_llhttp_case_answered_per_spec(server, case):
    plan = PLANS[case_id(case)]
    received, closed = exchange(server, case.raw)
    # Only answers to accepted HEADs lack a body; a 400 always carries one.
    head_only = [m.method == "HEAD" for m in case.messages[:len(plan.answered)]]
    answers, rest = split_responses(received, head_only)
    context = "fates %s; received %r" % (plan.fates, received)
    assert closed, "no close within %.0f s of the client's EOF; %s" % (READ_TIMEOUT, context)
    assert rest == b"", "unframed bytes; " + context
    assert len(answers) >= len(plan.answered), context
    for i, fate in enumerate(plan.answered):
        _check_answer(fate, answers[i], case.messages[i], "message %d (%s)" % (i + 1, fate))
    extra = answers[len(plan.answered):]
    assert len(extra) <= 1, "more than one answer after the last valid message; " + context
    for answer in extra:
        _assert_bad_request(answer, "the refused message; " + context)
    follow_up, _ = exchange(server, get("/after"))
    assert [a.status for a in split_responses(follow_up, [])[0]] == [200], "server stopped serving"


@pytest.mark.parametrize("case", _params("upgrade", UPGRADE_CASES))
def test_llhttp_upgrade_not_switched_closes(server, case):
    # No protocol switch is offered (no WebSocket plugin here), so once the
    # message before the switch point is answered the connection must end, and
    # the answer must say so (RFC 9112 §9.6). The client does not half-close.
    received, closed = exchange(server, case.raw, half_close=False, timeout=2.0)
    answers, _ = split_responses(received, [m.method == "HEAD" for m in case.messages])
    assert closed, "connection left open; received %r" % received
    assert not answers or answers[-1].headers.get("connection") == "close", received


def test_llhttp_corpus_counts(capsys):
    kinds = Counter(plan.kind for plan in PLANS.values())
    spec_reasons = Counter(r for plan in PLANS.values() for r in plan.reasons)
    skipped = Counter(skip_reason(c) for c in SKIPPED)
    with capsys.disabled():
        print("\nllhttp corpus: %d cases, %d replayed, %d skipped"
              % (len(CASES), len(STRICT), len(SKIPPED)))
        print("  replayed by kind: %s" % dict(sorted(kinds.items())))
        print("  SPEC stricter than llhttp: %s" % dict(sorted(spec_reasons.items())))
        for reason, n in sorted(skipped.items()):
            print("  skipped %3d: %s" % (n, reason))
        print("  upgrade/pause cases also replayed without EOF: %d" % len(UPGRADE_CASES))
        for test, bugs in KNOWN_BUGS.items():
            for cid, reason in bugs.items():
                print("  xfail [%s] %s: %s" % (test, cid, reason))
    assert {"replayed": len(STRICT), "skipped": len(SKIPPED)} == EXPECTED_COUNTS
    assert dict(kinds) == {k: v for k, v in EXPECTED_KINDS.items() if v}
    for bugs in KNOWN_BUGS.values():
        assert set(bugs) <= set(PLANS), "a known bug names no replayed case"


def test_llhttp_corpus_bytes_match_log_spans():
    # The decoded bytes must be what llhttp parsed: every span the log quotes
    # sits at its offset (with the escapes the harness prints).
    span = re.compile(r'^off=(\d+) len=(\d+) span\[\w+\]="(.*)"$')
    unescape = {"\\t": "\t", "\\f": "\f", "\\r": "\r", "\\n": "\n"}
    checked = 0
    for case in CASES:
        for line in case.log.splitlines():
            m = span.match(line)
            if not m:
                continue
            off, n = int(m.group(1)), int(m.group(2))
            text = re.sub(r"\\[tfrn]", lambda e: unescape[e.group(0)], m.group(3))
            assert case.raw[off:off + n] == text.encode("utf-8"), (case_id(case), line)
            checked += 1
    assert checked > 1000
