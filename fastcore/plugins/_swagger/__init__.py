"""The ``swagger`` plugin (SPEC §15): the OpenAPI 3.1 document of the app's
routes, and the Swagger UI page that shows it.

``app.register(swagger, openapi={"info": {"title": ..., "version": ...}, ...},
route_prefix="/docs", ui=True, transform=None)``.

How this works
--------------
At ``register`` the options are checked once (:func:`_check`): the shape of
the ``openapi`` keys the document is merged with, the prefix, and, with
``ui=True``, that Swagger UI's files are installed (``ImportError`` naming
the extra otherwise; ``ui=False`` needs no library at all).

At boot the plugin (which adds to the context it is registered in, as
``fastify-plugin`` does) decorates the app with ``swagger()``, adds an
``on_ready`` hook, and declares its routes, each with ``hide`` in its schema
so the document leaves them out:

- ``GET <prefix>/json``: the document, as JSON;
- with ``ui``: ``GET <prefix>`` (and ``<prefix>/``), the page, and
  ``GET <prefix>/static/<file>``, its assets (``ui.py``).

The document is built by the ``on_ready`` hook, when the route table is
final (``document.py``): from the declared routes and shared schemas, then
the ``openapi`` option merged in, then ``transform(document)`` applied. It is
serialized once; ``<prefix>/json`` sends those bytes (with an ETag). Called
before ``ready()``, ``app.swagger()`` builds the document of the routes
declared so far, each time; after it, it returns a copy of the built one.
"""
from __future__ import annotations

import copy
from typing import Any, Callable

import orjson

import fastcore

from .document import build_document
from .ui import PAGE_CACHE, Asset, add_ui_routes, find_assets

__all__ = ["swagger"]

DEFAULTS: dict[str, Any] = {"openapi": None, "route_prefix": "/docs", "ui": True,
                            "transform": None}

# Top-level keys of the OpenAPI 3.1 document whose value must be an object or a
# list of objects; the others are checked by the document's users.
_OBJECTS = ("info", "components", "paths", "webhooks", "externalDocs")
_LISTS = ("servers", "tags", "security")


# -- options -----------------------------------------------------------------------------

def _check_openapi(given: Any) -> dict:
    if given is None:
        return {}
    if not isinstance(given, dict) or not all(isinstance(key, str) for key in given):
        raise TypeError("openapi is a dict of OpenAPI document keys, got %r" % (given,))
    version = given.get("openapi", "3.1.0")
    if not isinstance(version, str) or not version.startswith("3.1."):
        raise ValueError("openapi['openapi'] is a 3.1.x version (the document is "
                         "OpenAPI 3.1), got %r" % (version,))
    for key in _OBJECTS:
        if key in given and not isinstance(given[key], dict):
            raise TypeError("openapi[%r] is a dict, got %r" % (key, given[key]))
    for key in _LISTS:
        if key in given and not (isinstance(given[key], list)
                                 and all(isinstance(item, dict) for item in given[key])):
            raise TypeError("openapi[%r] is a list of dicts, got %r" % (key, given[key]))
    _check_info(given.get("info"))
    for section, entries in given.get("components", {}).items():
        if not isinstance(entries, dict):
            raise TypeError("openapi['components'][%r] is a dict, got %r" % (section, entries))
    return copy.deepcopy(given)


def _check_info(info: dict | None) -> None:
    if info is None:
        return
    for key in ("title", "version"):
        if not isinstance(info.get(key), str):
            raise ValueError("openapi['info'] needs a str %r, got %r" % (key, info.get(key)))


def _check_prefix(prefix: Any) -> str:
    if not isinstance(prefix, str) or not prefix.startswith("/"):
        raise ValueError("route_prefix is a path starting with '/', got %r" % (prefix,))
    if any(c in prefix for c in ":*?#() ") or "//" in prefix:
        raise ValueError("route_prefix is a plain path (no parameter, wildcard, query or "
                         "space), got %r" % (prefix,))
    return prefix.rstrip("/")


def _check(opts: dict) -> dict:
    unknown = set(opts) - set(DEFAULTS)
    if unknown:
        raise TypeError("unknown option(s) %s" % ", ".join(sorted(unknown)))
    options = {**DEFAULTS, **opts}
    options["openapi"] = _check_openapi(options["openapi"])
    options["route_prefix"] = _check_prefix(options["route_prefix"])
    if not isinstance(options["ui"], bool):
        raise TypeError("ui is a bool, got %r" % (options["ui"],))
    if options["transform"] is not None and not callable(options["transform"]):
        raise TypeError("transform is a function (document) -> document, got %r"
                        % (options["transform"],))
    if options["ui"]:
        options["assets"] = find_assets()
    return options


# -- the document ------------------------------------------------------------------------

class Spec:
    """The app's document: built at ``on_ready``, then served and returned as is."""

    def __init__(self, app: Any, openapi: dict, transform: Callable | None) -> None:
        self.app = app
        self.openapi = openapi
        self.transform = transform
        self.document: dict | None = None
        self.asset: Asset | None = None

    def build(self) -> dict:
        document = build_document(self.app, self.openapi)
        if self.transform is not None:
            document = self.transform(document)
            if not isinstance(document, dict):
                raise TypeError("swagger: transform must return the document (a dict), "
                                "got %r" % (document,))
        return document

    def on_ready(self) -> None:
        """Build the document once the route table is final, and serialize it."""
        document = self.build()
        self.asset = Asset(orjson.dumps(document), "application/json; charset=utf-8",
                           PAGE_CACHE)
        self.document = document

    def swagger(self) -> dict:
        """``app.swagger()``: the document (a copy; built now when before ready())."""
        if self.document is None:
            return self.build()
        return copy.deepcopy(self.document)

    def send(self, request: Any, reply: Any) -> bytes | None:
        """The ``<prefix>/json`` handler."""
        return self.asset.send(request, reply)


@fastcore.plugin(name="swagger", options=_check)
async def swagger(app: Any, options: dict) -> None:
    """Serve the OpenAPI document of the app's routes, and the UI page."""
    openapi = options["openapi"]
    spec = Spec(app, openapi, options["transform"])
    prefix = options["route_prefix"]
    app.decorate("swagger", spec.swagger)
    app.add_hook("on_ready", spec.on_ready)
    app.get(prefix + "/json", spec.send, schema={"hide": True})
    if options["ui"]:
        title = openapi.get("info", {}).get("title", "API")
        add_ui_routes(app, prefix, title, options["assets"])
