"""Running an app as a process: the event loop, signals, and worker processes.

``serve`` is what ``App.run`` and the command line call. With one worker it
runs the app in this process. With more, this process becomes a supervisor:
it reserves the port, forks one worker per slot, each worker opens its own
listening socket on that port with SO_REUSEPORT (the kernel spreads
connections across them), a worker that dies is replaced, and SIGINT/SIGTERM
stop every worker gracefully (``App.close``) before the supervisor exits.
"""
from __future__ import annotations

import asyncio
import contextlib
import glob
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time

log = logging.getLogger("fastcore")

RESTART_WINDOW = 10.0   # seconds over which worker restarts are counted
RESTART_LIMIT = 20      # restarts within the window before the supervisor gives up
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop when it is installed, asyncio's otherwise."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


async def _serve_until_signal(app, host: str, port: int, backlog: int, reuse_port: bool,
                              announce: bool, ready_fd: int | None) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    address = await app.listen(host=host, port=port, backlog=backlog, reuse_port=reuse_port)
    if announce:
        print("fastcore listening on %s (pid %d)" % (address, os.getpid()), file=sys.stderr,
              flush=True)
    if ready_fd is not None:
        os.write(ready_fd, b"1")
    await stop.wait()
    await app.close()


def serve_one(app, host: str, port: int, backlog: int = 1024, reuse_port: bool = False,
              announce: bool = True, ready_fd: int | None = None) -> None:
    """Serve ``app`` in this process until SIGINT or SIGTERM."""
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(
            _serve_until_signal(app, host, port, backlog, reuse_port, announce, ready_fd))
    finally:
        loop.close()


class _Stop(Exception):
    """Raised by the supervisor's signal handler to leave the wait loop."""


def _reserve_port(host: str, port: int) -> tuple[socket.socket, int]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock, sock.getsockname()[1]


def _fork_worker(app, host: str, port: int, backlog: int, ready_fd: int) -> int:
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            serve_one(app, host, port, backlog, reuse_port=True, announce=False,
                      ready_fd=ready_fd)
        except BaseException:
            log.exception("worker %d failed", os.getpid())
            code = 1
        finally:
            os._exit(code)
    return pid


def supervise(app, host: str, port: int, workers: int, backlog: int = 1024) -> None:
    """Run ``workers`` processes on one port and keep them running."""
    reserved, port = _reserve_port(host, port)
    stopping = False

    def on_signal(signum, frame):
        # Raising interrupts os.waitpid, which Python otherwise retries.
        nonlocal stopping
        stopping = True
        raise _Stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    ready_r, ready_w = os.pipe()
    metrics_dir, own_metrics_dir = _metrics_dir()
    children = {_fork_worker(app, host, port, backlog, ready_w) for _ in range(workers)}
    restarts: list[float] = []
    try:
        _wait_ready(ready_r, workers)
        shown = "[%s]" % host if ":" in host else host
        print("fastcore listening on http://%s:%d (%d workers, supervisor pid %d)"
              % (shown, port, workers, os.getpid()), file=sys.stderr, flush=True)
        while children and not stopping:
            try:
                pid, status = os.waitpid(-1, 0)
            except _Stop:
                break
            except ChildProcessError:
                break
            if pid not in children:
                continue
            children.discard(pid)
            if stopping:
                break
            now = time.monotonic()
            restarts = [t for t in restarts if now - t < RESTART_WINDOW] + [now]
            if len(restarts) > RESTART_LIMIT:
                log.error("workers keep dying; stopping")
                break
            log.warning("worker %d exited (status %d); starting another", pid, status)
            _forget_live_values(metrics_dir, pid)
            children.add(_fork_worker(app, host, port, backlog, ready_w))
    except _Stop:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30.0
        while children and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.05)
                continue
            children.discard(pid)
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        reserved.close()
        os.close(ready_r)
        os.close(ready_w)
        if own_metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
            del os.environ[METRICS_DIR_VARIABLE]


def _metrics_dir() -> tuple[str, bool]:
    """The directory where workers' metrics meet: ``PROMETHEUS_MULTIPROC_DIR``,
    created here for the workers to inherit unless the user set one.

    prometheus-client's multiprocess mode (the ``metrics`` plugin) writes each
    worker's values to files there and sums them at a scrape; the supervisor
    owns the directory it made and removes it when it stops.
    """
    given = os.environ.get(METRICS_DIR_VARIABLE)
    if given:
        return given, False
    made = tempfile.mkdtemp(prefix="fastcore-metrics-")
    os.environ[METRICS_DIR_VARIABLE] = made
    return made, True


def _forget_live_values(metrics_dir: str, pid: int) -> None:
    """Drop a dead worker's live gauges (prometheus-client names those files
    ``gauge_live<mode>_<pid>.db``); its counters stay, so totals never go back."""
    for path in glob.glob(os.path.join(metrics_dir, "gauge_live*_%d.db" % pid)):
        with contextlib.suppress(OSError):
            os.remove(path)


def _wait_ready(fd: int, count: int, timeout: float = 60.0) -> None:
    """Block until ``count`` workers have said they listen (one byte each)."""
    import select
    deadline = time.monotonic() + timeout
    got = 0
    while got < count:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise RuntimeError("workers did not start listening in %.0f s" % timeout)
        got += len(os.read(fd, count - got))


def serve(app, host: str = "127.0.0.1", port: int = 3000, workers: int = 1,
          backlog: int = 1024) -> None:
    if not isinstance(workers, int) or workers < 1:
        raise ValueError("workers must be an int >= 1")
    if workers == 1:
        serve_one(app, host, port, backlog)
    else:
        supervise(app, host, port, workers, backlog)
