"""The servers the load script can start: fastcore and its peers, as data.

Each entry says how to start one server serving the standard workload
(shared/bench/WORKLOAD.md) on a given port. ``argv``, ``cwd``, the values of
``env`` and the text of ``templates`` may use these placeholders, replaced just
before the start:

- ``{python}``: the interpreter running the load script;
- ``{root}``: the repository root;
- ``{host}`` and ``{port}``: where the server must listen;
- ``{rundir}``: an empty directory made for this start, where ``templates`` are
  written (configuration files, pid files);
- ``{max_connections}``: how many connections the server should be ready to
  hold (the idle-connections test's count plus a margin).

The load script prefixes ``argv`` with ``taskset`` itself, waits for the port to
accept connections, and stops the process with SIGTERM. A server that forks
workers must keep them in its process group (the default) so that they are
counted in its memory and stopped with it.

What a peer needs is data too, so that the script can tell what is missing and,
where allowed, install it: ``pip`` (Python distributions, installed into the
script's own interpreter), ``commands`` (programs on ``PATH``) with the Debian
packages that provide them in ``apt``, and ``npm_dir`` (a folder whose
``package.json`` is installed with npm when its ``node_modules`` is missing).

Adding a peer is one entry in ``PEERS``; ``routes`` limits it to some of the
workload's routes (the ceilings only serve ``json``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Mapping

from bench.peers.workload import JWT_SECRET


@dataclass(frozen=True)
class Server:
    """How to start one server; see the module docstring for the placeholders."""

    name: str
    argv: tuple[str, ...]
    cwd: str = "{root}"
    env: Mapping[str, str] = field(default_factory=dict)
    # Python distributions whose versions are recorded with the results.
    packages: tuple[str, ...] = ()
    # The workload routes it serves; None for all of them.
    routes: tuple[str, ...] | None = None
    # Python distributions it needs in the script's interpreter.
    pip: tuple[str, ...] = ()
    # Programs it needs on PATH, and the Debian packages that provide them.
    commands: tuple[str, ...] = ()
    apt: tuple[str, ...] = ()
    # A folder (placeholders allowed) whose package.json npm installs.
    npm_dir: str | None = None
    # Packages of npm_dir whose versions are recorded with the results.
    npm_packages: tuple[str, ...] = ()
    # Files written into {rundir} before the start: name -> template path
    # relative to the repository root.
    templates: Mapping[str, str] = field(default_factory=dict)
    # Commands whose first output line is recorded as a version: name -> argv.
    version_commands: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def serves(self, route: str) -> bool:
        return self.routes is None or route in self.routes

    def fill(self, text: str, values: Mapping[str, str]) -> str:
        for key, value in values.items():
            text = text.replace("{" + key + "}", value)
        return text

    def expand(self, **values: str) -> tuple[list[str], str, dict[str, str]]:
        """The argv, cwd and extra environment with placeholders replaced."""
        argv = [self.fill(arg, values) for arg in self.argv]
        env = {key: self.fill(value, values) for key, value in self.env.items()}
        return argv, self.fill(self.cwd, values), env


FASTCORE = Server(
    name="fastcore",
    argv=("{python}", "-m", "fastcore", "run", "bench.app:app",
          "--host", "{host}", "--port", "{port}"),
    packages=("fastcore-http", "Cython", "httptools", "uvloop", "orjson"),
)

PEERS: dict[str, Server] = {
    # Raw ASGI on uvicorn + httptools + uvloop. The keep-alive timeout is
    # fastcore's and Fastify's (72 s) instead of uvicorn's 5 s, so that the
    # idle-connections test finds its connections still open; loaded
    # connections are never idle, so it does not change the other runs.
    "uvicorn": Server(
        name="uvicorn",
        argv=("{python}", "-m", "uvicorn", "bench.peers.uvicorn_app:app",
              "--host", "{host}", "--port", "{port}",
              "--http", "httptools", "--loop", "uvloop",
              "--timeout-keep-alive", "72",
              "--no-access-log", "--log-level", "warning"),
        packages=("uvicorn", "httptools", "uvloop", "orjson"),
        pip=("uvicorn", "httptools", "uvloop", "orjson"),
    ),
    # Fastify 5, logger off, the same schemas (bench/peers/node/).
    "fastify": Server(
        name="fastify",
        argv=("node", "{root}/bench/peers/node/fastify_app.js"),
        cwd="{root}/bench/peers/node",
        env={"HOST": "{host}", "PORT": "{port}", "NODE_ENV": "production"},
        commands=("node",),
        apt=("nodejs", "npm"),
        npm_dir="{root}/bench/peers/node",
        npm_packages=("fastify",),
        version_commands={"node": ("node", "--version")},
    ),
    # Granian (Rust, hyper) with a raw RSGI app: one worker process, one
    # runtime thread, HTTP/1 only. Its backpressure (default: the backlog,
    # 1024) caps open connections, not only busy ones: raised for the idle test.
    "granian": Server(
        name="granian",
        argv=("{python}", "-m", "granian", "--interface", "rsgi", "--http", "1",
              "--no-ws", "--workers", "1", "--runtime-threads", "1",
              "--loop", "uvloop", "--backpressure", "{max_connections}",
              "--log-level", "warning",
              "--host", "{host}", "--port", "{port}", "bench.peers.granian_app:app"),
        packages=("granian", "uvloop", "orjson"),
        pip=("granian", "uvloop", "orjson"),
    ),
    # socketify.py (uWebSockets through CFFI) with a raw app.
    "socketify": Server(
        name="socketify",
        argv=("{python}", "{root}/bench/peers/socketify_app.py",
              "--host", "{host}", "--port", "{port}"),
        packages=("socketify", "orjson"),
        pip=("socketify", "orjson"),
    ),
    # The /json ceilings of WORKLOAD.md: nginx answering from its
    # configuration with one worker, and a minimal uvloop + httptools protocol.
    "nginx": Server(
        name="nginx",
        argv=("nginx", "-p", "{rundir}", "-c", "{rundir}/nginx.conf",
              "-e", "stderr", "-g", "daemon off;"),
        routes=("json",),
        commands=("nginx",),
        apt=("nginx",),
        templates={"nginx.conf": "bench/peers/nginx.conf.template"},
        version_commands={"nginx": ("nginx", "-v")},
    ),
    "ceiling": Server(
        name="ceiling",
        argv=("{python}", "{root}/bench/peers/ceiling.py",
              "--host", "{host}", "--port", "{port}"),
        routes=("json",),
        packages=("httptools", "uvloop"),
        pip=("httptools", "uvloop"),
    ),
    # fastcore itself, varied: the workload app with 5 no-op on_request hooks,
    # and a reference build (a checkout of an earlier commit, built in place,
    # named by FASTCORE_REF_ROOT) to compare one revision with another.
    "fastcore-hooks": Server(
        name="fastcore-hooks",
        argv=("{python}", "-m", "fastcore", "run", "bench.app_hooks:app",
              "--host", "{host}", "--port", "{port}"),
        packages=("fastcore-http",),
    ),
    # Plugins' cost: the workload app with cors and rate_limit (memory)
    # registered; with every GET route cached (memory store); with every route
    # behind jwt.authenticate (HS256), and Fastify with @fastify/jwt doing the
    # same (load those two with --jwt).
    "fastcore-plugins": Server(
        name="fastcore-plugins",
        argv=("{python}", "-m", "fastcore", "run", "bench.app_plugins:app",
              "--host", "{host}", "--port", "{port}"),
        packages=("fastcore-http",),
    ),
    # Observability's cost: the workload app with the metrics plugin registered.
    "fastcore-metrics": Server(
        name="fastcore-metrics",
        argv=("{python}", "-m", "fastcore", "run", "bench.app_metrics:app",
              "--host", "{host}", "--port", "{port}"),
        packages=("fastcore-http", "prometheus-client"),
    ),
    # ... and with the tracing plugin on the API's no-op tracer provider.
    "fastcore-tracing": Server(
        name="fastcore-tracing",
        argv=("{python}", "-m", "fastcore", "run", "bench.app_tracing:app",
              "--host", "{host}", "--port", "{port}"),
        packages=("fastcore-http", "opentelemetry-api"),
    ),
    "fastcore-cache": Server(
        name="fastcore-cache",
        argv=("{python}", "-m", "fastcore", "run", "bench.app_cache:app",
              "--host", "{host}", "--port", "{port}"),
        packages=("fastcore-http",),
    ),
    "fastcore-jwt": Server(
        name="fastcore-jwt",
        argv=("{python}", "-m", "fastcore", "run", "bench.app_jwt:app",
              "--host", "{host}", "--port", "{port}"),
        packages=("fastcore-http", "PyJWT"),
    ),
    "fastcore-ref": Server(
        name="fastcore-ref",
        argv=("{python}", "-m", "fastcore", "run", "bench.app:app",
              "--host", "{host}", "--port", "{port}"),
        cwd=os.environ.get("FASTCORE_REF_ROOT", "{root}"),
        packages=("fastcore-http",),
    ),
}


# --- the WebSocket benchmark (bench/ws_load.py) -----------------------------------
# Each serves /echo and /push as bench/ws_app.py does.

WS_FASTCORE = Server(
    name="fastcore",
    argv=("{python}", "-m", "fastcore", "run", "bench.ws_app:app",
          "--host", "{host}", "--port", "{port}"),
    packages=("fastcore-http", "Cython", "uvloop", "orjson"),
)

WS_PEERS: dict[str, Server] = {
    # socketify.py: uWebSockets' WebSocket through CFFI, a Python callback per message.
    "socketify": Server(
        name="socketify",
        argv=("{python}", "{root}/bench/peers/ws_socketify.py",
              "--host", "{host}", "--port", "{port}"),
        packages=("socketify",),
        pip=("socketify",),
    ),
    # uvicorn with the `websockets` implementation, uvloop, a raw ASGI app.
    "uvicorn": Server(
        name="uvicorn",
        argv=("{python}", "-m", "uvicorn", "bench.peers.ws_uvicorn:app",
              "--ws", "websockets", "--loop", "uvloop", "--http", "httptools",
              "--no-access-log", "--log-level", "warning",
              "--host", "{host}", "--port", "{port}"),
        packages=("uvicorn", "websockets", "uvloop", "httptools"),
        pip=("uvicorn", "websockets", "uvloop", "httptools"),
    ),
    # Another fastcore checkout, built in place, named by FASTCORE_REF_ROOT.
    "fastcore-ref": Server(
        name="fastcore-ref",
        argv=("{python}", "-m", "fastcore", "run", "bench.ws_app:app",
              "--host", "{host}", "--port", "{port}"),
        cwd=os.environ.get("FASTCORE_REF_ROOT", "{root}"),
        packages=("fastcore-http",),
    ),
    # Node's `ws` library (bench/peers/node/ws_app.js): a reference, not Python.
    "node-ws": Server(
        name="node-ws",
        argv=("node", "{root}/bench/peers/node/ws_app.js"),
        cwd="{root}/bench/peers/node",
        env={"HOST": "{host}", "PORT": "{port}", "NODE_ENV": "production"},
        commands=("node",),
        apt=("nodejs", "npm"),
        npm_dir="{root}/bench/peers/node",
        npm_packages=("ws",),
        version_commands={"node": ("node", "--version")},
    ),
}

# Fastify with @fastify/jwt: the fastify peer with JWT_SECRET set; with
# fast-jwt's cache of verified tokens (fastcore's jwt keeps one by default).
PEERS["fastify-jwt"] = replace(
    PEERS["fastify"], name="fastify-jwt", npm_packages=("fastify", "@fastify/jwt"),
    env={**PEERS["fastify"].env, "JWT_SECRET": JWT_SECRET})
PEERS["fastify-jwt-cache"] = replace(
    PEERS["fastify-jwt"], name="fastify-jwt-cache",
    env={**PEERS["fastify-jwt"].env, "JWT_CACHE": "1"})
