"""Every FC_ERR_* code is documented in docs/errors.md, with its status."""
import importlib
import os
import re

from fastcore import errors

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "errors.md")


def documented_rows():
    rows = {}
    with open(DOC, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\| `(FC_ERR_[A-Z_]+)` \| (\d+) \| `(\w+)` \|", line)
            if m:
                rows[m.group(1)] = (int(m.group(2)), m.group(3))
    return rows


def test_every_code_is_documented_with_its_status_and_class():
    rows = documented_rows()
    expected = {code: (cls.status_code, cls.__name__) for code, cls in errors.CODES.items()}
    assert rows == expected


def test_every_code_class_is_exported_and_named_after_its_code():
    for code, cls in errors.CODES.items():
        assert getattr(errors, cls.__name__) is cls
        assert cls.__name__ in errors.__all__
        assert issubclass(cls, errors.FastcoreError)
        assert code.startswith("FC_ERR_")


def plugin_error_classes():
    """Every FastcoreError subclass defined in a module of fastcore.plugins."""
    import pkgutil

    import fastcore.plugins
    found = []
    for info in pkgutil.walk_packages(fastcore.plugins.__path__, "fastcore.plugins."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, errors.FastcoreError)
                    and value.__module__ == info.name):
                found.append(value)
    return found


def test_plugin_codes_are_documented_with_their_status():
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    classes = plugin_error_classes()
    assert "ChannelsBackendError" in [cls.__name__ for cls in classes]
    for cls in classes:
        assert cls.code.startswith("FC_ERR_"), cls
        assert re.search(r"\| `%s` \| %d \| .*`%s`" % (cls.code, cls.status_code, cls.__name__),
                         text), cls.code