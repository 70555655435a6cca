"""The Swagger UI page and its assets, served by the app itself (SPEC §15).

How this works
--------------
The UI is Swagger UI's own build, as the ``swagger-ui-py`` distribution
ships it (its ``swagger_ui/static`` folder; the package is located with
``importlib.util.find_spec``, never imported, so none of its web-framework
glue is loaded). At boot the few files the page needs are read once into
:class:`Asset` objects: the bytes, their content type, a strong ``ETag``
(a hash of the bytes) and ``Cache-Control``. Each is one static route; a
request whose ``If-None-Match`` names the ETag gets ``304`` without a body.

The page is written here: the stylesheet, the bundle, and ``init.js``,
which starts the UI on the document found *relative to the script's own
URL* (``<prefix>/static/init.js`` → ``<prefix>/json``). The page links the
assets relatively too, so the app works behind a proxy that mounts it
under another path; as a relative link depends on whether the page URL
ends with a slash, the page comes in two variants, picked by the requested
path (``<prefix>`` or ``<prefix>/``). Nothing is fetched from elsewhere: the page works offline.
"""
from __future__ import annotations

import hashlib
import html
import importlib.util
from pathlib import Path
from typing import Any, Callable

__all__ = ["Asset", "find_assets", "add_ui_routes"]

EXTRA = 'pip install "fastcore-http[swagger]"'

# Swagger UI's files the page loads: (file name, content type).
FILES = (("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
         ("swagger-ui.css", "text/css; charset=utf-8"),
         ("favicon-32x32.png", "image/png"),
         ("favicon-16x16.png", "image/png"))

ASSET_CACHE = "public, max-age=3600"
PAGE_CACHE = "no-cache"

INIT_SCRIPT = b"""(function () {
  "use strict";
  // The document is served beside this script's folder: <prefix>/json.
  var documentUrl = new URL("../json", document.currentScript.src).href;
  window.addEventListener("load", function () {
    window.ui = SwaggerUIBundle({
      url: documentUrl,
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout"
    });
  });
}());
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%(title)s</title>
<link rel="stylesheet" href="%(base)sstatic/swagger-ui.css">
<link rel="icon" type="image/png" sizes="32x32" href="%(base)sstatic/favicon-32x32.png">
<link rel="icon" type="image/png" sizes="16x16" href="%(base)sstatic/favicon-16x16.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="%(base)sstatic/swagger-ui-bundle.js"></script>
<script src="%(base)sstatic/init.js"></script>
</body>
</html>
"""


def find_assets() -> Path:
    """The folder holding Swagger UI's files; ``ImportError`` naming the extra if absent."""
    spec = importlib.util.find_spec("swagger_ui")
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    folder = Path(locations[0]) / "static" if locations else None
    if folder is None or not all((folder / name).is_file() for name, _ in FILES):
        raise ImportError("the swagger plugin's UI needs Swagger UI's files from "
                          "swagger-ui-py: %s (or register it with ui=False)" % EXTRA)
    return folder


def _matches(etag: str, if_none_match: str) -> bool:
    """RFC 9110 §13.1.2: weak comparison against each listed tag, or ``*``."""
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


class Asset:
    """One file served as is: bytes, content type, ETag, Cache-Control."""

    __slots__ = ("body", "content_type", "etag", "cache_control")

    def __init__(self, body: bytes, content_type: str, cache_control: str) -> None:
        self.body = body
        self.content_type = content_type
        self.etag = '"%s"' % hashlib.blake2b(body, digest_size=16).hexdigest()
        self.cache_control = cache_control

    def send(self, request: Any, reply: Any) -> bytes | None:
        """The route handler."""
        reply.header("cache-control", self.cache_control).header("etag", self.etag)
        if_none_match = request.headers.get("if-none-match")
        if if_none_match and _matches(self.etag, if_none_match):
            reply.code(304)
            return None
        reply.type(self.content_type)
        return self.body


def page(title: str, base: str) -> Asset:
    """The UI page; ``base`` leads from the page's URL to the prefix (``./docs/``)."""
    text = PAGE % {"title": html.escape(title), "base": html.escape(base)}
    return Asset(text.encode(), "text/html; charset=utf-8", PAGE_CACHE)


def _get(app: Any, url: str, handler: Callable) -> None:
    app.get(url, handler, schema={"hide": True})


def add_ui_routes(app: Any, prefix: str, title: str, folder: Path) -> None:
    """``<prefix>``, ``<prefix>/`` and ``<prefix>/static/<file>``, on ``app``."""
    for name, content_type in FILES:
        asset = Asset((folder / name).read_bytes(), content_type, ASSET_CACHE)
        _get(app, "%s/static/%s" % (prefix, name), asset.send)
    init = Asset(INIT_SCRIPT, "text/javascript; charset=utf-8", ASSET_CACHE)
    _get(app, prefix + "/static/init.js", init.send)
    send_page = _page_handler(title, prefix.rsplit("/", 1)[-1])
    if prefix:
        _get(app, prefix, send_page)
    if not app.has_route("GET", prefix + "/"):      # taken when trailing slashes are ignored
        _get(app, prefix + "/", send_page)


def _page_handler(title: str, last: str) -> Callable:
    """The page's handler: the variant whose relative links fit the requested URL."""
    with_slash = page(title, "./")
    without_slash = page(title, "./%s/" % last) if last else with_slash

    def send_page(request: Any, reply: Any) -> bytes | None:
        chosen = with_slash if request.path.endswith("/") else without_slash
        return chosen.send(request, reply)
    return send_page
