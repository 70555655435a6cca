"""``jwt.require_role(*roles, claim="role")``: a ``pre_handler`` hook that lets
through the users holding one of ``roles``, and answers 403 to the others."""
from __future__ import annotations

from typing import Any, Callable

from .errors import JwtForbiddenError

_SEQUENCES = (list, tuple, set, frozenset)


def require_role(*roles: str, claim: str = "role") -> Callable[[Any, Any], None]:
    """A hook checking ``request.user[claim]`` (a role, or a list of roles).

    Use it after authentication: ``@app.get("/admin", on_request=[app.jwt.authenticate],
    pre_handler=[jwt.require_role("admin")])``.
    A request without a user, or whose user holds none of ``roles``, gets 403
    ``FC_ERR_JWT_FORBIDDEN`` "Requires role <role>".
    """
    if not roles or not all(isinstance(role, str) and role for role in roles):
        raise TypeError("require_role takes one or more role names, got %r" % (roles,))
    if not isinstance(claim, str) or not claim:
        raise TypeError("claim is the name of the claim holding the roles, got %r" % (claim,))
    wanted = frozenset(roles)
    message = "Requires role %s" % " or ".join(roles)

    def check_role(request: Any, reply: Any) -> None:
        if not _holds(getattr(request, "user", None), claim, wanted):
            raise JwtForbiddenError(message)

    check_role.__qualname__ = check_role.__name__ = "require_role(%s)" % ", ".join(roles)
    return check_role


def _holds(user: Any, claim: str, wanted: frozenset) -> bool:
    held = user.get(claim) if isinstance(user, dict) else getattr(user, claim, None)
    if isinstance(held, str):
        return held in wanted
    if isinstance(held, _SEQUENCES):
        return any(isinstance(role, str) and role in wanted for role in held)
    return False
