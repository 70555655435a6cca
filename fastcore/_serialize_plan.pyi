"""Type information for fastcore/_serialize_plan.pyx: response schemas compiled
into the plans fastcore/_serialize.pyx walks (cdef-level; Python sees only the
error below)."""

class SchemaRefError(ValueError):
    """A ``$ref`` in the schema names no known schema; ``ref`` is the reference."""
    ref: str | None
    def __init__(self, ref: str, message: str | None = None) -> None: ...
