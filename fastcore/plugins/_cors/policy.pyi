"""What each request is compared with and answered (compiled)."""
from typing import Any, Awaitable, Callable

def add_vary(reply: Any, name: str) -> None:
    """Add ``name`` to the reply's ``Vary``, unless it is there (or ``*`` is)."""

class Policy:
    """The options, prepared once."""
    match: Callable[[str, Any], Any]
    credentials: bool
    star: bool
    vary: bool
    methods: str | None
    allowed_headers: str | None
    exposed_headers: str | None
    max_age: str | None
    preflight: bool
    strict: bool
    def __init__(self, match: Callable[[str, Any], Any], *, credentials: bool, star: bool,
                 methods: str | None, allowed_headers: str | None,
                 exposed_headers: str | None, max_age: str | None, preflight: bool,
                 strict: bool) -> None: ...
    def allow(self, reply: Any, origin: str) -> None:
        """The headers of every answer to an allowed origin."""
    def allow_preflight(self, request: Any, reply: Any) -> None:
        """The headers only a preflight's answer carries."""
    def answer(self, request: Any, reply: Any, origin: str, allowed: Any) -> None:
        """Set the headers for an origin, allowed or not; answer a preflight."""

def make_hook(policy: Policy,
              answer_later: Callable[[Any, Any, str, Awaitable[Any]], Awaitable[None]]
              ) -> Callable[[Any, Any], Any]:
    """The ``on_request`` hook."""
