"""The jwt plugin's errors (SPEC §13): their codes, statuses and messages are the
ones ``@fastify/jwt`` answers with, ``FC_`` prefixed."""
from __future__ import annotations

from fastcore.errors import FastcoreError


class JwtNoAuthorizationInHeaderError(FastcoreError):
    """The request has no ``Authorization`` header (nor, with ``cookie``, the cookie)."""

    code = "FC_ERR_JWT_NO_AUTHORIZATION_IN_HEADER"
    status_code = 401
    default_message = "No Authorization was found in request.headers"


class JwtBadRequestError(FastcoreError):
    """The ``Authorization`` header is not ``Bearer <token>``."""

    code = "FC_ERR_JWT_BAD_REQUEST"
    status_code = 400
    default_message = "Format is Authorization: Bearer [token]"


class JwtAuthorizationTokenExpiredError(FastcoreError):
    """The token's ``exp`` has passed (beyond the ``leeway``)."""

    code = "FC_ERR_JWT_AUTHORIZATION_TOKEN_EXPIRED"
    status_code = 401
    default_message = "Authorization token expired"


class JwtAuthorizationTokenInvalidError(FastcoreError):
    """The token is malformed, its signature or algorithm is refused, or a claim fails."""

    code = "FC_ERR_JWT_AUTHORIZATION_TOKEN_INVALID"
    status_code = 401
    default_message = "Authorization token is invalid"

    @classmethod
    def because(cls, reason: object) -> JwtAuthorizationTokenInvalidError:
        """The error whose message is ``Authorization token is invalid: <reason>``."""
        return cls("Authorization token is invalid: %s" % (reason,))


class JwtAuthorizationTokenUntrustedError(FastcoreError):
    """The ``trusted(request, payload)`` option answered false."""

    code = "FC_ERR_JWT_AUTHORIZATION_TOKEN_UNTRUSTED"
    status_code = 401
    default_message = "Untrusted authorization token"


class JwtNoAuthorizationInCookieError(FastcoreError):
    """With ``cookie``: neither the cookie nor an ``Authorization`` header was sent."""

    code = "FC_ERR_JWT_NO_AUTHORIZATION_IN_COOKIE"
    status_code = 401
    default_message = "No Authorization was found in request.cookies"


class JwtForbiddenError(FastcoreError):
    """``require_role``: the user holds none of the roles the route requires."""

    code = "FC_ERR_JWT_FORBIDDEN"
    status_code = 403
    default_message = "Forbidden"


class JwtJwksUnavailableError(FastcoreError):
    """With ``jwks_url``: the key set could not be fetched, so no token can be checked."""

    code = "FC_ERR_JWT_JWKS_UNAVAILABLE"
    status_code = 503
    default_message = "The JSON Web Key Set could not be fetched"
