"""Route schemas at ready(): a validate step and per-status serializers per record.

A route's ``schema`` option holds ``params``, ``body``, ``querystring`` (alias
``query``), ``headers`` and ``response`` (status -> schema). At ``ready()``,
with the blueprint locked, each part is compiled once, with the compilers the
route's context sees (``set_validator_compiler`` / ``set_serializer_compiler``,
or the route options of the same names, else fastcore's own) and the shared
``$id`` schemas of that context:

* ``record.validate(request)`` validates, coerces and fills defaults in the
  order Fastify uses (params, body, querystring, headers), writing coerced
  values back; a failure raises ``FC_ERR_VALIDATION`` with the message
  ``<part><json-pointer> <reason>``, or with ``attach_validation`` sets
  ``request.validation_error`` and lets the handler run.
* ``record.serializers`` maps every status 100..599 to its serializer: the
  exact status key, else its ``"2xx"``-style class, else ``"default"``. The
  request path does one dict lookup.

An unresolvable ``$ref`` raises ``FC_ERR_SCHEMA_REF_NOT_FOUND`` from
``ready()``, naming the route and the ref.
"""
from __future__ import annotations

from typing import Any, Callable

from . import errors
from ._validate import ValidateStep

PARTS = ("params", "body", "querystring", "headers")


def _part_schema(schema: dict, part: str) -> Any:
    if part == "querystring":
        return schema.get("querystring", schema.get("query"))
    return schema.get(part)


def _ref_error(exc: BaseException, method: str, url: str) -> errors.SchemaRefNotFoundError:
    ref = getattr(exc, "ref", None) or str(exc)
    return errors.SchemaRefNotFoundError(
        "Cannot resolve $ref '%s' in the schema of route %s %s" % (ref, method, url))


def _is_ref_error(exc: BaseException) -> bool:
    return isinstance(exc, errors.SchemaRefNotFoundError) or type(exc).__name__ in (
        "SchemaRefError", "SchemaRefNotFoundError")


def build_validate(schema: dict, *, method: str, url: str, shared: dict,
                   compiler: Callable | None, validation: dict, attach: bool,
                   formatter: Callable | None) -> Callable | None:
    """The record's validate step, or None when the schema validates nothing."""
    from .validation import compile_validator
    steps = []
    for part in PARTS:
        part_schema = _part_schema(schema, part)
        if part_schema is None:
            continue
        try:
            if compiler is not None:
                check = compiler(part_schema, part, method, url)
            else:
                check = compile_validator(
                    part_schema, shared, part=part,
                    coerce_types=validation.get("coerce_types"),
                    use_defaults=validation.get("use_defaults", True),
                    remove_additional=validation.get("remove_additional", True),
                    all_errors=validation.get("all_errors", False))
        except Exception as exc:
            if _is_ref_error(exc):
                raise _ref_error(exc, method, url) from exc
            raise
        steps.append((part, check))
    if not steps:
        return None
    return ValidateStep(tuple(steps), attach, formatter)


def build_serializers(response: dict, *, method: str, url: str, shared: dict,
                      compiler: Callable | None) -> dict[int, Callable] | None:
    """``{status: serializer}`` for every status the response schemas cover."""
    from ._serialize import compile_serializer
    exact: dict[int, Callable] = {}
    classes: dict[int, Callable] = {}
    default = None
    for key, schema in response.items():
        name = str(key).lower()
        try:
            if compiler is not None:
                fn = compiler(schema, key, method, url)
            else:
                fn = compile_serializer(schema, shared)
        except Exception as exc:
            if _is_ref_error(exc):
                raise _ref_error(exc, method, url) from exc
            raise
        if name.isdigit():
            exact[int(name)] = fn
        elif len(name) == 3 and name[0] in "12345" and name[1:] == "xx":
            classes[int(name[0])] = fn
        elif name == "default":
            default = fn
        else:
            raise errors.InvalidRouteError(
                "Response schema key %r of route %s %s is not a status, a class like "
                "'2xx', or 'default'" % (key, method, url))
    table = {}
    for status in range(100, 600):
        fn = exact.get(status) or classes.get(status // 100) or default
        if fn is not None:
            table[status] = fn
    return table or None
