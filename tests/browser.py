"""Headless Chromium driven over the DevTools protocol, for pages that keep
running (a live page's script updating it from a stream).

``Browser()`` starts Debian's ``chromium`` headless on a free DevTools port
(``--remote-debugging-port=0``; the port is read from what it prints), with
a throw-away profile, and talks to its first page over a WebSocket with the
``websockets`` client: ``open(url)`` navigates, ``evaluate(expression)``
returns a JavaScript expression's value. Any host but this machine goes
through a proxy that does not exist, so a page works only with what the app
serves. Without the binary the test skips (fails where external inputs are
required, as in CI).
"""
from __future__ import annotations

import contextlib
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request

from websockets.sync.client import connect

from tests.external import missing


def chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        missing("chromium not found on PATH (install the Debian package chromium)")
    return found


class Browser:
    def __init__(self, timeout: float = 30.0) -> None:
        # Chromium's helpers may still be writing to the profile as it exits.
        self._profile = tempfile.TemporaryDirectory(ignore_cleanup_errors=True)
        self._proc = subprocess.Popen(
            [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
             "--user-data-dir=" + self._profile.name, "--proxy-server=http://127.0.0.1:9",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._ids = itertools.count(1)
        self._stack = contextlib.ExitStack()
        self._timeout = timeout
        try:
            port = self._devtools_port()
            self._ws = self._stack.enter_context(
                connect(self._page_socket(port), max_size=None, open_timeout=timeout))
        except BaseException:
            self.close()
            raise

    def _devtools_port(self) -> int:
        for _ in range(200):
            line = self._proc.stderr.readline()
            match = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if match:
                return int(match.group(1))
            if not line:
                break
        raise AssertionError("chromium did not open its DevTools port")

    def _page_socket(self, port: int) -> str:
        deadline = time.monotonic() + self._timeout
        while True:
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port,
                                        timeout=self._timeout) as answer:
                pages = [t for t in json.load(answer) if t.get("type") == "page"]
            if pages or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert pages, "chromium opened no page"
        return pages[0]["webSocketDebuggerUrl"]

    def call(self, method: str, **params):
        """Send one DevTools command and return its result (events are skipped)."""
        message_id = next(self._ids)
        self._ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            answer = json.loads(self._ws.recv(timeout=self._timeout))
            if answer.get("id") == message_id:
                if "error" in answer:
                    raise AssertionError("%s: %s" % (method, answer["error"]))
                return answer["result"]

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError("script failed: %s" % result["exceptionDetails"])
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 15.0, poll: float = 0.1):
        """Evaluate ``expression`` until it is truthy; its value, or an AssertionError."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value or time.monotonic() > deadline:
                break
            time.sleep(poll)
        assert value, "never true in the page: %s" % expression
        return value

    def close(self) -> None:
        self._stack.close()
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
