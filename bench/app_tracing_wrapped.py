"""``bench.app_tracing``'s routes declared after the plugin booted, so their
handlers are wrapped (``python bench/icount.py --app bench.app_tracing_wrapped``)."""
from bench.app_tracing import build_wrapped_app

app = build_wrapped_app()
