"""Seed corpora for the fuzz targets, written under ``.cache/fuzz/<target>/``.

``python -m fuzz.seeds`` writes them (``.cache/`` is git-ignored); then

    python -m fuzz.http1 .cache/fuzz/http1 -max_total_time=60

starts from them. The http1 seeds are the requests of this app's routes,
the llhttp request corpus (``shared/conformance/llhttp-request`` beside the
repository, when present) and gunicorn's request corpus (when a test run has
already fetched it into ``.cache/``). Each seed is the raw bytes followed by
one zero byte: FuzzedDataProvider reads integers from the end of the input,
and a zero there means "no split points", so the seed is fed whole.
"""
import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "fuzz"
GUNICORN = ROOT / ".cache" / "gunicorn-27.0.1" / "tests" / "requests"

APP_REQUESTS = [
    b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /users/42?q=x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"POST /items HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
    b"Content-Length: 24\r\n\r\n{\"name\":\"pen\",\"qty\":3}  ",
    b"POST /items HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n5\r\n{\"nam\r\n9\r\ne\":\"pen\"}\r\n0\r\n\r\n",
    b"POST /items HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
    b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /hello HTTP/1.0\r\n\r\n",
]


def llhttp_requests():
    sys.path.insert(0, str(ROOT))
    from tests.server.llhttp_corpus import CORPUS_DIR, load_corpus
    if not CORPUS_DIR.is_dir():
        print("llhttp corpus not found at %s; skipped" % CORPUS_DIR)
        return []
    return [case.raw for case in load_corpus()]


def gunicorn_requests():
    sys.path.insert(0, str(ROOT))
    from tests.server.gunicorn_corpus import load_corpus
    if not GUNICORN.is_dir():
        print("gunicorn corpus not fetched into %s; skipped" % GUNICORN)
        return []
    return [case.raw for case in load_corpus(GUNICORN)]


def write_seeds(target, inputs):
    folder = CACHE / target
    folder.mkdir(parents=True, exist_ok=True)
    for data in inputs:
        (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)
    return folder


def http1_seeds():
    raw = APP_REQUESTS + llhttp_requests() + gunicorn_requests()
    return [request + b"\0" for request in raw]


def main():
    folder = write_seeds("http1", http1_seeds())
    print("%d seeds in %s" % (len(list(folder.iterdir())), folder))


if __name__ == "__main__":
    main()
