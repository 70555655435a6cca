"""Replay gunicorn's request corpus against a real fastcore server.

How this works
--------------
The corpus (``gunicorn_corpus``) is fetched from the pinned gunicorn sdist
on PyPI at test time. One server runs for the module: the echo app of
``replay`` (every method, every path, answered ``"<METHOD> <url>"``). Each
case is sent whole on a fresh connection, the client half-closes, and what
comes back until the server closes is cut into responses.

A response is a *framing refusal* when it is one of the transport-level
answers of SPEC §6 (the exact 400 "Client Error" or 431 bodies); any other
response is an *application answer* (2xx, the 404 of an unrouted method or
target, a 415 for a body without a parser, ...).

* An invalid case (gunicorn's parser raises) is *rejected* when its last
  response is a framing refusal, or when no response came at all (the
  message never completed). Otherwise fastcore accepted it.
* A valid case is expected to get one application answer per message, each
  2xx answer echoing the method and target gunicorn parsed, unless a rule
  of fastcore's own refuses one of its messages (``framing_rules`` and the
  SPEC's HTTP/1.1-needs-Host rule): then the messages before it are
  answered, that one gets a framing refusal or a close, and the connection
  ends.

Where fastcore and gunicorn differ, ``INVALID_ACCEPTED`` and
``VALID_REFUSED`` say why, case by case; ``test_gunicorn_corpus_summary``
fails when what happens differs from those tables in either direction, and
prints the counts (``docs/http-conformance.md`` explains each divergence).
Cases run with a non-default gunicorn setting (``cfg.set``) are replayed
under fastcore's defaults like every other.
"""
from __future__ import annotations

from collections import Counter

import pytest

from fastcore.errors import map_client_error
from tests import external
from tests.conftest import live_server
from tests.server.framing_rules import header_violation, target_violation
from tests.server.gunicorn_corpus import SDIST, GCase, load_corpus
from tests.server.replay import Answer, echo_app, exchange, split_responses

FRAMING_REFUSALS = {(status, body) for status, body, _ in
                    (map_client_error("malformed"), map_client_error("header_overflow"))}

_HEAD_LIMIT = ("fastcore limits the request line and header section together "
               "(max_header_size, 16 KiB by default, as Node), not ")

# Invalid for gunicorn, accepted by fastcore: why.
INVALID_ACCEPTED: dict[str, str] = {
    "invalid/006": _HEAD_LIMIT + "the request line alone (gunicorn: 4,094 bytes); "
                                 "this one is 4,1xx bytes",
    "invalid/007": _HEAD_LIMIT + "each field (gunicorn: 8,190 bytes)",
    "invalid/008": _HEAD_LIMIT + "each field (gunicorn: 8,190 bytes)",
    "invalid/009": _HEAD_LIMIT + "the number of fields (gunicorn: 100)",
    "invalid/011": "gunicorn run with limit_request_fields=2; " + _HEAD_LIMIT + "a field count",
    "invalid/012": "gunicorn run with limit_request_field_size=98; " + _HEAD_LIMIT
                   + "each field",
    "invalid/limit_header_default_01": _HEAD_LIMIT + "each field (gunicorn: 8,190 bytes)",
    "invalid/rfc9112_leading_crlf_02": "two empty lines before the request line are skipped "
                                       "(llhttp skips any number; RFC 9112 §2.2 asks to "
                                       "ignore at least one); gunicorn allows one",
}

# Valid for gunicorn, refused by fastcore, beyond the rules in framing_rules: why.
VALID_REFUSED: dict[str, str] = {
    "valid/024": "gunicorn run with limit_request_line=8200 and limit_request_field_size=8210; "
                 "the head is over fastcore's max_header_size (16 KiB): 431",
    "valid/040": "Transfer_Encoding and Content_Length are refused (a proxy may map them onto "
                 "framing headers); gunicorn's default drops such fields instead",
    "valid/099": "the file's body is 8,599 bytes under Content-Length: 17914, so the message "
                 "never completes (gunicorn's harness reads only what it is asked for)",
    "valid/compat_obs_fold": "obs-fold is refused (RFC 9112 §5.2, SPEC §9); gunicorn allows "
                             "it only with permit_obsolete_folding",
    "valid/rfc9112_smuggle_gzip_chunked_01": "Transfer-Encoding: gzip, chunked: fastcore "
                                             "decodes no transfer coding but chunked, so it "
                                             "refuses the request rather than hand the handler "
                                             "a body still coded (RFC 9112 §6.1)",
    "valid/rfc9112_smuggle_te_identity_chunked_01": "Transfer-Encoding: identity, chunked: "
                                                    "identity is no transfer coding (RFC 9112 "
                                                    "§7); refused as any coding but chunked",
    "valid/pp_01": "PROXY protocol v1 preamble: fastcore does not speak the PROXY protocol",
    "valid/pp_04": "PROXY protocol v2 preamble: fastcore does not speak the PROXY protocol",
    "valid/pp_05": "PROXY protocol v2 preamble: fastcore does not speak the PROXY protocol",
}


