"""The plugins a service leans on (SPEC §12–15), each registered with
``app.register(plugin, **options)``.

- ``channels``: publish a message once, deliver it to every WebSocket and SSE
  subscriber, on one process or, through Redis, on many.
"""
from ._channels import channels

__all__ = ["channels"]
