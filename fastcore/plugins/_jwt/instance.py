"""One registration of the jwt plugin: :class:`Jwt`, which signs and verifies.

How this works
--------------
Everything per instance is decided when it is built, at boot: the prepared
keys (a fixed secret), or where the key comes from per token (the secret
function, or a JSON Web Key Set); the keyword arguments of ``jwt.decode``
(allowed algorithms, issuer, audience, subject, leeway, required claims);
the sign defaults. A request is then verified in four steps:

1. the token: the ``cookie`` when configured and sent, else the
   ``Authorization: Bearer <token>`` header (``@fastify/jwt``'s rules);
2. the key: the prepared one, or the one the secret function or key set
   gives for the unverified header;
3. ``jwt.decode`` with the prebuilt arguments, its errors mapped to the
   ``FC_ERR_JWT_*`` errors: PyJWT refuses an algorithm that is not allowed
   (``none`` never is), so a token cannot choose how it is checked;
4. ``trusted(request, payload)``, then ``formatter(payload)`` into
   ``request.user``.

Call options (``app.jwt.verify(token, issuer=...)``) are checked per call;
the default path checks nothing again.
"""
from __future__ import annotations

import inspect
import time
from http.cookies import CookieError, SimpleCookie
from typing import Any, Callable

from jwt import ExpiredSignatureError, PyJWTError
from jwt import decode as _decode
from jwt import decode_complete as _decode_complete
from jwt import encode as _encode

from .errors import (JwtAuthorizationTokenExpiredError, JwtAuthorizationTokenInvalidError,
                     JwtAuthorizationTokenUntrustedError, JwtBadRequestError,
                     JwtNoAuthorizationInCookieError, JwtNoAuthorizationInHeaderError)
from .jwks import JwksKeys
from .options import check_sign, check_verify, decode_arguments, load_keys
from .verified import payload_cache

_UNVERIFIED = {"verify_signature": False}
# What older PyJWT releases (the jwt extra accepts 2.8) let through on some
# malformed tokens (an `exp` of 1e999 or [1], a header nested too deep), where
# the current ones raise a PyJWTError: a client's token must never be a 500.
_MALFORMED = (ValueError, TypeError, OverflowError, RecursionError)
_CLAIMS = (("iss", "issuer"), ("aud", "audience"), ("sub", "subject"))


class Jwt:
    """``app.jwt`` (or ``app.jwt[namespace]``): sign, verify and decode tokens."""

    def __init__(self, options: dict) -> None:
        self.namespace: str | None = options["namespace"]
        self.algorithms: tuple[str, ...] = options["algorithms"]
        secret = options["secret"]
        keys = load_keys(secret, self.algorithms)
        self._sign_key = keys.sign if keys is not None else None
        self._verify_key = keys.verify if keys is not None else None
        self._secret_fn: Callable | None = secret if keys is None and secret is not None \
            else None
        self._jwks = JwksKeys(options["jwks_url"]) if options["jwks_url"] else None
        self._sign_options: dict = options["sign"]
        self._verify_options: dict = options["verify"]
        self._arguments = decode_arguments(self._verify_options, self.algorithms)
        self._verified = payload_cache(self._verify_options) if self._verify_key is not None \
            else None
        self._cookie: str | None = options["cookie"]
        self._trusted: Callable | None = options["trusted"]
        self._formatter: Callable | None = options["formatter"]

    def __repr__(self) -> str:
        return "<Jwt namespace=%r algorithms=%s>" % (self.namespace, ",".join(self.algorithms))

    # -- signing -------------------------------------------------------------------------
    def sign(self, payload: dict, **options: Any) -> str:
        """A token for ``payload``; ``options`` override the ``sign`` defaults.

        With a secret function, it is called as ``fn(None, header, payload)``
        and must not be async (use ``await reply.jwt_sign(payload)`` then)."""
        settings = self._sign_settings(options)
        claims, header = _claims(payload, settings)
        key = self._sign_key
        if key is None:
            key = _now(self._function_key(None, header, claims, "private"),
                       "app.jwt.sign", "await reply.jwt_sign(payload)")
        return _encode(claims, key, algorithm=settings["algorithm"], headers=header)

    async def sign_for(self, request: Any, payload: dict, **options: Any) -> str:
        """``sign``, with the secret function (sync or async) given the request."""
        settings = self._sign_settings(options)
        claims, header = _claims(payload, settings)
        key = self._sign_key
        if key is None:
            key = self._function_key(request, header, claims, "private")
            if inspect.isawaitable(key):
                key = _pick(await key, "private")
        return _encode(claims, key, algorithm=settings["algorithm"], headers=header)

    def _sign_settings(self, options: dict) -> dict:
        if self._sign_key is None and self._secret_fn is None:
            raise TypeError("this jwt instance has no private key: it only verifies tokens")
        if not options:
            return self._sign_options
        return check_sign({**self._sign_options, **options}, self.algorithms)

    # -- verifying -----------------------------------------------------------------------
    def verify(self, token: str, **options: Any) -> dict:
        """The payload of ``token`` once its signature and claims are checked.

        ``options`` override the ``verify`` defaults. With ``jwks_url`` or an
        async secret function, use ``await app.jwt.verify_async(token)``."""
        arguments = self._arguments_for(options)
        key = self._verify_key
        if key is None:
            if self._jwks is not None:
                raise TypeError("with jwks_url, verify with await app.jwt.verify_async(token)")
            header, claims = _unverified(token)
            key = _now(self._function_key(None, header, claims, "public"),
                       "app.jwt.verify", "await app.jwt.verify_async(token)")
        return _checked(token, key, arguments)

    async def verify_async(self, token: str, request: Any = None, **options: Any) -> dict:
        """``verify`` for every key source (the key set is fetched as needed)."""
        arguments = self._arguments_for(options)
        key = self._verify_key
        if key is None:
            key = await self._key_for(request, token)
        return _checked(token, key, arguments)

    async def verify_request(self, request: Any, **options: Any) -> Any:
        """Verify the request's token; set and return ``request.user``."""
        token = self.token_of(request)
        arguments = self._arguments if not options else self._arguments_for(options)
        key = self._verify_key
        if key is None:
            payload = _checked(token, await self._key_for(request, token), arguments)
        elif self._verified is not None and arguments is self._arguments:
            payload = self._verified.get(token)
            if payload is None:
                payload = _checked(token, key, arguments)
                self._verified.add(token, payload)
        else:
            payload = _checked(token, key, arguments)
        trusted = self._trusted
        if trusted is not None:
            verdict = trusted(request, payload)
            if inspect.isawaitable(verdict):
                verdict = await verdict
            if not verdict:
                raise JwtAuthorizationTokenUntrustedError()
        user = payload if self._formatter is None else self._formatter(payload)
        request.user = user
        return user

    async def authenticate(self, request: Any, reply: Any) -> None:
        """An ``on_request`` (or ``pre_handler``) hook: ``await request.jwt_verify()``."""
        await self.verify_request(request)

    def decode(self, token: str, complete: bool = False) -> dict:
        """The payload (or, with ``complete``, header, payload and signature)
        of ``token``, without checking its signature or claims."""
        decoded = _unverified_complete(token)
        return decoded if complete else decoded["payload"]

    def token_of(self, request: Any) -> str:
        """The token a request carries: the cookie (if configured), else the header."""
        authorization = request.get_header("authorization")
        if self._cookie is not None:
            token = _cookie(request.get_header("cookie"), self._cookie)
            if token:
                return token
            if authorization is None:
                raise JwtNoAuthorizationInCookieError()
        if authorization is None:
            raise JwtNoAuthorizationInHeaderError()
        parts = authorization.split(" ")
        if len(parts) != 2 or parts[0].lower() != "bearer":
            raise JwtBadRequestError()
        return parts[1]

    def _arguments_for(self, options: dict) -> dict:
        if not options:
            return self._arguments
        return decode_arguments(check_verify({**self._verify_options, **options}),
                                self.algorithms)

    async def _key_for(self, request: Any, token: str) -> Any:
        if self._jwks is not None:
            return await self._jwks.key_for(_unverified_complete(token)["header"])
        header, claims = _unverified(token)
        key = self._function_key(request, header, claims, "public")
        if inspect.isawaitable(key):
            key = _pick(await key, "public")
        return key

    def _function_key(self, request: Any, header: dict, claims: dict, part: str) -> Any:
        """What the secret function gives, its ``part`` picked (or an awaitable of it)."""
        key = self._secret_fn(request, header, claims)
        return key if inspect.isawaitable(key) else _pick(key, part)


