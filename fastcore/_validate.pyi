"""Compiled fast path of request validation, in front of the generated validators."""
from __future__ import annotations

from typing import Any, Callable, Iterable

class FlatCheck:
    """A flat object schema's validator: decides the common case in compiled
    code and hands everything else, unchanged, to ``fallback``."""

    fallback: Callable[[Any], Any]
    """The generated validator, which decides every other case and words the errors."""

    source: str | None
    """The generated validator's source."""

    def __call__(self, data: Any) -> Any: ...

def flat_check(
    schema: Any,
    fallback: Callable[[Any], Any],
    *,
    coerce: bool,
    defaults: bool,
    remove_additional: bool | str,
) -> FlatCheck | None:
    """A ``FlatCheck`` in front of ``fallback`` when ``schema`` is a flat object
    schema the compiled path can decide, else None."""

class ValidateStep:
    """A route's validate step: params, body, querystring, headers in that
    order, each checked and written back to the request; a failure raises
    ``FC_ERR_VALIDATION`` or, with ``attach_validation``, is set on
    ``request.validation_error``."""

    def __init__(
        self,
        steps: Iterable[tuple[str, Callable[[Any], Any]]],
        attach: bool,
        formatter: Callable[[list[dict[str, Any]], str], Any] | None,
    ) -> None: ...
    def __call__(self, request: Any) -> None: ...
