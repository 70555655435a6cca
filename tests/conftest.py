"""Shared test helpers: a real server on port 0 and a raw HTTP/1.1 client.

``live_server(app)`` runs the app in a background thread with its own event
loop (uvloop when installed) and returns once the socket is bound, so tests
never sleep waiting for start-up. ``RawClient`` speaks bytes over a blocking
socket and parses responses with llhttp's response parser, so a test can send
anything (malformed included) and assert on exactly what came back.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field

import httptools
import pytest

from fastcore.server import new_event_loop


class LiveServer:
    def __init__(self, app, **listen_kwargs) -> None:
        self.app = app
        self.loop = new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._listen_kwargs = listen_kwargs
        self.address = ""
        self.host = "127.0.0.1"
        self.port = 0

    def start(self) -> "LiveServer":
        self._thread.start()
        kwargs = {"host": "127.0.0.1", "port": 0}
        kwargs.update(self._listen_kwargs)
        self.address = self.call(self.app.listen(**kwargs))
        self.host, self.port = self.app.addresses[0][:2]
        return self

    def call(self, coro, timeout: float = 30.0):
        """Run a coroutine on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def run(self, fn, *args):
        """Run a plain function on the server's loop and wait for its result."""
        async def call():
            return fn(*args)
        return self.call(call())

    def stop(self) -> None:
        try:
            self.call(self.app.close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()

    def client(self, timeout: float = 5.0) -> "RawClient":
        return RawClient(self.host, self.port, timeout)


@contextlib.contextmanager
def live_server(app, **listen_kwargs):
    server = LiveServer(app, **listen_kwargs).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Response:
    status: int = 0
    headers: list = field(default_factory=list)
    body: bytes = b""
    raw: bytes = b""

    def header(self, name: str):
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def header_all(self, name: str) -> list:
        name = name.lower()
        return [value for key, value in self.headers if key == name]


class _Collector:
    def __init__(self) -> None:
        self.responses: list[Response] = []
        self.current: Response | None = None
        self.parser = None

    def on_message_begin(self) -> None:
        self.current = Response()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.current.headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self.current.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self.current.body += body

    def on_message_complete(self) -> None:
        self.responses.append(self.current)
        self.current = None


class RawClient:
    """A blocking HTTP/1.1 client that sends raw bytes."""

    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._collector = _Collector()
        self._parser = httptools.HttpResponseParser(self._collector)
        self._collector.parser = self._parser
        self.received = b""
        self.head_only = False

    def send(self, data: bytes) -> "RawClient":
        self.sock.sendall(data)
        return self

    def _pump(self) -> bool:
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return False
        self.received += chunk
        self._parser.feed_data(chunk)
        return True

    def read_response(self) -> Response:
        """Read until one more complete response is available."""
        while not self._collector.responses:
            if not self._pump():
                raise ConnectionError("closed before a complete response; got %r" % self.received)
        resp = self._collector.responses.pop(0)
        return resp

    def read_head_response(self) -> Response:
        """Read a response to HEAD (headers only, whatever Content-Length says)."""
        # Raw reads: the response parser would wait for a body HEAD never gets.
        while b"\r\n\r\n" not in self.received:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before a response head")
            self.received += chunk
        head, _, _ = self.received.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        resp = Response(status=int(lines[0].split()[1]), raw=head)
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            resp.headers.append((name.decode().lower(), value.decode().strip()))
        return resp

    def request(self, data: bytes) -> Response:
        return self.send(data).read_response()

    def is_closed(self, timeout: float = 5.0) -> bool:
        """True once the server closed the connection (EOF), reading what is left."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.received += chunk
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def recv_all(self, timeout: float = 5.0) -> bytes:
        """Everything the server sends until it closes the connection."""
        start = len(self.received)
        self.is_closed(timeout)
        return self.received[start:]

    def close(self) -> None:
        self.sock.close()


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_cli(app_ref: str, *args: str, env: dict | None = None):
    """``python -m fastcore run app_ref --port 0 *args`` in a subprocess:
    ``(process, port)`` once it says on stderr where it listens."""
    env = dict(env if env is not None else os.environ, PYTHONPATH=ROOT, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "fastcore", "run", app_ref, "--host", "127.0.0.1",
         "--port", "0", *args], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    seen = []
    for _ in range(20):                  # the app may print its own lines first
        line = proc.stderr.readline()
        seen.append(line)
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if match:
            return proc, int(match.group(1))
        if not line:
            break
    proc.kill()
    raise AssertionError("server did not start: %r" % "".join(seen))


def stop_cli(proc) -> int:
    """SIGTERM, then the exit status (killed if it takes over 20 s)."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()


def get(path: str = "/", headers: str = "") -> bytes:
    return ("GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n" % (path, headers)).encode()


@pytest.fixture
def serve():
    """``with serve(app) as server:`` (kept as a fixture so tests read the same)."""
    return live_server


# -- every FC_ERR_* code is raised by some test -------------------------------------
# Each FastcoreError records its code when constructed; when the whole suite ran
# (pytest with no path, -k or -m), a code that no test raised fails the run.
_RAISED_CODES: set = set()


def pytest_configure(config):
    from fastcore import errors

    original = errors.FastcoreError.__init__

    def recording_init(self, *args, **kwargs):
        _RAISED_CODES.add(type(self).code)
        original(self, *args, **kwargs)

    errors.FastcoreError.__init__ = recording_init


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    from fastcore import errors

    config = session.config
    whole_suite = (not config.option.keyword and not config.option.markexpr
                   and list(config.args) == list(config.getini("testpaths")))
    if not whole_suite or exitstatus != 0:
        return
    missing = sorted(set(errors.CODES) - _RAISED_CODES)
    if missing:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("error codes no test raised: %s" % ", ".join(missing), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# --- Redis ---------------------------------------------------------------------
# pytest-redis starts redis-server from its binary on a free port (the session's
# ``redis_proc``). ``redis_url`` skips with the reason when the binary is
# missing (a failure where FASTCORE_REQUIRE_EXTERNAL=1, as in CI) and empties
# the database before each test.

def _redis_binary(request) -> None:
    from pytest_redis.config import get_config

    from tests.external import missing
    executable = get_config(request).exec
    if not executable or not os.path.exists(executable):
        missing("redis-server not found (pytest-redis looked for %r; install the Debian "
                "package redis-server, or set redis_exec)" % (executable,))


@pytest.fixture
def redis_url(request):
    _redis_binary(request)
    import redis
    proc = request.getfixturevalue("redis_proc")
    url = "redis://%s:%d/0" % (proc.host, proc.port)
    client = redis.Redis.from_url(url)
    client.flushall()
    client.close()
    return url


# --- PostgreSQL ----------------------------------------------------------------
# pytest-postgresql starts PostgreSQL from its binaries on a free port, once per
# session (``postgres_proc``, from its ``postgresql_proc`` factory);
# ``postgres_dsn`` gives each test a database of its own, made from the
# session's template and dropped after the test. Without pg_ctl/initdb the test
# skips with the reason (a failure where FASTCORE_REQUIRE_EXTERNAL=1, as in CI).
#
# PostgreSQL refuses to run as root. Run as root, the tests start pg_ctl
# through a two-line wrapper that runs it in a new user namespace
# (``unshare --user``): there the server's uid is the overflow uid (65534),
# not 0, while the kernel still sees the files it creates, in pytest's
# temporary directory, as root's. No account, sudo rule or permission changes.

def _find_pg_ctl() -> str | None:
    import glob
    import shutil

    found = shutil.which("pg_ctl")
    if found:
        return found
    def major(path: str) -> int:             # /usr/lib/postgresql/<major>/bin/pg_ctl
        name = path.split("/")[-3]
        return int(name) if name.isdigit() else 0

    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=major)
    return versions[-1] if versions else None


_PG_CTL = _find_pg_ctl()
_AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _pg_ctl_wrapper():
    from tests.external import CACHE
    return CACHE / "pg_ctl-unshare"


try:
    from pytest_postgresql import factories as _pg_factories
except ImportError:             # the fixture below reports it
    _pg_factories = None
else:
    postgres_proc = _pg_factories.postgresql_proc(
        executable=str(_pg_ctl_wrapper()) if _AS_ROOT else _PG_CTL, port=None)


def _postgres_ready() -> None:
    """Skip (or fail where required) when PostgreSQL cannot be started here;
    as root, write the pg_ctl wrapper."""
    import subprocess

    from tests.external import missing
    if _pg_factories is None:
        missing("pytest-postgresql is not installed (pip install -e '.[test]')")
    if _PG_CTL is None:
        missing("pg_ctl not found on PATH nor in /usr/lib/postgresql/*/bin (install the "
                "Debian package postgresql)")
    if not _AS_ROOT:
        return
    probe = subprocess.run(["unshare", "--user", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        missing("PostgreSQL refuses to run as root, and this machine does not allow "
                "`unshare --user` (%s): run the tests as another user"
                % probe.stderr.strip())
    wrapper = _pg_ctl_wrapper()
    script = '#!/bin/sh\nexec unshare --user "%s" "$@"\n' % _PG_CTL
    if not wrapper.exists() or wrapper.read_text() != script:
        wrapper.parent.mkdir(parents=True, exist_ok=True)
        partial = wrapper.with_suffix(".%d" % os.getpid())
        partial.write_text(script)
        partial.chmod(0o755)
        partial.replace(wrapper)


_database_numbers = itertools.count(1)


@pytest.fixture
def postgres_dsn(request):
    """The DSN of an empty database of this test's own, on a real PostgreSQL."""
    _postgres_ready()
    from urllib.parse import quote

    from pytest_postgresql.janitor import DatabaseJanitor
    proc = request.getfixturevalue("postgres_proc")
    dbname = "fastcore_test_%d" % next(_database_numbers)
    with DatabaseJanitor(user=proc.user, host=proc.host, port=proc.port, dbname=dbname,
                         template_dbname=proc.template_dbname, password=proc.password):
        auth = quote(proc.user) + (":" + quote(proc.password) if proc.password else "")
        yield "postgresql://%s@%s:%d/%s" % (auth, proc.host, int(proc.port), dbname)