def _claims(payload: dict, settings: dict) -> tuple[dict, dict]:
    """The claims to sign (the options' claims replace the payload's) and the header."""
    if not isinstance(payload, dict):
        raise TypeError("a token's payload is a dict, got %s" % type(payload).__name__)
    claims = dict(payload)
    now = time.time()
    claims["iat"] = int(now)
    if settings["expires_in"] is not None:
        claims["exp"] = int(now + settings["expires_in"])
    if settings["not_before"] is not None:
        claims["nbf"] = int(now + settings["not_before"])
    for claim, name in _CLAIMS:
        value = settings[name]
        if value is not None:
            claims[claim] = list(value) if isinstance(value, tuple) else value
    header = {"alg": settings["algorithm"], "typ": "JWT"}
    if settings["key_id"] is not None:
        header["kid"] = settings["key_id"]
    if settings["header"]:
        header.update(settings["header"])
    return claims, header


def _checked(token: str, key: Any, arguments: dict) -> dict:
    """``jwt.decode``, its errors as the plugin's."""
    try:
        return _decode(token, key, **arguments)
    except ExpiredSignatureError as exc:
        raise JwtAuthorizationTokenExpiredError() from exc
    except PyJWTError as exc:
        raise JwtAuthorizationTokenInvalidError.because(exc) from exc
    except _MALFORMED as exc:
        raise JwtAuthorizationTokenInvalidError.because("malformed token") from exc


def _unverified_complete(token: str) -> dict:
    try:
        return _decode_complete(token, options=_UNVERIFIED)
    except PyJWTError as exc:
        raise JwtAuthorizationTokenInvalidError.because(exc) from exc
    except _MALFORMED as exc:
        raise JwtAuthorizationTokenInvalidError.because("malformed token") from exc


def _unverified(token: str) -> tuple[dict, dict]:
    decoded = _unverified_complete(token)
    return decoded["header"], decoded["payload"]


def _pick(key: Any, part: str) -> Any:
    """A secret function's key: ``key[part]`` of a ``{"private", "public"}`` dict."""
    if isinstance(key, dict):
        key = key.get(part)
    if key is None:
        if part == "private":
            raise TypeError("the secret function gave no private key to sign with")
        raise JwtAuthorizationTokenInvalidError.because("no key for this token")
    return key


def _now(key: Any, method: str, instead: str) -> Any:
    """``key``, which a synchronous method cannot await."""
    if inspect.isawaitable(key):
        if inspect.iscoroutine(key):
            key.close()
        raise TypeError("%s is synchronous and the secret function is async: use %s"
                        % (method, instead))
    return key


def _cookie(header: str | None, name: str) -> str | None:
    """The value of cookie ``name`` in a ``Cookie`` header (RFC 6265 §5.4), if sent."""
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None
