"""Making a peer runnable: its Python packages (pip, into this interpreter), its
programs (apt-get, as root) and its node modules (npm), each only when missing
and, except for node modules, only when allowed (``--install``). What a peer
needs is data in ``bench/peers``.
"""
from __future__ import annotations

import importlib
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from bench.peers import Server
from bench.servers import ROOT, tool_path

INSTALL_TIMEOUT = 600  # seconds for one pip, apt-get or npm command


@dataclass
class PeerSetup:
    """What it took to make one peer runnable."""

    status: str = "ready"          # ready, installed, skipped
    actions: list[str] = field(default_factory=list)   # commands run
    note: str = ""


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _run_install(argv: list[str], cwd: Path | None = None,
                 env: dict | None = None) -> tuple[bool, str]:
    """Run one install command, bounded in time; whether it worked, its output tail."""
    print(f"  $ {shlex.join(argv)}" + (f"   (in {cwd})" if cwd else ""),
          file=sys.stderr, flush=True)
    try:
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        return False, f"did not finish within {INSTALL_TIMEOUT} s"
    except OSError as exc:
        return False, str(exc)
    tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-3:])
    return done.returncode == 0, tail


def _node_modules_ready(folder: Path, packages: tuple[str, ...]) -> bool:
    return (folder / "node_modules").is_dir() and all(
        (folder / "node_modules" / p / "package.json").is_file() for p in packages)


def _prepare_pip(server: Server, install: bool, setup: PeerSetup) -> bool:
    missing = [d for d in server.pip if _version(d) is None]
    if not missing:
        return True
    command = [sys.executable, "-m", "pip", "install", *missing]
    if not install:
        setup.note = (f"{', '.join(missing)} not installed for {sys.executable}; "
                      f"install with `{shlex.join(command)}`, or pass --install")
        return False
    setup.actions.append(shlex.join(command))
    ok, tail = _run_install(command)
    importlib.invalidate_caches()
    still = [d for d in server.pip if _version(d) is None]
    if not ok or still:
        setup.note = f"`{shlex.join(command)}` failed: {tail}"
        return False
    setup.status = "installed"
    return True


def _prepare_commands(server: Server, install: bool, setup: PeerSetup) -> bool:
    path = tool_path()
    missing = [c for c in server.commands if shutil.which(c, path=path) is None]
    if not missing:
        return True
    apt = ["apt-get", "install", "-y", "-q", *server.apt]
    how = f"`{shlex.join(apt)}` (as root)" if server.apt else "install it"
    if not install or not server.apt:
        setup.note = (f"{', '.join(missing)} not found on PATH; {how}"
                      + (", or pass --install" if server.apt else ""))
        return False
    if os.geteuid() != 0 or shutil.which("apt-get", path=path) is None:
        setup.note = f"{', '.join(missing)} not found; --install needs root and apt-get: {how}"
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    setup.actions.append(shlex.join(apt))
    ok, tail = _run_install(apt, env=env)
    if not ok:  # the package lists may be missing or stale
        update = ["apt-get", "update", "-q"]
        setup.actions += [shlex.join(update), shlex.join(apt)]
        ok, tail = _run_install(update, env=env)
        if ok:
            ok, tail = _run_install(apt, env=env)
    still = [c for c in server.commands if shutil.which(c, path=path) is None]
    if not ok or still:
        setup.note = f"`{shlex.join(apt)}` failed: {tail}"
        return False
    setup.status = "installed"
    return True


def _prepare_npm(server: Server, setup: PeerSetup) -> bool:
    folder = Path(server.fill(server.npm_dir, {"root": str(ROOT)}))
    if _node_modules_ready(folder, server.npm_packages):
        return True
    npm = shutil.which("npm", path=tool_path())
    command = ["npm", "install", "--no-audit", "--no-fund"]
    if npm is None:
        setup.note = (f"{folder}/node_modules is missing and npm is not on PATH; install "
                      f"npm (`apt-get install -y npm`), then run `{shlex.join(command)}` "
                      f"in {folder}")
        return False
    setup.actions.append(f"(cd {folder} && {shlex.join(command)})")
    ok, tail = _run_install([npm, *command[1:]], cwd=folder)
    if not ok or not _node_modules_ready(folder, server.npm_packages):
        setup.note = f"`{shlex.join(command)}` in {folder} failed: {tail}"
        return False
    setup.status = "installed"
    return True


def prepare_peer(server: Server, install: bool) -> PeerSetup:
    """Make ``server`` runnable, as far as allowed; a note says why it is not.

    Node modules are always installed when missing (``npm install`` in the
    peer's folder); Python packages (pip, into this interpreter) and programs
    (apt-get) only with ``install``.
    """
    setup = PeerSetup()
    ready = (_prepare_pip(server, install, setup)
             and _prepare_commands(server, install, setup)
             and (server.npm_dir is None or _prepare_npm(server, setup)))
    if not ready:
        setup.status = "skipped"
    return setup


def prepare_peers(servers: list[Server], install: bool) -> tuple[list[Server], dict]:
    """The servers that can run (the fastcore slot always), and every peer's setup."""
    kept, setups = [servers[0]], {}
    for server in servers[1:]:
        setup = prepare_peer(server, install)
        setups[server.name] = setup
        if setup.status == "skipped":
            print(f"  {server.name}: skipped: {setup.note}", file=sys.stderr, flush=True)
        else:
            kept.append(server)
    return kept, setups
