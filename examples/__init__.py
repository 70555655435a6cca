"""Example services built on fastcore's public API (``examples.pricefeed``)."""
