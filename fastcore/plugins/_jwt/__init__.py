"""The ``jwt`` plugin (SPEC §13): JSON Web Tokens with PyJWT.

``app.register(jwt, secret=..., algorithms=None, sign=None, verify=None,
cookie=None, trusted=None, formatter=None, namespace=None, jwks_url=None)``.

How this works
--------------
``options.check`` validates the options at ``register`` (keys included: a
key that does not suit every allowed algorithm is refused there). At boot
the plugin builds a :class:`Jwt` (``instance``) and files it, under its
``namespace`` (``None`` for the plain one), in the app's
:class:`JwtRegistry`: ``app.jwt``. The first registration in a context
decorates the context with the registry, ``request.user`` (unless already
decorated) and ``request.jwt_verify``/``reply.jwt_sign``; later ones (other
namespaces) only add their instance.

``app.jwt`` forwards ``sign``, ``verify``, ``verify_async``, ``decode`` and
``authenticate`` to the plain instance; ``app.jwt["refresh"]`` is another.
Request and reply decorations are not bound to their object, so one
``on_request`` hook binds ``request.jwt_verify`` and ``reply.jwt_sign``
for each request (two ``functools.partial``); the token is only read and
checked when they are called, or by ``authenticate``.

``errors`` holds the error classes, ``jwks`` the key-set source,
``roles`` ``require_role``, also reachable as ``jwt.require_role``.
"""
from __future__ import annotations

import importlib.util
from functools import partial
from typing import Any, Awaitable

import fastcore

if importlib.util.find_spec("jwt") is None:  # pragma: no cover - depends on the environment
    raise ImportError('the jwt plugin needs PyJWT: pip install "fastcore-http[jwt]"')

from .instance import Jwt  # noqa: E402 (after the check naming the extra)
from .options import check  # noqa: E402
from .roles import require_role  # noqa: E402

__all__ = ["Jwt", "JwtRegistry", "jwt", "require_role"]


class JwtRegistry:
    """``app.jwt``: the instance registered without a namespace, and by name the others."""

    def __init__(self) -> None:
        self._instances: dict[str | None, Jwt] = {}

    def add(self, instance: Jwt) -> None:
        if instance.namespace in self._instances:
            raise ValueError("a jwt instance is already registered %s" % _named(
                instance.namespace))
        self._instances[instance.namespace] = instance

    def __getitem__(self, namespace: str | None) -> Jwt:
        try:
            return self._instances[namespace]
        except KeyError:
            raise KeyError("no jwt instance is registered %s" % _named(namespace)) from None

    def __contains__(self, namespace: object) -> bool:
        return namespace in self._instances

    @property
    def namespaces(self) -> tuple[str, ...]:
        """The namespaces registered besides the plain instance."""
        return tuple(name for name in self._instances if name is not None)

    # -- the plain instance ----------------------------------------------------------------
    def sign(self, payload: dict, **options: Any) -> str:
        """A signed token for ``payload`` (see :meth:`Jwt.sign`)."""
        return self[None].sign(payload, **options)

    def verify(self, token: str, **options: Any) -> dict:
        """The verified payload of ``token`` (see :meth:`Jwt.verify`)."""
        return self[None].verify(token, **options)

    def verify_async(self, token: str, request: Any = None,
                     **options: Any) -> Awaitable[dict]:
        """``verify`` for every key source, awaited (see :meth:`Jwt.verify_async`)."""
        return self[None].verify_async(token, request, **options)

    def decode(self, token: str, complete: bool = False) -> dict:
        """The payload of ``token``, unverified (see :meth:`Jwt.decode`)."""
        return self[None].decode(token, complete)

    @property
    def authenticate(self) -> Any:
        """The ``on_request`` hook verifying requests with the plain instance."""
        return self[None].authenticate

    # -- what request.jwt_verify and reply.jwt_sign call -----------------------------------
    def verify_request(self, request: Any, namespace: str | None = None,
                       **options: Any) -> Awaitable[Any]:
        return self[namespace].verify_request(request, **options)

    def sign_reply(self, reply: Any, payload: dict, namespace: str | None = None,
                   **options: Any) -> Awaitable[str]:
        return self[namespace].sign_for(reply.request, payload, **options)


def _named(namespace: str | None) -> str:
    return "without a namespace" if namespace is None else "as namespace %r" % namespace


def _install(app: Any) -> JwtRegistry:
    """Decorate ``app`` with a new registry and the request/reply methods."""
    registry = JwtRegistry()
    app.decorate("jwt", registry)
    if not app.has_request_decorator("user"):
        app.decorate_request("user", None)
    app.decorate_request("jwt_verify", None)
    app.decorate_reply("jwt_sign", None)
    verify, sign = registry.verify_request, registry.sign_reply

    def bind_jwt(request: Any, reply: Any) -> None:
        request.jwt_verify = partial(verify, request)
        reply.jwt_sign = partial(sign, reply)

    app.add_hook("on_request", bind_jwt)
    return registry


@fastcore.plugin(name="jwt", options=check)
async def jwt(app: Any, options: dict) -> None:
    """Sign and verify JSON Web Tokens: ``app.jwt``, ``await request.jwt_verify()``,
    ``await reply.jwt_sign(payload)``, ``app.jwt.authenticate``."""
    instance = Jwt(options)
    registry = app.jwt if app.has_decorator("jwt") and isinstance(
        app.jwt, JwtRegistry) else _install(app)
    registry.add(instance)


jwt.require_role = require_role
