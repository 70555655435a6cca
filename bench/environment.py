"""What benchmark results depend on: the machine, the commit, the versions of
fastcore, its peers and their programs.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from bench.install import _version
from bench.peers import FASTCORE, PEERS, Server
from bench.servers import ROOT, tool_path


def _command_output(argv: list[str], cwd: Path = ROOT) -> str | None:
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=10,
                              env=dict(os.environ, PATH=tool_path()))
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else None


def _npm_version(server: Server, package: str) -> str | None:
    folder = Path(server.fill(server.npm_dir or "", {"root": str(ROOT)}))
    try:
        data = json.loads((folder / "node_modules" / package / "package.json").read_text())
    except (OSError, ValueError):
        return None
    return data.get("version")


def versions(servers: list[Server] | None = None) -> dict:
    """Python, Cython, fastcore, and the packages and programs of ``servers``
    (every peer's by default)."""
    found = {"python": sys.version.split()[0], "cython": _version("Cython"),
             "fastcore": _version("fastcore-http")}
    for server in servers or [FASTCORE, *PEERS.values()]:
        for package in server.packages:
            found.setdefault(package.lower(), _version(package))
        for name, argv in server.version_commands.items():
            found.setdefault(name, _command_output(list(argv)) if shutil.which(
                argv[0], path=tool_path()) else None)
        for package in server.npm_packages:
            found.setdefault(package, _npm_version(server, package))
    return found


def machine() -> dict:
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f
                    if line.startswith("model name")), platform.processor())
    return {"cpu_model": cpu, "cores": os.cpu_count(),
            "cpus_allowed": sorted(os.sched_getaffinity(0)),
            "kernel": platform.release(), "platform": platform.platform()}


def environment(servers: list[Server]) -> dict:
    """What the results depend on: commit, interpreter, tools, versions, flags."""
    dirty = _command_output(["git", "--no-optional-locks", "status", "--porcelain",
                             "--untracked-files=no"])
    host = machine()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": _command_output(["git", "rev-parse", "HEAD"]),
        "tree_modified": bool(dirty),
        "python": sys.version.split()[0], "python_executable": sys.executable,
        "platform": host["platform"], "cpu": host["cpu_model"], "cpus": host["cores"],
        "machine": host,
        "versions": versions(),
        "wrk": _command_output(["wrk", "-v"]),
        "build_env": {k: v for k, v in os.environ.items()
                      if k.startswith("FASTCORE_") or k in ("CFLAGS", "CYTHON_TRACE")},
        "servers": {s.name: {"argv": list(s.argv), "cwd": s.cwd, "env": dict(s.env),
                             "routes": list(s.routes) if s.routes else "all",
                             "versions": {p: _version(p) for p in s.packages}}
                    for s in servers},
    }
