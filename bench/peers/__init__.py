"""The servers the load script can start: fastcore and its peers, as data.

Each entry says how to start one server serving the standard workload
(shared/bench/WORKLOAD.md) on a given port. ``argv``, ``cwd`` and the values of
``env`` may use these placeholders, replaced just before the start:

- ``{python}``: the interpreter running the load script;
- ``{root}``: the repository root;
- ``{host}`` and ``{port}``: where the server must listen.

The load script prefixes ``argv`` with ``taskset`` itself, waits for the port to
accept connections, and stops the process with SIGTERM. A server that forks
workers must keep them in its process group (the default) so that they are
counted in its memory and stopped with it.

Adding a peer is one entry in ``PEERS``; for example a Node server reading its
port from the environment::

    "fastify": Server(
        name="fastify",
        argv=("node", "{root}/bench/peers/fastify_app.js"),
        env={"HOST": "{host}", "PORT": "{port}"},
        packages=(),
    ),
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping


@dataclass(frozen=True)
class Server:
    """How to start one server; see the module docstring for the placeholders."""

    name: str
    argv: tuple[str, ...]
    cwd: str = "{root}"
    env: Mapping[str, str] = field(default_factory=dict)
    # Python distributions whose versions are recorded with the results.
    packages: tuple[str, ...] = ()

    def expand(self, **values: str) -> tuple[list[str], str, dict[str, str]]:
        """The argv, cwd and extra environment with placeholders replaced."""
        def fill(text: str) -> str:
            for key, value in values.items():
                text = text.replace("{" + key + "}", value)
            return text

        argv = [fill(arg) for arg in self.argv]
        env = {key: fill(value) for key, value in self.env.items()}
        return argv, fill(self.cwd), env


FASTCORE = Server(
    name="fastcore",
    argv=("{python}", "-m", "fastcore", "run", "bench.app:app",
          "--host", "{host}", "--port", "{port}"),
    packages=("fastcore-http", "Cython", "httptools", "uvloop", "orjson"),
)

PEERS: dict[str, Server] = {
    "uvicorn": Server(
        name="uvicorn",
        argv=("{python}", "-m", "uvicorn", "bench.peers.uvicorn_app:app",
              "--host", "{host}", "--port", "{port}",
              "--http", "httptools", "--loop", "uvloop",
              "--no-access-log", "--log-level", "warning"),
        packages=("uvicorn", "httptools", "uvloop", "orjson"),
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
    "fastcore-ref": Server(
        name="fastcore-ref",
        argv=("{python}", "-m", "fastcore", "run", "bench.app:app",
              "--host", "{host}", "--port", "{port}"),
        cwd=os.environ.get("FASTCORE_REF_ROOT", "{root}"),
        packages=("fastcore-http",),
    ),
}
