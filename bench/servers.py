"""Benchmark servers as processes: start one pinned to a CPU, wait for its port,
read its memory and open-files limit, stop it (SIGTERM, then SIGKILL to its
process group). Shared by ``load.py``, ``ws_load.py`` and ``fanout.py``; what
each server runs is data in ``bench/peers``.
"""
from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from bench.peers import Server

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
STOP_TIMEOUT = 10.0    # seconds between SIGTERM and SIGKILL
# Where Debian puts nginx: not on every PATH.
EXTRA_PATH = ("/usr/sbin", "/sbin")


class RunError(Exception):
    """A server or wrk failure that invalidates one run."""


def free_port() -> int:
    """A port the kernel says is free now; the server binds it a moment later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return ("\n    " + "\n    ".join(text[-lines:])) if text else ""


def tool_path() -> str:
    """PATH with the system binary folders appended, for which() and servers."""
    parts = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(parts + [p for p in EXTRA_PATH if p not in parts])


def placeholder_values(port: int, rundir: Path, max_connections: int) -> dict[str, str]:
    return {"python": sys.executable, "root": str(ROOT), "host": HOST, "port": str(port),
            "rundir": str(rundir), "max_connections": str(max_connections)}


@contextmanager
def running_server(server: Server, values: dict[str, str], cpu: int, log: Path):
    """Start ``server`` pinned to ``cpu``; always stop it on the way out."""
    rundir = Path(values["rundir"])
    rundir.mkdir(parents=True, exist_ok=True)
    for name, template in server.templates.items():
        text = (ROOT / template).read_text()
        (rundir / name).write_text(server.fill(text, values))
    argv, cwd, extra_env = server.expand(**values)
    env = dict(os.environ, PATH=tool_path(), **extra_env)
    with open(log, "wb") as out:
        # Its own session: Ctrl-C reaches only this script, which then stops
        # the server in order; the process group holds any workers it forks.
        proc = subprocess.Popen(["taskset", "-c", str(cpu), *argv], cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        stop_server(proc)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM the server, SIGKILL its process group if it outstays STOP_TIMEOUT."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.wait()
    except KeyboardInterrupt:
        _kill_group(proc)
        proc.wait()
        raise
    # Workers that outlived their parent belong to the group we created.
    _kill_group(proc)


def wait_for_port(proc: subprocess.Popen, port: int, log: Path, timeout: float) -> float:
    """Poll the port until it accepts a connection; the seconds it took."""
    start = time.monotonic()
    while True:
        code = proc.poll()
        if code is not None:
            raise RunError(f"server exited with status {code} before listening"
                           + _log_tail(log))
        try:
            socket.create_connection((HOST, port), timeout=0.25).close()
            return time.monotonic() - start
        except OSError:
            pass
        if time.monotonic() - start > timeout:
            raise RunError(f"server did not listen on port {port} within {timeout:.0f} s"
                           + _log_tail(log))
        time.sleep(0.02)


def _process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from the parent ids in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                # The command name may hold spaces and parentheses: split after it.
                ppid = int(f.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, ()))
    return tree


def _status_kib(pid: int, key: str) -> int | None:
    """A ``kB`` field of /proc/PID/status (VmHWM, VmRSS), summed over the tree."""
    total, found = 0, False
    for member in _process_tree(pid):
        try:
            with open(f"/proc/{member}/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        total += int(line.split()[1])
                        found = True
                        break
        except (OSError, ValueError):
            continue
    return total if found else None


def peak_rss_kib(pid: int) -> int | None:
    """VmHWM summed over the server and its children (an upper bound if forked)."""
    return _status_kib(pid, "VmHWM")


def rss_kib(pid: int) -> int | None:
    """VmRSS now, summed over the server and its children."""
    return _status_kib(pid, "VmRSS")


def parse_nofile(limits_text: str) -> int | None:
    """The soft "Max open files" of a /proc/PID/limits text; None if unlimited."""
    for line in limits_text.splitlines():
        if line.startswith("Max open files"):
            soft = line[len("Max open files"):].split()[0]
            return None if soft == "unlimited" else int(soft)
    return None


def server_nofile(pid: int) -> int | None:
    """The largest soft open-files limit over the server's processes (the one
    that holds the connections is not always the first)."""
    best = None
    for member in _process_tree(pid):
        try:
            limit = parse_nofile(Path(f"/proc/{member}/limits").read_text())
        except OSError:
            continue
        if limit is not None and (best is None or limit > best):
            best = limit
    return best


def raise_nofile(needed: int) -> tuple[int, int, str | None]:
    """Raise this process's soft open-files limit to ``needed`` (servers started
    later inherit it), the hard one too when allowed; the limits and a note when
    they stay too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    infinity = resource.RLIM_INFINITY
    if soft == infinity or soft >= needed:
        return soft, hard, None
    try:
        if hard == infinity or hard >= needed:
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        else:
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
    except (ValueError, OSError) as exc:
        note = (f"cannot raise the open-files limit to {needed} "
                     f"(soft {soft}, hard {hard}): {exc}; raise it with `ulimit -n {needed}`"
                     " as root")
        return soft, hard, note
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft, hard, None