def _load() -> list[GCase]:
    try:
        return load_corpus(external.fetch_sdist(*SDIST, "tests/requests"))
    except (pytest.skip.Exception, pytest.fail.Exception) as exc:  # at collection: report later
        _load.problem = str(exc)
        return []


CASES = _load()


@pytest.fixture(autouse=True)
def corpus_present():
    if not CASES:
        external.missing(getattr(_load, "problem", "gunicorn's corpus is empty"))


@pytest.fixture(scope="module")
def server():
    with live_server(echo_app()) as running:
        yield running


def is_refusal(answer: Answer) -> bool:
    return (answer.status, answer.body) in FRAMING_REFUSALS


def own_rule(case: GCase) -> tuple[int, str] | None:
    """(index, reason) of the first message of a valid case fastcore's rules refuse."""
    for i, msg in enumerate(case.messages):
        version = "%d.%d" % msg.version
        names = [name.lower() for name, _ in msg.headers]
        if version == "1.1" and "host" not in names:
            return i, "HTTP/1.1 without Host"
        reason = target_violation(msg.method, msg.uri) or header_violation(
            version, msg.headers, msg.trailers)
        if reason:
            return i, reason
    return None


def outcome(server, case: GCase) -> tuple[str, str]:
    """("rejected" | "accepted", detail) for an invalid case; for a valid one
    ("as expected" | "refused" | "wrong", detail)."""
    received, closed = exchange(server, case.raw)
    head_only = [m.method == "HEAD" for m in case.messages]
    answers, rest = split_responses(received, head_only)
    detail = "received %r%s" % (received[:300], "" if closed else " (no close)")
    if not case.valid:
        if not answers or is_refusal(answers[-1]):
            return "rejected", detail
        return "accepted", detail
    refused_at = own_rule(case)
    expected = refused_at[0] if refused_at else len(case.messages)
    app = [a for a in answers if not is_refusal(a)]
    if len(app) < expected or any(is_refusal(a) for a in answers[:expected]):
        return "refused", detail
    for answer, msg in zip(app, case.messages):
        if 200 <= answer.status < 300 and msg.method != "HEAD" and \
                answer.body != ("%s %s" % (msg.method, msg.uri)).encode():
            return "wrong", "echo %r for %s %s; %s" % (answer.body, msg.method, msg.uri, detail)
    if refused_at and (len(app) > expected or not closed):
        return "wrong", "a message fastcore must refuse (%s) was served; %s" % (
            refused_at[1], detail)
    return "as expected", detail


def _ids(cases):
    return [c.name for c in cases] or ["corpus-missing"]


@pytest.mark.parametrize("case", CASES or [None], ids=_ids(CASES))
def test_gunicorn_case(server, case):
    fate, detail = outcome(server, case)
    if case.valid:
        if case.name in VALID_REFUSED:
            assert fate == "refused", "listed as refused, but %s: %s" % (fate, detail)
        else:
            assert fate == "as expected", detail
    elif case.name in INVALID_ACCEPTED:
        assert fate == "accepted", "listed as accepted, but rejected now: " + detail
    else:
        assert fate == "rejected", "gunicorn raises %s; fastcore %s" % (case.error, detail)
    follow_up, _ = exchange(server, b"GET /after HTTP/1.1\r\nHost: t\r\n\r\n")
    assert split_responses(follow_up, [])[0][0].status == 200, "server stopped serving"


def test_gunicorn_corpus_summary(capsys):
    invalid = [c for c in CASES if not c.valid]
    valid = [c for c in CASES if c.valid]
    own = Counter(own_rule(c)[1] for c in valid if own_rule(c))
    with capsys.disabled():
        print("\ngunicorn %s corpus: %d invalid cases, %d rejected, %d accepted (listed)"
              % (SDIST[1], len(invalid), len(invalid) - len(INVALID_ACCEPTED),
                 len(INVALID_ACCEPTED)))
        print("  %d valid cases, %d refused by fastcore's own rules %s, %d more refused (listed)"
              % (len(valid), sum(own.values()), dict(own), len(VALID_REFUSED)))
    names = {c.name for c in CASES}
    assert set(INVALID_ACCEPTED) <= names and set(VALID_REFUSED) <= names
    assert not set(INVALID_ACCEPTED) & {c.name for c in valid}
