"""The response head: its lines, and the header names and values replies are given.

Nothing here is called from Python: ``_reply``, ``_lifecycle`` and ``_http1``
cimport it (``_head.pxd``).
"""
